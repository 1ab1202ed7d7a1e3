#!/usr/bin/python3
"""Parses a recorded XMPP stream the way slixmpp's XMLStream does, and prints one JSON line of results.

usage: slixmpp_parse.py STREAM_FILE [CHUNK_BYTES]

Mirrors slixmpp.xmlstream.XMLStream.data_received (1.8.3): the bytes are fed to an
xml.etree.ElementTree.XMLPullParser(("start", "end")) in socket-sized chunks; every element that
ends at depth 1 is a stanza, wrapped in its stanza class as XMLStream._build_stanza does
(slixmpp.stanza.Message(stream, xml, recv=True)), its body is read, and the stream root is cleared.
Handlers, filters and the event loop are left out, so this is the parsing cost alone.
"""
import json
import sys
import time
import xml.etree.ElementTree as ET

from slixmpp.stanza import Message


def main() -> None:
    path = sys.argv[1]
    chunk = int(sys.argv[2]) if len(sys.argv) > 2 else 65536
    with open(path, 'rb') as f:
        data = f.read()

    parser = ET.XMLPullParser(("start", "end"))
    depth = 0
    root = None
    stanzas = 0
    body_chars = 0
    message_tag = '{jabber:client}message'
    started = time.perf_counter()
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
    print(json.dumps({"stanzas": stanzas, "body_chars": body_chars, "seconds": elapsed, "bytes": len(data)}))


if __name__ == '__main__':
    main()
