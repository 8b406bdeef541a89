#!/usr/bin/env python3
"""Summarises the last detailed snapshot of a valgrind massif profile: heap bytes per node by
the first frame of each allocation that names a crate's function (below the standard
library's allocation frames), largest first.

    massif_sites.py MASSIF_OUT NODES [TOP]
"""
import re
import sys

LINE = re.compile(r"^( *)n(\d+): (\d+) (.*)$")


def last_tree(path):
    """Lines of the last detailed (or peak) heap tree, and the snapshot's total heap bytes."""
    trees, current, heap = [], None, 0
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("mem_heap_B="):
            heap = int(line.split("=")[1])
        elif line.startswith("heap_tree=detailed") or line.startswith("heap_tree=peak"):
            current = []
            trees.append((heap, current))
        elif line.startswith("snapshot=") or line.startswith("#"):
            current = None
        elif current is not None and LINE.match(line):
            current.append(line)
    return trees[-1] if trees else (0, [])


def parse(lines):
    """(depth, bytes, label, children) tree from massif's indented lines."""
    root, stack = None, []
    for line in lines:
        indent, _, size, label = LINE.match(line).groups()
        node = (len(indent), int(size), label, [])
        while stack and stack[-1][0] >= node[0]:
            stack.pop()
        if stack:
            stack[-1][3].append(node)
        else:
            root = node
        stack.append(node)
    return root


def strip_generics(text):
    while True:
        shorter = re.sub(r"<[^<>]*>", "", text)
        if shorter == text:
            return text
        text = shorter


def site(node):
    """The first frame at or below `node` (largest branch first) that names a function of a
    crate, not of the standard library's allocation path."""
    frame = re.sub(r"^0x[0-9A-F]+: ", "", node[2])
    name = strip_generics(frame).split(" (")[0]
    crate_path = re.fullmatch(r"[A-Za-z_]\w*(::\w+)+", name)
    if crate_path and not name.startswith(("core::", "alloc::", "std::")):
        return strip_generics(frame)[:110]
    if not node[3]:
        return strip_generics(frame)[:110]
    return site(max(node[3], key=lambda c: c[1]))


def main():
    path, nodes = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    heap, lines = last_tree(path)
    root = parse(lines)
    if root is None:
        print("no heap tree in", path)
        return 1
    sites = {}
    for child in root[3]:
        key = site(child)
        sites[key] = sites.get(key, 0) + child[1]
    print(f"heap at the last detailed snapshot: {heap / 1024:.0f} KiB = {heap / nodes / 1024:.1f} KiB per node ({nodes} nodes)")
    for key, size in sorted(sites.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {size / nodes / 1024:6.1f} KiB per node  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
