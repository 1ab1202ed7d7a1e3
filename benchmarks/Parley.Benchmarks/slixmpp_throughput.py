#!/usr/bin/python3
"""Two slixmpp clients through a real server: A sends N chat messages to B as fast as slixmpp sends them, then A and B
play ping-pong for the round-trip latency. Prints one JSON line of results.

usage: slixmpp_throughput.py HOST PORT JID_A PASSWORD_A JID_B PASSWORD_B COUNT WARMUP ROUNDTRIPS [SERVER_PID] [--sm]

Both clients are plain slixmpp.ClientXMPP objects with their default plugins (the stream features: STARTTLS, SASL,
bind, session), on one asyncio event loop in this process, as a slixmpp application runs them. STARTTLS is used;
certificate verification is off because the test server's certificate is self-signed (the TLS work is the same).
No stream management unless --sm (slixmpp loads XEP-0198 only when asked; with --sm both clients register its
xep_0198 plugin with its defaults: resumable, an ack request every 5 stanzas). No presence, no roster fetch: B is
addressed by its full JID, which the server delivers to without presence.

Throughput: the clock starts before A's first send_message and stops when B's 'message' handler has seen the
COUNT-th message; WARMUP messages go through first, unmeasured. Round trips: A sends one message, B's handler
answers it, A's handler completes a future; ROUNDTRIPS of them one after another, each timed.
With SERVER_PID, the server process's CPU time during the measured send is read from /proc and reported.
"""
import asyncio
import json
import sys
import time

import slixmpp

from slixmpp_session import connect, process_cpu, trust_test_server


BODY = 'Message {0}: the quick brown fox jumps over the lazy dog, again and again.'


def make_client(jid: str, password: str, sm: bool) -> slixmpp.ClientXMPP:
    client = slixmpp.ClientXMPP(jid, password)
    if sm:
        client.register_plugin('xep_0198')
    trust_test_server(client)
    return client


async def run(host: str, port: int, jid_a: str, password_a: str, jid_b: str, password_b: str,
              count: int, warmup: int, roundtrips: int, server_pid: int, sm: bool) -> dict:
    loop = asyncio.get_running_loop()
    a = make_client(jid_a, password_a, sm)
    b = make_client(jid_b, password_b, sm)
    sm_enabled = set()
    a.add_event_handler('sm_enabled', lambda _: sm_enabled.add('a'))
    b.add_event_handler('sm_enabled', lambda _: sm_enabled.add('b'))
    await asyncio.gather(connect(a, host, port), connect(b, host, port))
    to_b = b.boundjid.full

    state = {'received': 0, 'target': 0, 'done': None}

    def on_b(msg):
        if state['done'] is not None:
            state['received'] += 1
            if state['received'] == state['target']:
                state['done'].set_result(time.perf_counter())
        else:
            # Ping-pong phase: echo to the sender.
            msg.reply(msg['body']).send()

    b.add_event_handler('message', on_b)

    async def blast(n: int) -> float:
        state['received'] = 0
        state['target'] = n
        state['done'] = loop.create_future()
        started = time.perf_counter()
        for i in range(n):
            a.send_message(mto=to_b, mbody=BODY.format(i), mtype='chat')
        finished = await asyncio.wait_for(state['done'], timeout=300)
        return finished - started

    await blast(warmup)
    cpu_started = time.process_time()
    server_cpu_started = process_cpu(server_pid)
    seconds = await blast(count)
    cpu = time.process_time() - cpu_started
    server_cpu = None if server_cpu_started is None else process_cpu(server_pid) - server_cpu_started
    received = state['received']

    state['done'] = None
    pending = {}

    def on_a(msg):
        future = pending.pop(msg['body'], None)
        if future is not None:
            future.set_result(time.perf_counter())

    a.add_event_handler('message', on_a)
    latencies = []
    for i in range(roundtrips + roundtrips // 10):
        body = f'ping {i}'
        future = loop.create_future()
        pending[body] = future
        sent = time.perf_counter()
        a.send_message(mto=to_b, mbody=body, mtype='chat')
        answered = await asyncio.wait_for(future, timeout=30)
        if i >= roundtrips // 10:
            latencies.append(answered - sent)

    for client in (a, b):
        client.disconnect()
    await asyncio.sleep(0.2)
    latencies.sort()
    return {
        'received': received,
        'seconds': seconds,
        'cpu_seconds': cpu,
        'server_cpu_seconds': server_cpu,
        'latency_p50': latencies[len(latencies) // 2] if latencies else None,
        'latency_p99': latencies[min(len(latencies) - 1, (len(latencies) * 99) // 100)] if latencies else None,
        'roundtrips': len(latencies),
        'sm_enabled': sorted(sm_enabled),
    }


def main() -> None:
    sm = '--sm' in sys.argv
    args = [a for a in sys.argv[1:] if a != '--sm']
    host, port, jid_a, password_a, jid_b, password_b = args[0:6]
    count, warmup, roundtrips = (int(x) for x in args[6:9])
    server_pid = int(args[9]) if len(args) > 9 else 0
    result = asyncio.run(run(host, int(port), jid_a, password_a, jid_b, password_b, count, warmup, roundtrips, server_pid, sm))
    result['stream_management'] = sm
    result['slixmpp'] = slixmpp.__version__
    result['python'] = sys.version.split()[0]
    print(json.dumps(result))


if __name__ == '__main__':
    main()
