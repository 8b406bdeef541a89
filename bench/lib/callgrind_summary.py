"""Reads a callgrind output file (valgrind --tool=callgrind, event Ir) and prints, per unit of
work (a message, say), the instructions executed, those of SHA-256's compression function,
the heap allocations (calls to malloc, calloc and realloc) and the functions with the most
instructions including what they call.

    python3 callgrind_summary.py FILE UNITS [TOP]

Prints one `total / sha256 / allocations` line meant for a machine ("summary TOTAL SHA
ALLOCS", per unit) and then the top functions for a reader. Valgrind's CPU has no SHA
extensions, so SHA-256 runs in software there: its share is reported apart because on the
real CPU (x86 SHA-NI, ARMv8 SHA2) it is a small fraction of what valgrind counts.
"""
import re
import sys
from collections import defaultdict

ALLOCATORS = {"malloc", "calloc", "realloc"}
SHA = "sha2::sha256::compress256"
NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")


def parse(path):
    names = {}  # compressed id -> function name
    own = defaultdict(int)  # instructions in the function itself
    called = defaultdict(int)  # instructions of calls made from the function
    calls_to = defaultdict(int)  # how often the function was called
    total = 0
    current, callee, call_cost_next = None, None, False

    def name_of(spec):
        m = NAMED.match(spec)
        if not m:
            return spec
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), spec)

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("fn="):
                current = name_of(line[3:])
            elif line.startswith("cfn="):
                callee = name_of(line[4:])
            elif line.startswith("calls="):
                calls_to[callee] += int(line[6:].split()[0])
                call_cost_next = True
            elif line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split(":")[1]))
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if call_cost_next:
                    if callee != current:
                        called[current] += cost
                    call_cost_next = False
                else:
                    own[current] += cost
    return total, own, called, calls_to


def main():
    path, units = sys.argv[1], max(float(sys.argv[2]), 1.0)
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    total, own, called, calls_to = parse(path)
    sha = sum(c for name, c in own.items() if name and SHA in name)
    allocs = sum(n for name, n in calls_to.items() if name in ALLOCATORS)
    print(f"summary {total / units:.0f} {sha / units:.0f} {allocs / units:.2f}")
    inclusive = {name: own[name] + called[name] for name in own}
    # The program's own functions and its libraries', not the thread start-up around them.
    skip = ("std::", "<std::", "core::", "<core::", "alloc::", "<alloc::")
    ours = [
        (c, n)
        for n, c in inclusive.items()
        if n and "::" in n and not n.startswith(skip) and "{closure" not in n
    ]
    ours.sort(reverse=True)
    print(f"top {top} functions by instructions per unit, including what they call:")
    for cost, name in ours[:top]:
        print(f"  {cost / units:>9,.0f}  {name[:110]}")


if __name__ == "__main__":
    main()
