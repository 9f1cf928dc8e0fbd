#!/usr/bin/env python3
"""Plot the one-way latency distributions measured by `ipcbench latency`.

Reads the quantile table it writes (latency_quantiles.csv: a `quantile`
column, then one column of nanoseconds per mechanism) and writes an SVG of
the cumulative distributions on a logarithmic time axis. Standard library
only, so `scripts/bench` needs nothing installed.

usage: plot_latency.py latency_quantiles.csv out.svg
"""
import csv
import math
import sys

LABELS = {
    "floor": "bare atomic word (floor)",
    "record": "seqlock record (ours)",
    "pipe": "pipe pair",
    "socket": "Unix socket pair",
}
COLORS = {"floor": "#7f7f7f", "record": "#d62728", "pipe": "#1f77b4", "socket": "#2ca02c"}
W, H = 760, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 60


def main(src, dst):
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    mechs = [m for m in rows[0] if m != "quantile"]
    series = {m: [(float(r[m]), float(r["quantile"])) for r in rows] for m in mechs}
    values = [v for s in series.values() for v, _ in s if v > 0]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(v):
        v = max(v, lo)
        return LEFT + pw * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    def y(q):
        return TOP + ph * (1 - q)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">'
        "One-way latency between two processes (cumulative distribution)</text>",
    ]
    decade = lo
    while decade <= hi:
        for k in range(1, 10):
            v = decade * k
            if v > hi:
                break
            major = k == 1
            out.append(
                f'<line x1="{x(v):.1f}" y1="{TOP}" x2="{x(v):.1f}" y2="{TOP + ph}" '
                f'stroke="{"#ccc" if major else "#eee"}"/>'
            )
            if major:
                label = f"{v:g} ns" if v < 1000 else (f"{v / 1000:g} µs" if v < 1e6 else f"{v / 1e6:g} ms")
                out.append(f'<text x="{x(v):.1f}" y="{TOP + ph + 16}" text-anchor="middle">{label}</text>')
        decade *= 10
    for q in (0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0):
        out.append(f'<line x1="{LEFT}" y1="{y(q):.1f}" x2="{LEFT + pw}" y2="{y(q):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(q) + 4:.1f}" text-anchor="end">{q:g}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append(
        f'<text x="{LEFT + pw / 2}" y="{H - 18}" text-anchor="middle">'
        "one-way latency (half a ping-pong round trip), log scale</text>"
    )
    out.append(
        f'<text x="16" y="{TOP + ph / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {TOP + ph / 2})">fraction of samples at or below</text>'
    )
    for i, m in enumerate(mechs):
        pts = " ".join(f"{x(v):.1f},{y(q):.1f}" for v, q in series[m])
        color = COLORS.get(m, "#000")
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        median = next(v for v, q in series[m] if q >= 0.5)
        ly = TOP + 16 + 18 * i
        out.append(f'<line x1="{LEFT + 10}" y1="{ly - 4}" x2="{LEFT + 34}" y2="{ly - 4}" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{LEFT + 40}" y="{ly}">{LABELS.get(m, m)}: median {median:.0f} ns</text>')
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
