"""Charts as SVG drawn on the server: a few dozen lines instead of a charting library.

Why not pygal (the obvious library): its SVG carries an inline ``<style>`` element and, by
default, a script from its own host for tooltips; the console's CSP allows neither (no inline
style, no third-party script), and a nonce on a third party's markup is a workaround, not a
fix. These charts are plain shapes with class names, styled by ``console.css``; each has a
``<title>``, ``role="img"`` and its figures in a table beside it (the table is the accessible
form; the chart is the quick look).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

W, H = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36


def _svg(chart_id: str, title: str, body: str, height: int = H) -> Markup:
    # Every text in ``body`` and ``title`` went through escape(); the rest are numbers.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" aria-labelledby="{chart_id}-t" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{chart_id}-t">{escape(title)}</title>{body}</svg>')


def funnel(chart_id: str, title: str, labels: Sequence[str], values: Sequence[int]) -> Markup:
    """Horizontal bars, one per step, each as long as its figure."""
    row = 34
    height = TOP + row * len(values) + 8
    top = max(max(values, default=0), 1)
    label_w = 190
    span = W - label_w - 70
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + i * row
        width = span * value / top
        parts.append(
            f'<text class="lbl" x="{label_w - 8}" y="{y + 19}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="s{i % 6}" x="{label_w}" y="{y + 4}" width="{width:.1f}" height="{row - 10}"/>'
            f'<text class="val" x="{label_w + width + 6:.1f}" y="{y + 19}">{value}</text>')
    return _svg(chart_id, title, "".join(parts), height)


def _axis(days: Sequence[str], top: float, percent: bool) -> str:
    plot_h = H - TOP - BOTTOM
    parts = [f'<line class="axis" x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}"/>']
    for frac in (0.5, 1.0):
        y = H - BOTTOM - plot_h * frac
        label = f"{int(frac * 100)} %" if percent else f"{top * frac:g}"
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"/>'
                     f'<text class="lbl" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    if days:
        for i in sorted({0, len(days) // 2, len(days) - 1}):
            x = _x(i, len(days))
            parts.append(f'<text class="lbl" x="{x:.1f}" y="{H - BOTTOM + 18}" text-anchor="middle">'
                         f'{escape(days[i][8:10] + "/" + days[i][5:7])}</text>')
    return "".join(parts)


def _x(i: int, n: int) -> float:
    plot_w = W - LEFT - RIGHT
    return LEFT + plot_w * (i + 0.5) / max(n, 1)


def lines(chart_id: str, title: str, days: Sequence[str],
          series: Sequence[tuple[str, Sequence[float | None]]], *, percent: bool = False) -> Markup:
    """One line per series over the days (gaps where a figure is None), with a small legend."""
    plot_h = H - TOP - BOTTOM
    top = 1.0 if percent else max([v for _, vals in series for v in vals if v is not None] + [1])
    if not percent:
        top = float(_nice(top))
    parts = [_axis(days, top, percent)]
    for k, (name, values) in enumerate(series):
        points = [f"{_x(i, len(days)):.1f},{H - BOTTOM - plot_h * v / top:.1f}"
                  for i, v in enumerate(values) if v is not None]
        if points:
            parts.append(f'<polyline class="line s{k}" points="{" ".join(points)}"/>')
            parts.extend(f'<circle class="dot s{k}" cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5"/>'
                         for p in points)
        lx = LEFT + 8 + k * 190
        parts.append(f'<rect class="s{k}" x="{lx}" y="{TOP}" width="12" height="12"/>'
                     f'<text class="lbl" x="{lx + 18}" y="{TOP + 11}">{escape(name)}</text>')
    return _svg(chart_id, title, "".join(parts))


def _nice(value: float) -> int:
    """The next round number at or above ``value`` (1, 2, 5 × 10ⁿ) for the axis top."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10
