#!/usr/bin/env python3
"""Plot the one-way latency distributions measured by `ipcbench latency`.

Reads the quantile table it writes (latency_quantiles.csv: a `quantile`
column, then one column of nanoseconds per mechanism) and writes an SVG with
two panels on a shared logarithmic time axis: the cumulative distribution,
and the tail (fraction of samples slower than x, log scale). Standard
library only, so `scripts/bench` needs nothing installed.

usage: plot_latency.py latency_quantiles.csv out.svg
"""
import csv
import math

import svg

LABELS = {
    "floor": "bare atomic word (floor)",
    "record": "seqlock record (ours)",
    "pipe": "pipe pair",
    "socket": "Unix socket pair",
}
COLORS = {"floor": "#7f7f7f", "record": "#d62728", "pipe": "#1f77b4", "socket": "#2ca02c"}
W = 780
LEFT, RIGHT = 80, 20
PANEL_H, GAP, TOP = 250, 60, 84
H = TOP + 2 * PANEL_H + GAP + 60
TAIL_MIN = 1e-4


def time_label(v):
    if v < 1000:
        return f"{v:.0f} ns"
    if v < 1e6:
        return f"{v / 1000:.3g} µs"
    return f"{v / 1e6:.3g} ms"


def main(src, dst):
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    mechs = [m for m in rows[0] if m != "quantile"]
    series = {m: [(float(r[m]), float(r["quantile"])) for r in rows] for m in mechs}
    values = [v for s in series.values() for v, _ in s if v > 0]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    pw = W - LEFT - RIGHT

    def x(v):
        v = min(max(v, lo), hi)
        return LEFT + pw * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    top1, top2 = TOP, TOP + PANEL_H + GAP

    def y_cdf(q):
        return top1 + PANEL_H * (1 - q)

    def y_tail(q):
        tail = max(1 - q, TAIL_MIN)
        return top2 + PANEL_H * (math.log10(tail) / math.log10(TAIL_MIN))

    out = svg.start(W, H, "One-way latency between two processes, pinned to different CPUs")

    def frame(top, title, yticks):
        decade = lo
        while decade <= hi:
            for k in range(1, 10):
                v = decade * k
                if v > hi:
                    break
                stroke = "#ccc" if k == 1 else "#eee"
                out.append(f'<line x1="{x(v):.1f}" y1="{top}" x2="{x(v):.1f}" y2="{top + PANEL_H}" stroke="{stroke}"/>')
                if k == 1:
                    out.append(f'<text x="{x(v):.1f}" y="{top + PANEL_H + 16}" text-anchor="middle">{time_label(v)}</text>')
            decade *= 10
        for y, label in yticks:
            out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{LEFT}" y="{top}" width="{pw}" height="{PANEL_H}" fill="none" stroke="#333"/>')
        out.append(
            f'<text x="18" y="{top + PANEL_H / 2}" text-anchor="middle" '
            f'transform="rotate(-90 18 {top + PANEL_H / 2})">{title}</text>'
        )

    frame(top1, "fraction at or below", [(y_cdf(q), f"{q:g}") for q in (0, 0.25, 0.5, 0.75, 0.9, 1.0)])
    frame(top2, "fraction slower (tail)", [(y_tail(1 - t), f"{t:g}") for t in (1, 0.1, 0.01, 1e-3, 1e-4)])
    out.append(
        f'<text x="{LEFT + pw / 2}" y="{H - 14}" text-anchor="middle">'
        "one-way latency = half a ping-pong round trip (log scale)</text>"
    )
    for i, m in enumerate(mechs):
        color = COLORS.get(m, "#000")
        pts = " ".join(f"{x(v):.1f},{y_cdf(q):.1f}" for v, q in series[m])
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        pts = " ".join(f"{x(v):.1f},{y_tail(q):.1f}" for v, q in series[m])
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        median = next(v for v, q in series[m] if q >= 0.5)
        p99 = next(v for v, q in series[m] if q >= 0.99)
        svg.legend(
            out,
            LEFT + (pw / 2) * (i % 2),
            48 + 18 * (i // 2),
            color,
            f"{LABELS.get(m, m)}: median {time_label(median)}, p99 {time_label(p99)}",
        )
    svg.save(out, dst)


if __name__ == "__main__":
    svg.run(main, __doc__)
