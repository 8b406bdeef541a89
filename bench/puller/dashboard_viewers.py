#!/usr/bin/env python3
"""N dashboard viewers: each GETs /api/fleet once a second (as the page does) until the
process PID exits; prints requests, failures and the mean snapshot size, and the CPU time the
puller's dashboard threads (named dashboard-*) used: what the viewers cost the puller itself,
apart from this load generator's own CPU on the same cores. PID may be the puller or a
wrapper whose only child is the puller (bench/lib/cpu_of.py).

    dashboard_viewers.py HOST:PORT N PID
"""
import http.client
import os
import sys
import threading
import time

addr, viewers, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host, port = addr.rsplit(":", 1)
stats = {"ok": 0, "failed": 0, "bytes": 0}
lock = threading.Lock()


def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def viewer():
    while alive():
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            conn.request("GET", "/api/fleet")
            response = conn.getresponse()
            body = response.read()
            conn.close()
            with lock:
                if response.status == 200:
                    stats["ok"] += 1
                    stats["bytes"] += len(body)
                else:
                    stats["failed"] += 1
        except OSError:
            with lock:
                stats["failed"] += 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def puller_pid():
    """PID itself, or its child when PID is a wrapper."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
    except OSError:
        return pid
    return int(children[0]) if children else pid


def dashboard_ticks(target):
    """utime + stime (clock ticks) of each dashboard-* thread of `target`, by thread id."""
    ticks = {}
    try:
        tids = os.listdir(f"/proc/{target}/task")
    except OSError:
        return ticks
    for tid in tids:
        try:
            with open(f"/proc/{target}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name.startswith("dashboard"):
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks[tid] = int(fields[11]) + int(fields[12])
    return ticks


threads = [threading.Thread(target=viewer, daemon=True) for _ in range(viewers)]
for t in threads:
    t.start()
# Sampled until the puller exits: the last sample misses at most 0.2 s of the drain.
seen = {}
target = puller_pid()
while alive():
    if target == pid:
        target = puller_pid()
    seen.update(dashboard_ticks(target))
    time.sleep(0.2)
for t in threads:
    t.join()
mean = stats["bytes"] // max(stats["ok"], 1)
cpu = sum(seen.values()) / os.sysconf("SC_CLK_TCK")
print(f"viewers: {viewers}, requests {stats['ok']}, failed {stats['failed']}, "
      f"mean snapshot {mean} bytes")
print(f"dashboard threads CPU: {cpu:.2f} s")
