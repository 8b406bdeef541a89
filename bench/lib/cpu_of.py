#!/usr/bin/env python3
"""Runs a command and writes what it cost to OUT: its CPU seconds (user + system, the
command and every descendant it waited for) and its peak resident set in KiB (the largest
of them), as one line `CPU_SECONDS PEAK_RSS_KIB`.

    cpu_of.py OUT COMMAND [ARGS...]

Exits with the command's status. For a process that exits when done (the pullers): its
/proc entry is gone by then, and the kernel's rusage of the waited-for child is the same
accounting /proc showed.
"""
import resource
import subprocess
import sys

out, command = sys.argv[1], sys.argv[2:]
status = subprocess.call(command)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    f.write(f"{usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}\n")
sys.exit(status)
