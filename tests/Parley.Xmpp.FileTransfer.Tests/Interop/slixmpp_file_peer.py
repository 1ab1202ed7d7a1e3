#!/usr/bin/python3
"""slixmpp (Debian python3-slixmpp 1.8.3) as the other end of Parley's file-transfer interop tests.

  receive: accepts one SI file offer (--prefer ibb|socks5), saves it to --outdir, prints {"event": "received", ...}
  send:    offers --file to --to over SI with --methods (socks5,ibb), sends over the chosen method, prints {"event": "sent", ...}

Every line on stdout is one JSON object; {"event": "ready", "jid": ...} comes first, {"event": "error", ...} on failure.
Works around slixmpp 1.8.3 bugs: the SI request handler is registered as a plain Callback (its coroutine is never
awaited, offers are dropped), and xep_0095.offer() needs the stream methods as {"value": ...} dicts.
"""
import argparse
import asyncio
import hashlib
import json
import os
import ssl
import sys
import uuid

import slixmpp
from slixmpp.plugins.xep_0095.stream_initiation import IBB, SOCKS5
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath

METHODS = {"socks5": SOCKS5, "ibb": IBB}


def emit(event, **fields):
    fields["event"] = event
    print(json.dumps(fields), flush=True)


class IncomingFile:
    def __init__(self, peer, path, size, method):
        self.peer, self.path, self.size, self.method = peer, path, size, method
        self.out = open(path, "wb")
        self.sha = hashlib.sha256()
        self.received = 0
        self.finished = False

    def feed(self, data):
        if self.finished:
            return
        self.out.write(data)
        self.sha.update(data)
        self.received += len(data)
        if self.received >= self.size:
            self.finish()

    def finish(self):
        if self.finished:
            return
        self.finished = True
        self.out.close()
        emit("received", path=self.path, bytes=self.received, sha256=self.sha.hexdigest(), method=self.method)
        self.peer.loop.call_later(0.5, self.peer.disconnect)


class FilePeer(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for plugin in ("xep_0030", "xep_0047", "xep_0065", "xep_0095", "xep_0096"):
            self.register_plugin(plugin)
        self.remove_handler("SI Request")
        self.register_handler(CoroutineCallback("SI Request", StanzaPath("iq@type=set/si"), self["xep_0095"]._handle_request))
        self["xep_0047"].max_block_size = 65535
        if args.prefer == "socks5":
            # slixmpp picks the method with the lowest order number; IBB has 50, SOCKS5 100.
            self["xep_0095"].unregister_method(SOCKS5)
            self["xep_0095"].register_method(SOCKS5, "xep_0065", 10)
        self.offers = {}
        self.ibb_files = {}
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("si_request", self.on_si_request)
        self.add_event_handler("ibb_stream_data", self.on_ibb_data)
        self.add_event_handler("ibb_stream_end", self.on_ibb_end)

    async def on_session_start(self, _):
        self.send_presence()
        emit("ready", jid=str(self.boundjid))
        if self.args.mode == "send":
            try:
                await self.send_file()
            except Exception as error:  # report any failure to the test, then stop
                emit("error", message="%s: %s" % (type(error).__name__, error))
            self.disconnect()

    # ---- receiving ---------------------------------------------------------------------------------
    async def on_si_request(self, iq):
        sid = iq["si"]["id"]
        offered = iq["si"]["file"]
        name = os.path.basename(offered["name"]) or sid
        self.offers[sid] = (os.path.join(self.args.outdir, name), int(offered["size"] or 0))
        emit("offer", sid=sid, name=offered["name"], size=int(offered["size"] or 0), sender=str(iq["from"]))
        await self["xep_0095"].accept(iq["from"], sid, ifrom=iq["to"], stream_handler=lambda stream, sid=sid: self.on_stream(sid, stream))

    def on_stream(self, sid, stream):
        path, size = self.offers.pop(sid)
        if hasattr(stream, "recv_queue"):
            incoming = IncomingFile(self, path, size, "ibb")
            self.ibb_files[(stream.sid, str(stream.peer_jid))] = incoming
            self.drain(stream, incoming)
        else:
            incoming = IncomingFile(self, path, size, "socks5")

            def on_socks_event(name, data, incoming=incoming):
                if name == "socks5_data":
                    incoming.feed(data)
                elif name == "socks5_closed":
                    incoming.finish()
            stream.event = on_socks_event

    @staticmethod
    def drain(stream, incoming):
        while not stream.recv_queue.empty():
            incoming.feed(stream.recv_queue.get_nowait())

    def on_ibb_data(self, stream):
        incoming = self.ibb_files.get((stream.sid, str(stream.peer_jid)))
        if incoming:
            self.drain(stream, incoming)

    def on_ibb_end(self, stream):
        incoming = self.ibb_files.pop((stream.sid, str(stream.peer_jid)), None)
        if incoming:
            self.drain(stream, incoming)
            incoming.finish()

    # ---- sending -----------------------------------------------------------------------------------
    async def send_file(self):
        to = slixmpp.JID(self.args.to)
        path = self.args.file
        size = os.path.getsize(path)
        methods = self.args.methods.split(",")
        if "socks5" in methods:
            await self["xep_0065"].discover_proxies(timeout=10)
        sid = uuid.uuid4().hex
        answer = await self["xep_0096"].request_file_transfer(
            to, sid=sid, name=os.path.basename(path), size=size, desc="from slixmpp",
            methods=[{"value": METHODS[m]} for m in methods], timeout=30)
        chosen = answer["si"]["feature_neg"]["form"].get_values().get("stream-method")
        sha = hashlib.sha256()
        if chosen == SOCKS5:
            sock = await self["xep_0065"].handshake(to, sid=sid, timeout=30)
            with open(path, "rb") as source:
                for chunk in iter(lambda: source.read(65536), b""):
                    sha.update(chunk)
                    await sock.write(chunk)
            while sock.transport.get_write_buffer_size():
                await asyncio.sleep(0.01)
            sock.transport.close()
            method = "socks5"
        elif chosen == IBB:
            stream = await self["xep_0047"].open_stream(to, sid=sid, block_size=4096, timeout=30)
            with open(path, "rb") as source:
                for chunk in iter(lambda: source.read(4096), b""):
                    sha.update(chunk)
                    await stream.sendall(chunk, timeout=30)
            await stream.close(timeout=10)
            method = "ibb"
        else:
            raise RuntimeError("the receiver chose %r" % chosen)
        emit("sent", method=method, bytes=size, sha256=sha.hexdigest(), proxies=[str(j) for j in self["xep_0065"]._proxies])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["send", "receive"])
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--outdir")
    parser.add_argument("--prefer", choices=["ibb", "socks5"], default="ibb")
    parser.add_argument("--to")
    parser.add_argument("--file")
    parser.add_argument("--methods", default="socks5,ibb")
    args = parser.parse_args()
    peer = FilePeer(args)
    peer.connect((args.host, args.port))
    peer.loop.run_until_complete(peer.disconnected)


if __name__ == "__main__":
    sys.exit(main())
