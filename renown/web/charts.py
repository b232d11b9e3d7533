"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, readable by
screen readers (``role="img"`` with a title and a description of the data).

Pure functions from data to markup; the colours come from the stylesheet's
custom properties so the contrast is decided in one place.
"""

from __future__ import annotations

import math
from html import escape


def gauge(score: int, label: str = "renown score") -> str:
    """A half-circle dial from 1 to 100 with the score filled in."""
    fraction = (max(1, min(100, score)) - 1) / 99
    cx, cy, r = 100, 100, 80

    def point(f: float) -> tuple[float, float]:
        angle = math.pi * (1 - f)
        return cx + r * math.cos(angle), cy - r * math.sin(angle)

    x0, y0 = point(0)
    x1, y1 = point(fraction)
    xe, ye = point(1)
    return (
        f'<svg class="gauge" viewBox="0 0 200 120" role="img" aria-labelledby="gauge-title">'
        f'<title id="gauge-title">{escape(label)}: {score} out of 100</title>'
        f'<path d="M {x0:.1f} {y0:.1f} A {r} {r} 0 0 1 {xe:.1f} {ye:.1f}" class="gauge-track"/>'
        f'<path d="M {x0:.1f} {y0:.1f} A {r} {r} 0 0 1 {x1:.1f} {y1:.1f}" class="gauge-fill"/>'
        f'<text x="100" y="95" text-anchor="middle" class="gauge-value">{score}</text>'
        f'<text x="20" y="115" text-anchor="middle" class="axis">1</text>'
        f'<text x="180" y="115" text-anchor="middle" class="axis">100</text></svg>'
    )


def history(series: list[dict], width: int = 560, height: int = 180) -> str:
    """The score over snapshots: a line with a dot per snapshot, on a fixed 0–100 axis
    so that movements are not exaggerated."""
    left, right, top, bottom = 36, 12, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(series)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(score: float) -> float:
        return top + plot_h * (1 - score / 100)

    description = "; ".join(f"{s['as_of']}: {s['score']}" for s in series)
    parts = [f'<svg class="history" viewBox="0 0 {width} {height}" role="img" aria-labelledby="history-title history-desc">'
             f'<title id="history-title">Score history</title><desc id="history-desc">{escape(description)}</desc>']
    for tick in (0, 25, 50, 75, 100):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="axis">{tick}</text>')
    points = " ".join(f"{x(i):.1f},{y(s['score']):.1f}" for i, s in enumerate(series))
    if n > 1:
        parts.append(f'<polyline points="{points}" class="line"/>')
    for i, s in enumerate(series):
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(s["score"]):.1f}" r="4" class="dot"/>')
    if series:
        parts.append(f'<text x="{x(0):.1f}" y="{height - 8}" text-anchor="{"start" if n > 1 else "middle"}" class="axis">'
                     f'{escape(series[0]["as_of"])}</text>')
    if n > 1:
        parts.append(f'<text x="{x(n - 1):.1f}" y="{height - 8}" text-anchor="end" class="axis">{escape(series[-1]["as_of"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def contributions(base: float, components: list[dict], width: int = 560) -> str:
    """One stacked bar, 0–100: the base point and each component's points, in order,
    so the reader sees the parts add up to the score."""
    height, bar_y, bar_h = 56, 6, 26
    classes = ["c0", "c1", "c2", "c3", "c4", "c5"]
    segments = [("base", base, "cb")] + [(c["name"], c["points"], classes[i % len(classes)]) for i, c in enumerate(components)]
    total = sum(max(p, 0) for _, p, _ in segments)
    parts = [f'<svg class="contributions" viewBox="0 0 {width} {height}" role="img" aria-labelledby="contrib-title">'
             f'<title id="contrib-title">Contributions: '
             f'{escape(", ".join(f"{name} {points:.1f}" for name, points, _ in segments))}; total {total:.1f}</title>'
             f'<rect x="0" y="{bar_y}" width="{width}" height="{bar_h}" class="bar-track"/>']
    at = 0.0
    for name, points, css in segments:
        w = width * max(points, 0) / 100
        if w > 0:
            parts.append(f'<rect x="{at:.1f}" y="{bar_y}" width="{w:.1f}" height="{bar_h}" class="seg {css}"/>')
        at += w
    for tick in (0, 50, 100):
        anchor = {0: "start", 50: "middle", 100: "end"}[tick]
        parts.append(f'<text x="{width * tick / 100:.1f}" y="{height - 6}" text-anchor="{anchor}" class="axis">{tick}</text>')
    parts.append("</svg>")
    return "".join(parts)


def meter(points: float, maximum: float = 50) -> str:
    """A small horizontal bar for a table cell (points of one component)."""
    w = 100 * max(0.0, min(points, maximum)) / maximum
    return (f'<svg class="meter" viewBox="0 0 100 10" aria-hidden="true" focusable="false">'
            f'<rect width="100" height="10" class="bar-track"/><rect width="{w:.1f}" height="10" class="seg c0"/></svg>')


def compare_reach(rows: list[tuple[str, dict]], width: int = 560) -> str:
    """Horizontal bars of expected reach with their 95 % intervals, on one scale."""
    top = max((r["high"] for _, r in rows), default=1) or 1
    left, bar_h, gap = 150, 22, 14
    height = len(rows) * (bar_h + gap) + 10
    description = "; ".join(f"{label}: {r['people']:.0f} people (95 % {r['low']:.0f} to {r['high']:.0f})" for label, r in rows)
    parts = [f'<svg class="reach" viewBox="0 0 {width} {height}" role="img" aria-labelledby="reach-title">'
             f'<title id="reach-title">Expected reach: {escape(description)}</title>']
    for i, (label, r) in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        scale = (width - left - 60) / top
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" class="axis">{escape(label)}</text>'
                     f'<rect x="{left}" y="{y}" width="{r["people"] * scale:.1f}" height="{bar_h}" class="seg c{i}"/>'
                     f'<line x1="{left + r["low"] * scale:.1f}" x2="{left + r["high"] * scale:.1f}" y1="{y + bar_h / 2}" '
                     f'y2="{y + bar_h / 2}" class="interval"/>'
                     f'<text x="{left + r["high"] * scale + 6:.1f}" y="{y + 15}" class="axis">{r["people"]:.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)
