#!/usr/bin/env python3
"""Plot the stream's throughput against the write size: the ring against a
pipe, with the floor drawn (a minimal ring with no protocol, same segment).

Reads the table `ipcbench stream` writes (stream_throughput.csv: write_size,
pipe_bytes_per_sec, ring_bytes_per_sec, floor_bytes_per_sec; the floor column
may be absent in older files) and writes an SVG with both axes on
a log scale. Standard library only, so `scripts/bench` needs nothing
installed.

usage: plot_throughput.py stream_throughput.csv out.svg
"""
import csv
import math

import svg

SERIES = [
    ("floor_bytes_per_sec", "floor: minimal ring, no protocol", "#555555"),
    ("ring_bytes_per_sec", "ring in a System V segment (ours)", "#d62728"),
    ("pipe_bytes_per_sec", "pipe (64 KiB)", "#1f77b4"),
]
W, H = 780, 460
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 70, 60


def size_label(n):
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


def main(src, dst):
    with open(src, newline="") as f:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
    series = [s for s in SERIES if s[0] in rows[0]]
    sizes = [r["write_size"] for r in rows]
    rates = [r[col] / 1e6 for r in rows for col, _, _ in series]
    lo = 10 ** math.floor(math.log10(min(rates)))
    hi = 10 ** math.ceil(math.log10(max(rates)))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(n):
        span = math.log2(sizes[-1]) - math.log2(sizes[0])
        return LEFT + pw * (math.log2(n) - math.log2(sizes[0])) / span

    def y(mb):
        return TOP + ph * (1 - (math.log10(mb) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    out = svg.start(W, H, "Stream throughput between two processes, one write per message")
    decade = lo
    while decade <= hi:
        out.append(f'<line x1="{LEFT}" y1="{y(decade):.1f}" x2="{LEFT + pw}" y2="{y(decade):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(decade) + 4:.1f}" text-anchor="end">{decade:g} MB/s</text>')
        decade *= 10
    for n in sizes:
        out.append(f'<line x1="{x(n):.1f}" y1="{TOP}" x2="{x(n):.1f}" y2="{TOP + ph}" stroke="#eee"/>')
        out.append(f'<text x="{x(n):.1f}" y="{TOP + ph + 16}" text-anchor="middle">{size_label(int(n))}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 16}" text-anchor="middle">write size (log scale)</text>')
    for i, (col, label, color) in enumerate(series):
        pts = " ".join(f"{x(r['write_size']):.1f},{y(r[col] / 1e6):.1f}" for r in rows)
        dash = ' stroke-dasharray="6,4"' if col.startswith("floor") else ""
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for r in rows:
            out.append(f'<circle cx="{x(r["write_size"]):.1f}" cy="{y(r[col] / 1e6):.1f}" r="3" fill="{color}"/>')
        svg.legend(out, LEFT + 10 + (pw / len(series)) * i, 50, color, label)
    svg.save(out, dst)


if __name__ == "__main__":
    svg.run(main, __doc__)
