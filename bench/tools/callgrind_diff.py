#!/usr/bin/env python3
"""callgrind_diff.py SMALL.out LARGE.out REQUESTS TOP LABEL: per-request
instructions between two callgrind runs of the same server (LARGE served
REQUESTS more requests than SMALL), in total, for the top functions by self
cost, and inclusive for the stages of a request, as Markdown tables."""
import re
import subprocess
import sys

# The stages of one request, by the function that runs each (inclusive cost).
STAGES = ["chopin_parse_request", "handle", "chopin__response_finish", "settle", "ep_dispatch",
          "chopin__worker_main"]


def totals(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit(f"{path}: no totals line")


def per_function(path, inclusive):
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100",
                          "--auto=no", path], capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)\s*(?:\[[^\]]*\])?$", line)
        if not m or ":" not in m.group(2):
            continue
        name = m.group(2).split(":", 1)[1]
        # One function can appear under several files (its inlined parts);
        # inclusive costs of those parts overlap, so keep the largest.
        v = int(m.group(1).replace(",", ""))
        costs[name] = max(costs.get(name, 0), v) if inclusive else costs.get(name, 0) + v
    return costs


def diff(a, b, n):
    return {k: (b.get(k, 0) - a.get(k, 0)) / n for k in set(a) | set(b)}


small, large, n, top, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
total = (totals(large) - totals(small)) / n
self_cost = diff(per_function(small, False), per_function(large, False), n)
incl = diff(per_function(small, True), per_function(large, True), n)
print(f"\n{label}: {total:.0f} instructions per request\n")
print("| stage (inclusive) | per request |")
print("|---|---:|")
for s in STAGES:
    print(f"| {s} | {incl.get(s, 0):.0f} |")
print("\n| function (self) | per request |")
print("|---|---:|")
for name, v in sorted(self_cost.items(), key=lambda kv: -kv[1])[:top]:
    if v < 0.5:
        break
    print(f"| {name} | {v:.0f} |")
