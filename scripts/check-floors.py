#!/usr/bin/env python3
"""check-floors.py OBJDIR - the C core's layering, as the linker sees it.

OBJDIR holds one object per source file, in the folders of Sources/CChopinCore
(make's build/rel). A file calls another when its object leaves a symbol
undefined that the other defines. The floors, bottom up, are base, http,
conn, loop, process (ARCHITECTURE.md): no call may run from a floor to a
higher one, and no files may call each other around a circle. Prints the
offenders and exits 1, or one line and 0.
"""
import collections
import pathlib
import subprocess
import sys

FLOORS = ["base", "http", "conn", "loop", "process"]


def symbols(obj):
    defined, undefined = set(), set()
    out = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRC":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build/rel")
    objs = sorted(root.glob("*/*.o"))
    if not objs:
        print(f"check-floors: no objects under {root}/*/ (run make first)")
        return 1
    owner, needs = {}, {}
    for obj in objs:
        name = f"{obj.parent.name}/{obj.stem}"
        if obj.parent.name not in FLOORS:
            print(f"check-floors: {name}.c is on no floor ({', '.join(FLOORS)})")
            return 1
        defined, needs[name] = symbols(obj)
        for sym in defined:
            owner[sym] = name
    calls = collections.defaultdict(set)
    for name, undefined in needs.items():
        for sym in undefined:
            if sym in owner and owner[sym] != name:
                calls[name].add(owner[sym])
    floor = lambda name: FLOORS.index(name.split("/")[0])
    bad = [f"{a} calls up into {b}" for a in sorted(calls) for b in sorted(calls[a]) if floor(b) > floor(a)]
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(calls[node]):
            if state.get(nxt) == 1:
                bad.append("circle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(needs):
        if node not in state:
            visit(node)
    for line in bad:
        print("check-floors:", line)
    if bad:
        return 1
    pairs = sum(len(v) for v in calls.values())
    print(f"check-floors: {len(objs)} files on {len(FLOORS)} floors, {pairs} calling pairs, none up, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
