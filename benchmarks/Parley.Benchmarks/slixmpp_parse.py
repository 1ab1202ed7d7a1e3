#!/usr/bin/python3
"""Parses a recorded XMPP stream the way slixmpp's XMLStream does, and prints one JSON line of results.

usage: slixmpp_parse.py STREAM_FILE [CHUNK_BYTES] [--plugins]

Mirrors slixmpp.xmlstream.XMLStream.data_received (1.8.3): the bytes are fed to an
xml.etree.ElementTree.XMLPullParser(("start", "end")) in socket-sized chunks; every element that
ends at depth 1 is a stanza, wrapped in its stanza class as XMLStream._build_stanza does
(slixmpp.stanza.Message(stream, xml, recv=True)), its body is read, and the stream root is cleared.
Handlers, filters and the event loop are left out, so this is the parsing cost alone.

With --plugins, the stanza plugins of XEP-0085 (chat states), XEP-0184 (receipts) and XEP-0203 (delay) are
registered first, as slixmpp's xep_0085/xep_0184/xep_0203 plugins do in plugin_init; slixmpp then builds a
plugin object for each such child of a message, which is what a chat client using those plugins pays.
"""
import json
import sys
import time
import xml.etree.ElementTree as ET

from slixmpp.stanza import Message


def main() -> None:
    args = [a for a in sys.argv[1:] if a != '--plugins']
    path = args[0]
    chunk = int(args[1]) if len(args) > 1 else 65536
    if '--plugins' in sys.argv:
        from slixmpp.xmlstream import register_stanza_plugin
        from slixmpp.plugins.xep_0085 import stanza as chat_states
        from slixmpp.plugins.xep_0184 import stanza as receipts
        from slixmpp.plugins.xep_0203 import stanza as delay
        for plugin in (chat_states.Active, chat_states.Composing, chat_states.Gone, chat_states.Inactive,
                       chat_states.Paused, receipts.Request, receipts.Received, delay.Delay):
            register_stanza_plugin(Message, plugin)
    with open(path, 'rb') as f:
        data = f.read()

    parser = ET.XMLPullParser(("start", "end"))
    depth = 0
    root = None
    stanzas = 0
    body_chars = 0
    message_tag = '{jabber:client}message'
    started = time.perf_counter()
    cpu_started = time.process_time()
    for offset in range(0, len(data), chunk):
        parser.feed(data[offset:offset + chunk])
        for event, xml in parser.read_events():
            if event == 'start':
                if depth == 0:
                    root = xml
                depth += 1
            elif event == 'end':
                depth -= 1
                if depth == 1:
                    if xml.tag == message_tag:
                        stanza = Message(None, xml, recv=True)
                        body_chars += len(stanza['body'])
                    stanzas += 1
                    if root is not None:
                        root.clear()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(json.dumps({"stanzas": stanzas, "body_chars": body_chars, "seconds": elapsed, "cpu_seconds": cpu, "bytes": len(data)}))


if __name__ == '__main__':
    main()
