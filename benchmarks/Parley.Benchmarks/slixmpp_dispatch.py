#!/usr/bin/python3
"""Feeds a recorded server-to-client XMPP stream to a real slixmpp ClientXMPP, without a network, and prints one
JSON line of results.

usage: slixmpp_dispatch.py STREAM_FILE EXPECTED_MESSAGES [CHUNK_BYTES] [--async-handler]

This is slixmpp 1.8.3's whole receive path, run by its own code:
  ClientXMPP.data_received(bytes)            (what its asyncio transport calls for every read)
    -> XMLPullParser.feed / read_events      (expat)
    -> XMLStream._spawn_event                (incoming_filter, _build_stanza: the Message stanza object,
                                              'in' filters, matching against every registered handler)
    -> Callback 'IM' -> BaseXMPP._handle_message -> XMLStream.event('message', msg)
    -> the handler registered here with add_event_handler('message', ...), which reads msg['body'] and counts.

The client is constructed as an application would (ClientXMPP(jid, password), which registers its stream-feature
plugins and its handlers) and put into the state connection_made leaves it in: init_parser() creates the
XMLPullParser; the stream header is the first thing fed, so start_stream_handler runs as on a real connection.
No transport is attached: nothing in this stream makes slixmpp send (if it tried, send_raw would raise).

The chunks are delivered from the running asyncio event loop, one loop iteration each (as the selector
transport's read callback does), so anything slixmpp schedules (coroutine handlers, futures) runs in between.
With --async-handler the handler is a coroutine: slixmpp's event() then wraps every call in a Task
(asyncio.ensure_future), which is what an application that awaits inside its handler pays. The clock stops once
the handler has counted EXPECTED_MESSAGES messages and the whole stream was fed.

slixmpp raises the 'message' event only for messages with a <body/> (its 'IM' handler matches message/body);
bodiless chat-state notifications go through parsing, stanza building and handler matching, then
stanza.unhandled(). EXPECTED_MESSAGES is therefore the number of messages with a body.
"""
import asyncio
import json
import sys
import time

import slixmpp


async def run(data: bytes, expected: int, chunk: int, async_handler: bool) -> dict:
    client = slixmpp.ClientXMPP('bench@example.test/bench', 'not-used')
    state = {'count': 0, 'body_chars': 0}

    if async_handler:
        async def on_message(msg):
            state['body_chars'] += len(msg['body'])
            state['count'] += 1
    else:
        def on_message(msg):
            state['body_chars'] += len(msg['body'])
            state['count'] += 1

    client.add_event_handler('message', on_message)
    client.init_parser()

    loop = asyncio.get_running_loop()
    fed = loop.create_future()

    def feed(offset: int) -> None:
        client.data_received(data[offset:offset + chunk])
        offset += chunk
        if offset < len(data):
            loop.call_soon(feed, offset)
        else:
            fed.set_result(None)

    started = time.perf_counter()
    cpu_started = time.process_time()
    loop.call_soon(feed, 0)
    await fed
    # Coroutine handlers may still be queued as tasks; wait for the last one.
    waits = 0
    while state['count'] < expected and waits < 1000:
        await asyncio.sleep(0)
        waits += 1
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        'messages': state['count'],
        'body_chars': state['body_chars'],
        'seconds': elapsed,
        'cpu_seconds': cpu,
        'bytes': len(data),
    }


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    path = args[0]
    expected = int(args[1])
    chunk = int(args[2]) if len(args) > 2 else 65536
    async_handler = '--async-handler' in sys.argv
    with open(path, 'rb') as f:
        data = f.read()
    result = asyncio.run(run(data, expected, chunk, async_handler))
    result['slixmpp'] = slixmpp.__version__
    result['python'] = sys.version.split()[0]
    print(json.dumps(result))


if __name__ == '__main__':
    main()
