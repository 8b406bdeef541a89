#!/usr/bin/env python3
"""Runs a command and writes the CPU seconds (user + system) it used to OUT.

    cpu_of.py OUT COMMAND [ARGS...]

Exits with the command's status.
"""
import resource
import subprocess
import sys

out, command = sys.argv[1], sys.argv[2:]
status = subprocess.call(command)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    f.write(f"{usage.ru_utime + usage.ru_stime}\n")
sys.exit(status)
