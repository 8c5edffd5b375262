#!/usr/bin/env python3
"""report.py OUTDIR: medians of OUTDIR/matrix.csv into OUTDIR/table.md and a
chart OUTDIR/chart.png (requests per second and server CPU per request)."""
import csv
import statistics
import sys
from collections import defaultdict

out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/matrix.csv")))
servers, tests = [], []
cells = defaultdict(list)
for r in rows:
    if r["server"] not in servers:
        servers.append(r["server"])
    if r["test"] not in tests:
        tests.append(r["test"])
    cells[(r["server"], r["test"])].append(r)


def median(server, test, field):
    vals = [float(r[field]) for r in cells[(server, test)] if r[field] not in ("", "-")]
    return statistics.median(vals) if vals else None


def fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


chopins = [s for s in servers if s.startswith("chopin")]
peers = [s for s in servers if not s.startswith("chopin")]
lines = []
for test in tests:
    lines.append(f"\n**{test}**" + (" (depth 16; latency per batch, not shown)" if test == "pipelined" else "") + "\n")
    head = "| server | req/s | p50 ms | p99 ms | CPU µs/req | RSS MiB |"
    sep = "|---|---:|---:|---:|---:|---:|"
    for c in chopins:
        head += f" {c} req/s ÷ this |"
        sep += "---:|"
    lines += [head, sep]
    for s in servers:
        rps = median(s, test, "req_per_s")
        row = (f"| {s} | {fmt(rps)} | {fmt(median(s, test, 'p50_ms'), 2)} | {fmt(median(s, test, 'p99_ms'), 2)} "
               f"| {fmt(median(s, test, 'us_per_req'), 2)} | {fmt(median(s, test, 'rss_mib'), 1)} |")
        for c in chopins:
            crps = median(c, test, "req_per_s")
            row += f" {crps / rps:.2f}x |" if crps and rps else " - |"
        lines.append(row)
open(f"{out}/table.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib missing: no chart (apt-get install python3-matplotlib)")
    sys.exit(0)

fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
width = 0.8 / max(len(servers), 1)
colors = ["#1f5fa8", "#4f9be0", "#e07b39", "#9c5fb5", "#4caf50", "#888888"]
for ax, field, title, unit, log in (
    (axes[0], "req_per_s", "Throughput (higher is better)", "requests per second (log scale)", True),
    (axes[1], "us_per_req", "Server CPU per request (lower is better)", "microseconds of server CPU per request", False),
):
    for i, s in enumerate(servers):
        vals = [median(s, t, field) or 0 for t in tests]
        xs = [j + (i - (len(servers) - 1) / 2) * width for j in range(len(tests))]
        bars = ax.bar(xs, vals, width, label=s, color=colors[i % len(colors)])
        for b, v in zip(bars, vals):
            label = f"{v / 1000:.0f}k" if field == "req_per_s" and v >= 1000 else f"{v:.1f}"
            ax.annotate(label, (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom",
                        fontsize=7, rotation=90, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(tests)))
    ax.set_xticklabels(tests)
    ax.set_title(title)
    ax.set_ylabel(unit)
    if log:
        ax.set_yscale("log")
    ax.margins(y=0.25)
    ax.grid(axis="y", alpha=0.3)
axes[0].legend(fontsize=8, loc="upper left")
fig.suptitle("Chopin vs peers: one server core, wrk on another core, 64 connections", fontsize=11)
fig.tight_layout()
fig.savefig(f"{out}/chart.png", dpi=110)
print(f"chart: {out}/chart.png")
