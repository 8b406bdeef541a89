#!/usr/bin/env python3
"""N dashboard viewers: each GETs /api/fleet once a second (as the page does) until the
process PID exits; prints requests, failures and the mean snapshot size.

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


threads = [threading.Thread(target=viewer, daemon=True) for _ in range(viewers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
mean = stats["bytes"] // max(stats["ok"], 1)
print(f"viewers: {viewers}, requests {stats['ok']}, failed {stats['failed']}, "
      f"mean snapshot {mean} bytes")
