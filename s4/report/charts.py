"""Inline SVG charts rendered server-side (no JavaScript, no network): stacked status bars, EOL timeline, sparkline."""

from __future__ import annotations

import datetime as _dt
from html import escape
from typing import Any

from s4.report.util import parse_date

STATUS_COLOURS = {"eol": "#c0392b", "eol-soon": "#e67e22", "security-only": "#d4ac0d", "supported": "#27ae60",
                  "unknown": "#95a5a6"}
STATUS_LIST = ("eol", "eol-soon", "security-only", "supported", "unknown")


def _e(v: Any) -> str:
    return escape(str(v), quote=True)


def stacked_bars(chart_id: str, title: str, rows: list[tuple[str, dict[str, int]]], width: int = 760) -> str:
    """One horizontal bar per row label, one ``rect.seg`` per non-zero status count."""
    label_w, bar_h, gap, top = 170, 18, 6, 28
    plot_w = width - label_w - 60
    height = top + len(rows) * (bar_h + gap) + 30
    biggest = max((sum(c.values()) for _, c in rows), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{_e(chart_id)}" role="img" '
             f'aria-label="{_e(title)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<text x="0" y="16" class="chart-title">{_e(title)}</text>']
    for i, (label, counts) in enumerate(rows):
        y = top + i * (bar_h + gap)
        total = sum(counts.values())
        parts.append(f'<g class="bar" data-key="{_e(label)}" data-total="{total}">')
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 4}" text-anchor="end" class="bar-label">{_e(label)}</text>')
        x = float(label_w)
        for status in STATUS_LIST:
            n = counts.get(status, 0)
            if not n:
                continue
            w = n / biggest * plot_w
            parts.append(f'<rect class="seg s-{status}" data-status="{status}" data-count="{n}" x="{x:.1f}" y="{y}" '
                         f'width="{w:.1f}" height="{bar_h}" fill="{STATUS_COLOURS[status]}">'
                         f'<title>{_e(label)}: {n} {status}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_h - 4}" class="bar-total">{total}</text></g>')
    ly = height - 8
    lx = label_w
    for status in STATUS_LIST:
        parts.append(f'<rect class="legend" x="{lx}" y="{ly - 9}" width="10" height="10" fill="{STATUS_COLOURS[status]}"/>'
                     f'<text x="{lx + 14}" y="{ly}" class="legend-label">{status}</text>')
        lx += 110
    parts.append("</svg>")
    return "".join(parts)


def timeline(chart_id: str, title: str, events: list[dict[str, Any]], as_of: _dt.date, window_days: int,
             width: int = 760) -> str:
    """Support-end dates on a time axis: past year to max(window, 2 years) ahead; a marker for as-of and window end."""
    start = as_of - _dt.timedelta(days=365)
    end = as_of + _dt.timedelta(days=max(window_days, 730))
    span = (end - start).days or 1
    left, right, top, row_h = 10, 10, 44, 16
    plot_w = width - left - right
    height = top + max(1, len(events)) * row_h + 40

    def x_of(d: _dt.date) -> float:
        return left + (min(max((d - start).days, 0), span) / span) * plot_w

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{_e(chart_id)}" role="img" '
             f'aria-label="{_e(title)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<text x="0" y="16" class="chart-title">{_e(title)}</text>',
             f'<line class="axis" x1="{left}" y1="{top - 8}" x2="{width - right}" y2="{top - 8}" stroke="#555"/>']
    year = start.year + 1
    while _dt.date(year, 1, 1) <= end:
        xx = x_of(_dt.date(year, 1, 1))
        parts.append(f'<line class="tick" x1="{xx:.1f}" y1="{top - 12}" x2="{xx:.1f}" y2="{height - 30}" stroke="#ddd"/>'
                     f'<text x="{xx + 2:.1f}" y="{top - 14}" class="tick-label">{year}</text>')
        year += 1
    for cls, d, label in (("asof", as_of, f"as of {as_of.isoformat()}"),
                          ("window", as_of + _dt.timedelta(days=window_days), f"+{window_days} days")):
        xx = x_of(d)
        parts.append(f'<line class="marker {cls}" x1="{xx:.1f}" y1="{top - 8}" x2="{xx:.1f}" y2="{height - 24}" '
                     f'stroke="{"#333" if cls == "asof" else "#e67e22"}" stroke-dasharray="4 3"/>'
                     f'<text x="{xx + 3:.1f}" y="{height - 12}" class="marker-label">{_e(label)}</text>')
    for i, ev in enumerate(events):
        d = parse_date(ev["date"]) or as_of
        xx = x_of(d)
        y = top + i * row_h + 6
        colour = STATUS_COLOURS.get(ev.get("status", "unknown"), "#95a5a6")
        label = f"{ev['product']} {ev.get('cycle') or ''} - {ev['date']} ({len(ev.get('hosts', []))} host(s))"
        anchor = "end" if xx > left + plot_w * 0.6 else "start"
        tx = xx - 7 if anchor == "end" else xx + 7
        parts.append(f'<g class="tl-event" data-product="{_e(ev["product"])}" data-cycle="{_e(ev.get("cycle"))}" '
                     f'data-date="{_e(ev["date"])}"><circle class="tl-point" cx="{xx:.1f}" cy="{y}" r="5" '
                     f'fill="{colour}"><title>{_e(label)}: {_e(", ".join(ev.get("hosts", [])))}</title></circle>'
                     f'<text x="{tx:.1f}" y="{y + 4}" text-anchor="{anchor}" class="tl-label">{_e(label)}</text></g>')
    if not events:
        parts.append(f'<text x="{left}" y="{top + 10}" class="empty">no support end dates in this range</text>')
    parts.append("</svg>")
    return "".join(parts)


def sparkline(series: list[dict[str, Any]], width: int = 120, height: int = 28) -> str:
    """A tiny line of debt scores over the gather runs (the last point is highlighted)."""
    if not series:
        return '<span class="muted">no history</span>'
    scores = [float(p["score"]) for p in series]
    hi = max(scores) or 1.0
    n = len(scores)
    pts = []
    for i, s in enumerate(scores):
        x = 3 + (i / (n - 1) if n > 1 else 0.5) * (width - 6)
        y = height - 3 - (s / hi) * (height - 6)
        pts.append((x, y))
    title = ", ".join(f"{p['date']}: {p['score']}" for p in series)
    poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    lx, ly = pts[-1]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" data-points="{n}" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}"><title>{_e(title)}</title>'
            f'<polyline fill="none" stroke="#2c3e50" stroke-width="1.5" points="{poly}"/>'
            f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.5" fill="#c0392b"/></svg>')


def trend_chart(chart_id: str, title: str, series: list[dict[str, Any]], width: int = 760, height: int = 180) -> str:
    """Debt score per gather run: a line with one ``circle.trend-point`` per run."""
    left, right, top, bottom = 50, 20, 28, 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{_e(chart_id)}" role="img" '
             f'aria-label="{_e(title)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<text x="0" y="16" class="chart-title">{_e(title)}</text>']
    if not series:
        parts.append(f'<text x="{left}" y="{top + 20}" class="empty">no gather history yet</text></svg>')
        return "".join(parts)
    scores = [float(p["score"]) for p in series]
    hi = max(scores) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(series)
    pts = [(left + (i / (n - 1) if n > 1 else 0.5) * plot_w, top + plot_h - s / hi * plot_h)
           for i, s in enumerate(scores)]
    parts.append(f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
                 'stroke="#555"/>')
    parts.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="tick-label">{hi:g}</text>'
                 f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="tick-label">0</text>')
    if n > 1:
        parts.append('<polyline fill="none" stroke="#2c3e50" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
    for (x, y), p in zip(pts, series, strict=True):
        parts.append(f'<circle class="trend-point" data-date="{_e(p["date"])}" data-score="{_e(p["score"])}" '
                     f'cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#c0392b"><title>{_e(p["date"])}: {_e(p["score"])}'
                     '</title></circle>')
    for (x, _), p in ((pts[0], series[0]), (pts[-1], series[-1])):
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" class="tick-label">{_e(p["date"])}</text>')
    parts.append("</svg>")
    return "".join(parts)
