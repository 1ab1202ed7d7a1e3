#!/usr/bin/python3
"""A slixmpp peer for the interop tests: logs in, sends one chat message, prints the first reply as JSON, exits.

usage: slixmpp_chat.py JID PASSWORD HOST PORT TO BODY
Certificate checks are off: the test servers use a self-signed certificate the test pins on the Parley side.
"""
import asyncio
import json
import ssl
import sys

import slixmpp


class Peer(slixmpp.ClientXMPP):
    def __init__(self, jid, password, to, body):
        super().__init__(jid, password)
        self.to, self.body, self.reply = to, body, None
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.message)

    async def start(self, _):
        self.send_presence()
        self.send_message(mto=self.to, mbody=self.body, mtype="chat")

    def message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            self.reply = {"from": str(msg["from"]), "body": msg["body"], "id": msg["id"]}
            self.disconnect()


def main():
    jid, password, host, port, to, body = sys.argv[1:7]
    peer = Peer(jid, password, to, body)
    peer.ssl_context.check_hostname = False
    peer.ssl_context.verify_mode = ssl.CERT_NONE
    peer.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(peer.disconnected, 30))
    except asyncio.TimeoutError:
        pass
    print(json.dumps(peer.reply))
    return 0 if peer.reply else 1


if __name__ == "__main__":
    sys.exit(main())
