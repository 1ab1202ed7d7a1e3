#!/usr/bin/python3
"""The owner as a real XMPP client with slixmpp's receipts (xep_0184), which skips one: it acknowledges every message it
gets except the first copy of SKIPPED, as if that copy had never reached it, and waits until it has got every text once
and SKIPPED twice.

usage: slixmpp_receipts.py JID PASSWORD HOST PORT SKIPPED TEXT...
Prints one JSON object: every message received, in order, with its body, id, XEP-0359 origin-id and whether it
carried a XEP-0203 delay. Certificate checks are off: the test servers' certificate is self-signed.
"""
import asyncio
import json
import ssl
import sys

import slixmpp

SID = 'urn:xmpp:sid:0'
DELAY = 'urn:xmpp:delay'


class OwnerClient(slixmpp.ClientXMPP):
    def __init__(self, jid, password, skipped, texts):
        super().__init__(jid, password)
        for plugin in ('xep_0030', 'xep_0184'):
            self.register_plugin(plugin)
        self['xep_0184'].auto_ack = False
        self.skipped, self.texts = skipped, texts
        self.received = []
        self.done = self.loop.create_future()
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('message', self.on_message)

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        print('ready', file=sys.stderr, flush=True)

    def on_message(self, msg):
        if msg['type'] != 'chat' or not msg['body']:
            return
        origin = msg.xml.find('{%s}origin-id' % SID)
        self.received.append({
            'body': msg['body'],
            'id': msg['id'],
            'origin': origin.get('id') if origin is not None else None,
            'delay': msg.xml.find('{%s}delay' % DELAY) is not None,
        })
        bodies = [m['body'] for m in self.received]
        if msg['body'] != self.skipped or bodies.count(self.skipped) > 1:
            self['xep_0184'].ack(msg)
        if bodies.count(self.skipped) >= 2 and all(t in bodies for t in self.texts) and not self.done.done():
            self.done.set_result(None)


def main():
    jid, password, host, port, skipped = sys.argv[1:6]
    client = OwnerClient(jid, password, skipped, sys.argv[6:])
    client.ssl_context.check_hostname = False
    client.ssl_context.verify_mode = ssl.CERT_NONE
    client.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(client.done, 60))
        # Long enough for the last receipt to leave before the stream closes.
        loop.run_until_complete(asyncio.sleep(1))
    except asyncio.TimeoutError:
        pass
    finally:
        client.disconnect()
    print(json.dumps(client.received))
    return 0 if client.done.done() else 1


if __name__ == '__main__':
    sys.exit(main())
