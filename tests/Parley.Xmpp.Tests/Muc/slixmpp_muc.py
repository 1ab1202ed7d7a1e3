#!/usr/bin/python3
"""A slixmpp occupant for the group chat tests, driven line by line: JSON commands on stdin, JSON events on stdout.

usage: slixmpp_muc.py JID PASSWORD HOST PORT
Certificate checks are off: the test servers use a self-signed certificate the test pins on the Parley side.

Commands, each answered by {"event": "done", "id": ID, "error": null or a text}:
  join        room, nick, password?, config? ({field var: value}, submitted as the owner after joining)
  say         room, body
  private     room, nick, body
  kick        room, nick, reason
  ban         room, jid, reason
  affiliation room, jid, affiliation
  invite      room, to, reason?, password?
  leave       room, nick
  quit
Events besides: {"event": "ready"}, {"event": "message", ...}, {"event": "presence", ...}.
"""
import asyncio
import json
import os
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError, PresenceError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

# slixmpp 1.8.3 prints history delays to stdout while joining; events get their own copy of the real stdout.
EVENTS = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
sys.stdout = sys.stderr


def emit(**event):
    EVENTS.write(json.dumps(event) + "\n")
    EVENTS.flush()


class Occupant(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0045")
        self.register_plugin("xep_0203")
        self.register_plugin("xep_0249")
        self.muc = self.plugin["xep_0045"]
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)
        # The MUC plugin keeps room presences from the generic "presence" event; errors get a handler of their own,
        # since slixmpp 1.8.3 misses error presences without <x/> (Prosody's) while joining.
        self.add_event_handler("groupchat_presence", self.on_presence)
        self.register_handler(Callback("presence errors", StanzaPath("presence@type=error"), self.on_presence_error))
        self.join_errors = {}

    async def start(self, _):
        self.send_presence()
        emit(event="ready", jid=str(self.boundjid))
        asyncio.ensure_future(self.commands())

    def on_message(self, msg):
        if msg["type"] == "error":
            emit(event="message-error", **{"from": str(msg["from"])}, condition=msg["error"]["condition"])
            return
        if not msg["body"]:
            return
        delayed = msg.get_plugin("delay", check=True) is not None
        emit(event="message", type=msg["type"], room=str(msg["from"].bare), nick=msg["from"].resource,
             body=msg["body"], delayed=delayed, **{"from": str(msg["from"])})

    def on_presence(self, pres):
        if pres["type"] == "error":
            return
        x = pres.xml.find("{http://jabber.org/protocol/muc#user}x")
        codes = [int(s.get("code")) for s in x.findall("{http://jabber.org/protocol/muc#user}status")] if x is not None else []
        emit(event="presence", type=pres["type"], room=str(pres["from"].bare), nick=pres["from"].resource, codes=codes)

    def on_presence_error(self, pres):
        room = str(pres["from"].bare)
        emit(event="presence", type="error", room=room, nick=pres["from"].resource, condition=pres["error"]["condition"])
        failed = self.join_errors.get(room)
        if failed is not None and not failed.done():
            failed.set_result(PresenceError(pres))

    async def commands(self):
        loop = asyncio.get_event_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                self.disconnect()
                return
            command = json.loads(line)
            error = None
            try:
                if command["op"] == "quit":
                    emit(event="done", id=command.get("id"), error=None)
                    self.disconnect()
                    return
                await self.run(command)
            except (IqError, PresenceError) as ex:
                error = ex.condition
            except Exception as ex:  # the test reads the text; the process keeps serving commands
                error = repr(ex)
            emit(event="done", id=command.get("id"), error=error)

    async def run(self, c):
        op = c["op"]
        if op == "join":
            failed = asyncio.get_event_loop().create_future()
            self.join_errors[c["room"]] = failed
            joined = asyncio.ensure_future(self.muc.join_muc_wait(c["room"], c["nick"], password=c.get("password"), maxstanzas=0, timeout=20))
            done, _ = await asyncio.wait([joined, failed], return_when=asyncio.FIRST_COMPLETED)
            del self.join_errors[c["room"]]
            if failed in done:
                joined.cancel()
                raise failed.result()
            joined.result()
            if c.get("config"):
                form = self.plugin["xep_0004"].make_form(ftype="submit")
                form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/muc#roomconfig")
                for var, value in c["config"].items():
                    form.add_field(var=var, value=value)
                await self.muc.set_room_config(c["room"], form, timeout=20)
        elif op == "say":
            self.send_message(mto=c["room"], mbody=c["body"], mtype="groupchat")
        elif op == "private":
            msg = self.make_message(mto="%s/%s" % (c["room"], c["nick"]), mbody=c["body"], mtype="chat")
            msg.append(slixmpp.xmlstream.ET.Element("{http://jabber.org/protocol/muc#user}x"))
            msg.send()
        elif op == "kick":
            await self.muc.set_role(c["room"], c["nick"], "none", reason=c.get("reason", ""), timeout=20)
        elif op == "ban":
            await self.muc.set_affiliation(c["room"], "outcast", jid=c["jid"], reason=c.get("reason", ""), timeout=20)
        elif op == "affiliation":
            await self.muc.set_affiliation(c["room"], c["affiliation"], jid=c["jid"], timeout=20)
        elif op == "invite":
            self.plugin["xep_0249"].send_invitation(c["to"], c["room"], password=c.get("password"), reason=c.get("reason"))
        elif op == "leave":
            self.muc.leave_muc(c["room"], c["nick"])
        else:
            raise ValueError("unknown op " + op)


def main():
    jid, password, host, port = sys.argv[1:5]
    occupant = Occupant(jid, password)
    occupant.ssl_context.check_hostname = False
    occupant.ssl_context.verify_mode = ssl.CERT_NONE
    occupant.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    loop.run_until_complete(occupant.disconnected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
