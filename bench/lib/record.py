#!/usr/bin/env python3
"""Runs one bench script and records what it printed in bench/RESULTS.md.

    record.py --section NAME --knobs "VAR1 VAR2" -- SCRIPT [ARGS...]

Called by bench_record (bench/lib/results.sh), not by hand. The script's stdout is shown
as it arrives and kept; its stderr (build noise, warnings) goes straight through. When the
script exits 0, the section NAME of the results file (between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`) is replaced, or appended when it is new, with:

- the date (UTC) and how long the run took,
- the exact command: the KNOBS set in the environment, the script, its arguments,
- the machine: CPUs (nproc), memory, kernel, CPU model, load average before and after,
- the commit the run measured (and whether the tree had uncommitted changes),
- the script's output, which carries the original's figure when the script measured it.

A failed or interrupted run changes nothing. Other sections are kept byte for byte, so
every script owns its section and they coexist. Writers take an flock on the results
file's directory and replace the file atomically, so two scripts finishing at once do not
lose each other's section.
"""

import argparse
import datetime
import fcntl
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HEADER = """# Benchmark results

Every measured figure of the project lives here, and only here. README.md and docs/ link to
this file instead of quoting numbers.

Each section is written by the bench script named in its **command** line when a run of it
finishes (bench/lib/record.py, called through bench/lib/results.sh): a rerun replaces that
section only. The machine line says what the numbers are worth: on a box of 2 shared cores,
with the load generator, the stand-ins and LocalStack on the same cores, they are noisy and
pessimistic. A ratio to the original counts only when the same run measured both.
"""


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 0


def read(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def loadavg():
    return " ".join(read("/proc/loadavg").split()[:3]) or "unknown"


def machine(load_before, load_after):
    mem = re.search(r"^MemTotal:\s+(\d+) kB", read("/proc/meminfo"), re.M)
    mem_text = f"{int(mem.group(1)) / 1048576:.1f} GiB memory" if mem else "memory unknown"
    model = re.search(r"^model name\s*:\s*(.+)$", read("/proc/cpuinfo"), re.M)
    model_text = model.group(1).strip() if model else "CPU model unknown"
    return (
        f"{cpu_count()} CPUs (nproc), {mem_text}, {os.uname().sysname} {os.uname().release}, "
        f"{model_text}; load average {load_before} before, {load_after} after"
    )


def commit():
    def git(*args):
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else None

    head = git("rev-parse", "--short", "HEAD")
    if head is None:
        return "unknown (not a git checkout)"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/RESULTS.md")
    return head + (" with uncommitted changes" if dirty else "")


def command_line(knobs, script, args):
    set_knobs = [f"{k}={shlex.quote(os.environ[k])}" for k in knobs.split() if k in os.environ]
    try:
        script = str(Path(script).resolve().relative_to(ROOT))
    except ValueError:
        pass
    return " ".join(set_knobs + [script] + [shlex.quote(a) for a in args])


def run(argv):
    """Runs the script, echoing and keeping its stdout; returns (exit status, output)."""
    child = subprocess.Popen(argv, stdout=subprocess.PIPE)
    chunks = []

    def pump():
        for chunk in iter(lambda: child.stdout.read1(65536), b""):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            chunks.append(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    # Ctrl-C reaches the script through the terminal's process group; the script's own traps
    # clean up. A SIGTERM sent to this process alone is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    status = child.wait()
    # A background process the script left running may still hold the pipe: stop waiting
    # for it after a while and record what arrived.
    reader.join(timeout=10)
    return status, b"".join(chunks).decode(errors="replace")


def section_text(name, started, took, command, machine_line, commit_line, output):
    body = ANSI.sub("", output).rstrip() or "(no output)"
    fence = "```"
    while fence in body:
        fence += "`"
    return (
        f"<!-- bench:{name} -->\n"
        f"### {name}\n\n"
        f"- **date**: {started:%Y-%m-%d %H:%M} UTC (the run took {took:.0f} s)\n"
        f"- **command**: `{command}`\n"
        f"- **machine**: {machine_line}\n"
        f"- **commit**: {commit_line}\n\n"
        f"{fence}text\n{body}\n{fence}\n"
        f"<!-- /bench:{name} -->"
    )


def replace_section(text, name, new):
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        return pattern.sub(lambda _: new, text, count=1)
    return text.rstrip("\n") + "\n\n" + new + "\n"


def write_section(path, name, new):
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = read(path) or HEADER
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".RESULTS.", suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            out.write(replace_section(old, name, new))
        os.replace(tmp, path)
    finally:
        os.close(lock)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", required=True)
    parser.add_argument("--knobs", default="")
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    opts = parser.parse_args()
    argv = opts.argv[1:] if opts.argv[:1] == ["--"] else opts.argv
    if not argv or not re.fullmatch(r"[A-Za-z0-9._-]+", opts.section):
        parser.error("need a section name of letters, digits, '.', '_', '-' and a script to run")

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before, t0 = loadavg(), time.monotonic()
    status, output = run(argv)
    took, load_after = time.monotonic() - t0, loadavg()
    if status != 0:
        print(f"bench: exit status {status}, RESULTS.md left as it was", file=sys.stderr)
        return status if status > 0 else 128 - status

    path = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "RESULTS.md")
    new = section_text(
        opts.section,
        started,
        took,
        command_line(opts.knobs, argv[0], argv[1:]),
        machine(load_before, load_after),
        commit(),
        output,
    )
    write_section(path, opts.section, new)
    print(f"bench: recorded as section '{opts.section}' of {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
