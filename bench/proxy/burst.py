"""A load whose batches do not depend on timing: sends COUNT `POST /send` requests over one
keep-alive connection in bursts of BURST pipelined requests (one write each), reading every
burst's answers before the next. The proxy reads a burst in one turn of its loop, so each
SQS call carries BURST messages however fast or slow the proxy runs (under valgrind, say).
The bodies are those of bench/proxy/send.lua: realistic sensor messages from 1,000 edge
nodes, one job per node, so the supersede filter forwards them all.

    python3 burst.py PORT COUNT BURST

Prints `sent=N ok=N`; exits 1 if any answer was not 200.
"""
import socket
import sys

ICONS = ["😀", "🚀", "🌡️", "🛰️", "⚡", "🌊"]
COLORS = ["#FF5733", "#33FF57", "#3357FF", "#F1C40F"]


def requests():
    out = []
    for i in range(1, 1001):
        body = (
            f'{{"job_id":"j-{i % 7}","execution_id":"e-1","hostname":"edge-node-{i}",'
            f'"job_submission_time":1711449600,"icon_name":"{ICONS[i % len(ICONS)]}",'
            f'"timestamp":"2025-03-26T12:34:56Z","color":"{COLORS[i % len(COLORS)]}",'
            f'"sequence":{i},"region":"us"}}'
        ).encode()
        head = (
            f"POST /send HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append(head + body)
    return out


def read_answers(conn, n, buf):
    """Reads n answers; returns (statuses, what was read past them)."""
    statuses = []
    while len(statuses) < n:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            chunk = conn.recv(65536)
            if not chunk:
                raise SystemExit("the proxy closed the connection")
            buf += chunk
            continue
        head = buf[:end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        while len(buf) < end + 4 + length:
            chunk = conn.recv(65536)
            if not chunk:
                raise SystemExit("the proxy closed the connection")
            buf += chunk
        statuses.append(int(head[0].split()[1]))
        buf = buf[end + 4 + length:]
    return statuses, buf


def main():
    port, count, burst = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    reqs = requests()
    conn = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = ok = 0
    buf = b""
    while sent < count:
        n = min(burst, count - sent)
        conn.sendall(b"".join(reqs[(sent + k) % len(reqs)] for k in range(n)))
        statuses, buf = read_answers(conn, n, buf)
        sent += n
        ok += statuses.count(200)
    print(f"sent={sent} ok={ok}")
    sys.exit(0 if ok == sent else 1)


if __name__ == "__main__":
    main()
