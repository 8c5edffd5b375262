#!/usr/bin/env python3
"""extras_report.py OUTDIR: medians of OUTDIR/extras.csv (bench/run.sh extras)
into OUTDIR/extras.md, each row with its ratio against what it is measured
against in the same run: the 1 MiB file against nginx, /large.json gzip
against itself without, WebSocket echo against Hummingbird. "CPU µs" is the
server CPU's busy time per response (softirq included, as the matrix);
"process µs" the server processes' own user + system time, which stays
right when something else shares the CPU."""
import csv
import statistics
import sys
from collections import defaultdict

out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/extras.csv")))
servers = []
cells = defaultdict(list)
for r in rows:
    if r["server"] not in servers:
        servers.append(r["server"])
    cells[(r["server"], r["test"])].append(r)


def median(server, test, field):
    vals = [float(r[field]) for r in cells[(server, test)] if r[field] not in ("", "-")]
    return statistics.median(vals) if vals else None


def fmt(v, digits=0):
    return "-" if v is None else f"{v:,.{digits}f}"


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def has(test):
    return [s for s in servers if cells[(s, test)]]


lines = []
if has("file1m"):
    lines += [
        "\n**1 MiB static file** (GET /assets/1mb.bin; target: Chopin ≥ 0.9x nginx)\n",
        "| server | req/s | p50 ms | p99 ms | CPU µs/req | process µs/req | ÷ nginx | process µs ÷ nginx's |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = median("nginx", "file1m", "per_s")
    pbase = median("nginx", "file1m", "proc_us_per_op")
    for s in has("file1m"):
        rps, pus = median(s, "file1m", "per_s"), median(s, "file1m", "proc_us_per_op")
        lines.append(
            f"| {s} | {fmt(rps)} | {fmt(median(s, 'file1m', 'p50_ms'), 2)} | {fmt(median(s, 'file1m', 'p99_ms'), 2)} "
            f"| {fmt(median(s, 'file1m', 'us_per_op'), 1)} | {fmt(pus, 1)} | {ratio(rps, base)} | {ratio(pus, pbase)} |"
        )
if has("json-gzip"):
    lines += [
        "\n**Compression** (GET /large.json without and with `Accept-Encoding: gzip`)\n",
        "| server | req/s | req/s gzip | gzip ÷ plain | CPU µs/req | CPU µs/req gzip "
        "| process µs/req | process µs/req gzip | body bytes | body bytes gzip |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in has("json-gzip"):
        plain, gz = median(s, "json", "per_s"), median(s, "json-gzip", "per_s")
        lines.append(
            f"| {s} | {fmt(plain)} | {fmt(gz)} | {ratio(gz, plain)} | {fmt(median(s, 'json', 'us_per_op'), 2)} "
            f"| {fmt(median(s, 'json-gzip', 'us_per_op'), 2)} | {fmt(median(s, 'json', 'proc_us_per_op'), 2)} "
            f"| {fmt(median(s, 'json-gzip', 'proc_us_per_op'), 2)} | {fmt(median(s, 'json', 'body_bytes'))} "
            f"| {fmt(median(s, 'json-gzip', 'body_bytes'))} |"
        )
if has("ws"):
    size = next((r["body_bytes"] for r in rows if r["test"] == "ws"), "?")
    lines += [
        f"\n**WebSocket echo** (/ws, {size}-byte text messages, one in flight per connection; "
        "target: Chopin ≥ 2x Hummingbird)\n",
        "| server | messages/s | p50 ms | p99 ms | CPU µs/message | process µs/message | ÷ hummingbird "
        "| process µs ÷ hummingbird's |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = median("hummingbird", "ws", "per_s")
    pbase = median("hummingbird", "ws", "proc_us_per_op")
    for s in has("ws"):
        rate, pus = median(s, "ws", "per_s"), median(s, "ws", "proc_us_per_op")
        lines.append(
            f"| {s} | {fmt(rate)} | {fmt(median(s, 'ws', 'p50_ms'), 2)} | {fmt(median(s, 'ws', 'p99_ms'), 2)} "
            f"| {fmt(median(s, 'ws', 'us_per_op'), 1)} | {fmt(pus, 1)} | {ratio(rate, base)} | {ratio(pus, pbase)} |"
        )
open(f"{out}/extras.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
