#!/usr/bin/python3
"""In-band bytestream (XEP-0047) throughput of slixmpp through a real server: client A sends a file to client B.
Prints one JSON line of results.

usage: slixmpp_ibb.py HOST PORT JID_A PASSWORD_A JID_B PASSWORD_B FILE OUTDIR BLOCK_SIZE [SERVER_PID]

Both clients are slixmpp.ClientXMPP objects on one asyncio event loop in this process (STARTTLS, certificate
verification off: the test server's certificate is self-signed; the TLS work is the same). B registers xep_0047 with
auto_accept and max_block_size 65535, and writes every block it gets to OUTDIR/<name> as its 'ibb_stream_data'
event arrives. A opens the stream with xep_0047.open_stream(B, block_size=BLOCK_SIZE) and sends the file with the
stream's own sendfile(): it reads BLOCK_SIZE bytes and awaits each <iq type='set'><data/></iq>'s answer before the
next (slixmpp's IBB has no window: stop-and-wait), then close(). No SI negotiation (one round trip more for Parley,
which offers the file first) and no hashing on either side (Parley hashes on both).

The clock runs from before open_stream to B having written and closed the file with every byte. CPU: this process
(both clients), time.process_time(); with SERVER_PID, the server's CPU time over the same span, from /proc.
"""
import asyncio
import json
import os
import sys
import time

import slixmpp

from slixmpp_session import connect, process_cpu, trust_test_server


def make_client(jid: str, password: str) -> slixmpp.ClientXMPP:
    client = slixmpp.ClientXMPP(jid, password)
    client.register_plugin('xep_0030')
    client.register_plugin('xep_0047', {'auto_accept': True, 'max_block_size': 65535})
    trust_test_server(client)
    return client


async def main() -> None:
    host, port, jid_a, password_a, jid_b, password_b, path, outdir, block_size = sys.argv[1:10]
    server_pid = int(sys.argv[10]) if len(sys.argv) > 10 else 0
    block_size = int(block_size)
    size = os.path.getsize(path)
    target = os.path.join(outdir, 'slixmpp-' + os.path.basename(path))

    a = make_client(jid_a, password_a)
    b = make_client(jid_b, password_b)
    await asyncio.gather(connect(a, host, int(port)), connect(b, host, int(port)))

    loop = asyncio.get_running_loop()
    done = loop.create_future()
    state = {'file': None, 'received': 0}

    def on_data(stream):
        out = state['file']
        if out is None:
            out = state['file'] = open(target, 'wb')
        while not stream.recv_queue.empty():
            block = stream.recv_queue.get_nowait()
            out.write(block)
            state['received'] += len(block)
        if state['received'] >= size and not done.done():
            out.close()
            done.set_result(None)

    b.add_event_handler('ibb_stream_data', on_data)

    cpu = time.process_time()
    server_cpu = process_cpu(server_pid)
    started = time.perf_counter()
    stream = await a['xep_0047'].open_stream(b.boundjid, block_size=block_size, timeout=30)
    with open(path, 'rb') as source:
        await stream.sendfile(source, timeout=60)
    await asyncio.wait_for(done, 120)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    server_cpu_after = process_cpu(server_pid)
    await stream.close(timeout=10)

    received = os.path.getsize(target)
    os.remove(target)
    print(json.dumps({
        'seconds': seconds,
        'bytes': received,
        'cpu_seconds': cpu_seconds,
        'server_cpu_seconds': None if server_cpu is None else server_cpu_after - server_cpu,
        'block_size': stream.block_size,
    }), flush=True)
    a.disconnect()
    b.disconnect()
    await asyncio.sleep(0.2)


if __name__ == '__main__':
    asyncio.run(main())
