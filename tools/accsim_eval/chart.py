"""Self-contained SVG charts for eval.html and eval.svg (no scripts, no external files).

    svg = line_chart(series=[("wrap", [(10, 0.1), (12, 0.8)]), ...],
                     baselines=[("float", 0.91), ("quantized", 0.909)],
                     x_label="accumulator width (bits)", y_label="top1", title="fashion-mnist")

Lines are drawn in the order given, each with its markers and a legend entry; baselines are
dashed horizontal lines across the plot. A metric spanning more than a factor 20 (perplexity
at narrow widths) gets a logarithmic y axis.
"""
import math
from html import escape

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
BASELINE_COLOURS = ["#555555", "#999999"]


def _nice_ticks(lo, hi, count=5):
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _fmt(v):
    return f"{v:.4g}"


def line_chart(series, baselines=(), *, x_label, y_label, title, width=720, height=420):
    pts = [y for _, line in series for _, y in line if y is not None and math.isfinite(y)]
    pts += [y for _, y in baselines if y is not None and math.isfinite(y)]
    xs = sorted({x for _, line in series for x, _ in line})
    if not pts or not xs:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60">'
                f'<text x="10" y="30">{escape(title)}: nothing to plot</text></svg>')
    log_y = min(pts) > 0 and max(pts) / min(pts) > 20
    f = math.log10 if log_y else (lambda v: v)
    lo, hi = f(min(pts)), f(max(pts))
    pad = (hi - lo) * 0.06 or 0.05
    lo, hi = lo - pad, hi + pad
    left, right, top, bottom = 70, 190, 40, 55
    pw, ph = width - left - right, height - top - bottom
    x_lo, x_hi = xs[0], xs[-1]
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1

    def px(x):
        return left + (x - x_lo) / (x_hi - x_lo) * pw

    def py(y):
        return top + (hi - f(y)) / (hi - lo) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>']
    if log_y:
        ticks = [t for t in range(math.floor(lo), math.ceil(hi) + 1)]
        yticks = [(10 ** t, t) for t in ticks if lo <= t <= hi]
    else:
        yticks = [(t, t) for t in _nice_ticks(lo, hi) if lo <= t <= hi]
    for value, pos in yticks:
        y = top + (hi - pos) / (hi - lo) * ph
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
    for x in xs:
        out.append(f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{top + ph}" y2="{top + ph + 5}" stroke="#333"/>')
        out.append(f'<text x="{px(x):.1f}" y="{top + ph + 18}" text-anchor="middle">{x}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text x="16" y="{top + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {top + ph / 2})">{escape(y_label)}{" (log scale)" if log_y else ""}</text>')
    legend_y = top + 8
    for i, (name, y) in enumerate(baselines):
        if y is None or not math.isfinite(y):
            continue
        c = BASELINE_COLOURS[i % len(BASELINE_COLOURS)]
        out.append(f'<line class="baseline" x1="{left}" x2="{left + pw}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
                   f'stroke="{c}" stroke-dasharray="6 4"/>')
        out.append(f'<line x1="{left + pw + 12}" x2="{left + pw + 36}" y1="{legend_y}" y2="{legend_y}" '
                   f'stroke="{c}" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{left + pw + 42}" y="{legend_y + 4}">{escape(name)} ({_fmt(y)})</text>')
        legend_y += 18
    for i, (name, line) in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        line = sorted((x, y) for x, y in line if y is not None and math.isfinite(y))
        if len(line) > 1:
            path = " ".join(f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for j, (x, y) in enumerate(line))
            out.append(f'<path class="series" d="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y in line:
            out.append(f'<circle class="point" cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{c}">'
                       f'<title>{escape(name)}: {x} bits, {_fmt(y)}</title></circle>')
        out.append(f'<line x1="{left + pw + 12}" x2="{left + pw + 36}" y1="{legend_y}" y2="{legend_y}" '
                   f'stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 42}" y="{legend_y + 4}">{escape(name[:22])}</text>')
        legend_y += 18
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(rows, *, value_label, title, width=720):
    """Horizontal bars: rows [(label, value)], values >= 0 (e.g. metric lost per layer)."""
    bar_h, left, top = 18, 200, 36
    height = top + bar_h * len(rows) + 40
    vmax = max([v for _, v in rows if v is not None and math.isfinite(v)] + [1e-12])
    pw = width - left - 90
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="22" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, (label, v) in enumerate(rows):
        y = top + i * bar_h
        w = 0 if v is None or not math.isfinite(v) else max(v, 0) / vmax * pw
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(label[:30])}</text>')
        out.append(f'<rect class="bar" x="{left}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 4}" fill="#d62728"/>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 13}">{"-" if v is None else _fmt(v)}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">{escape(value_label)}</text>')
    out.append("</svg>")
    return "\n".join(out)
