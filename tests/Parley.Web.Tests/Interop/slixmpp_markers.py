#!/usr/bin/python3
"""The owner as a real XMPP client with slixmpp's chat markers (xep_0333): it waits for the visitor's message, checks
it is markable, answers `displayed` for it, sends a markable reply and waits for the visitor's `displayed` for that reply.

usage: slixmpp_markers.py JID PASSWORD HOST PORT TEXT REPLY
Prints one JSON object: the visitor's JID, whether the message was markable, the reply's id, and the id and sender of
every `displayed` marker received (within 3 s after the first, to catch a second one). Certificate checks are off: the
test servers' certificate is self-signed.
"""
import asyncio
import json
import ssl
import sys

import slixmpp

NS = 'urn:xmpp:chat-markers:0'


class OwnerClient(slixmpp.ClientXMPP):
    def __init__(self, jid, password, text, reply):
        super().__init__(jid, password)
        for plugin in ('xep_0030', 'xep_0333'):
            self.register_plugin(plugin)
        self.text, self.reply_text = text, reply
        self.result = {'displayed': []}
        self.first_marker = self.loop.create_future()
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('message', self.on_message)
        self.add_event_handler('marker_displayed', self.on_displayed)

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        print('ready', file=sys.stderr, flush=True)

    def on_message(self, msg):
        if msg['body'] != self.text or 'visitor' in self.result:
            return
        self.result['visitor'] = str(msg['from'].bare)
        self.result['markable'] = msg.xml.find('{%s}markable' % NS) is not None
        self['xep_0333'].send_marker(msg['from'], msg['id'], 'displayed')
        reply = self.make_message(mto=msg['from'], mbody=self.reply_text, mtype='chat')
        reply.enable('markable')
        self.result['reply'] = reply['id'] = self.new_id()
        reply.send()

    def on_displayed(self, msg):
        self.result['displayed'].append({'id': msg['displayed']['id'], 'from': str(msg['from'].bare)})
        if not self.first_marker.done():
            self.first_marker.set_result(None)


def main():
    jid, password, host, port, text, reply = sys.argv[1:7]
    client = OwnerClient(jid, password, text, reply)
    client.ssl_context.check_hostname = False
    client.ssl_context.verify_mode = ssl.CERT_NONE
    client.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(client.first_marker, 60))
        loop.run_until_complete(asyncio.sleep(3))
    except asyncio.TimeoutError:
        pass
    finally:
        client.disconnect()
    print(json.dumps(client.result))
    return 0 if client.result['displayed'] else 1


if __name__ == '__main__':
    sys.exit(main())
