#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol on a pipe (no websocket library, no
driver download): opens URL in real time, waits until a JavaScript condition holds, then
prints a JSON object with the value of each --eval expression (and writes a screenshot).

    cdp.py URL --ready 'JS' [--timeout S] [--eval NAME=JS ...] [--screenshot PATH]
           [--size 1280x900] [--mouse X,Y]

Used by the tests (edge-tests' `browser` module); stdlib only. With --remote-debugging-pipe
Chromium reads NUL-terminated JSON commands on fd 3 and writes replies and events on fd 4.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, size):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            sys.exit("cdp.py: chromium is not installed: run scripts/setup")
        self.profile = tempfile.mkdtemp(prefix="cdp-profile-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():
            # Move both ends above 4 first, so placing one cannot clobber the other.
            import fcntl
            high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--hide-scrollbars", "--no-first-run", f"--window-size={size}",
             f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def send(self, method, params=None, deadline=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self.read(deadline or time.monotonic() + 30)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def read(self, deadline):
        import select
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.from_child], [], [], left)
            if ready:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium exited")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(line)

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def close(self):
        try:
            self.session = None
            self.send("Browser.close", deadline=time.monotonic() + 5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def ready_now(browser, expression):
    try:
        return browser.evaluate(expression)
    except RuntimeError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--ready", default="document.readyState === 'complete'")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--eval", action="append", default=[])
    ap.add_argument("--screenshot")
    ap.add_argument("--size", default="1280,900")
    ap.add_argument("--mouse", help="move the mouse to X,Y before evaluating")
    args = ap.parse_args()
    browser = Browser(args.size.replace("x", ","))
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        browser.session = browser.send("Target.attachToTarget",
                                       {"targetId": target, "flatten": True})["sessionId"]
        browser.send("Page.enable")
        browser.send("Page.navigate", {"url": args.url})
        deadline = time.monotonic() + args.timeout
        # Not ready while the page is still loading (no body yet, context being replaced).
        ready = f"(() => {{ try {{ return Boolean({args.ready}); }} catch (e) {{ return false; }} }})()"
        while not ready_now(browser, ready):
            if time.monotonic() > deadline:
                sys.exit(f"cdp.py: not ready after {args.timeout} s: {args.ready}")
            time.sleep(0.1)
        if args.mouse:
            x, y = (float(v) for v in args.mouse.split(","))
            browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        out = {}
        for item in args.eval:
            name, _, expression = item.partition("=")
            out[name] = browser.evaluate(expression)
        if args.screenshot:
            shot = browser.send("Page.captureScreenshot", {"format": "png"})
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        print(json.dumps(out))
    finally:
        browser.close()


if __name__ == "__main__":
    main()
