"""What the slixmpp client benchmarks share: a client's session on the test server, and a process's CPU time."""
import asyncio
import os
import ssl

import slixmpp


def process_cpu(pid: int):
    """User + system CPU seconds of process PID from /proc, or None without a PID."""
    if pid <= 0:
        return None
    with open(f'/proc/{pid}/stat') as f:
        stat = f.read()
    fields = stat[stat.rindex(')') + 2:].split(' ')
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def trust_test_server(client: slixmpp.ClientXMPP) -> None:
    """The test server's certificate is self-signed: no verification (the TLS work is the same)."""
    client.ssl_context.check_hostname = False
    client.ssl_context.verify_mode = ssl.CERT_NONE


async def connect(client: slixmpp.ClientXMPP, host: str, port: int) -> None:
    """Connects and waits for session_start; raises on failed authentication or after 30 s."""
    loop = asyncio.get_running_loop()
    started = loop.create_future()
    failed = loop.create_future()
    client.add_event_handler('session_start', lambda _: started.done() or started.set_result(None))
    client.add_event_handler('failed_auth', lambda _: failed.done() or failed.set_result('authentication failed'))
    client.connect((host, port))
    done, _ = await asyncio.wait([started, failed], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if started not in done:
        raise RuntimeError(f'{client.boundjid}: no session ({failed.result() if failed in done else "timeout"})')
