"""Writing an evaluation: eval.json (everything), eval.csv (one row per point), eval.svg (the
curve) and eval.html (one self-contained page: the curve, the per-layer chart and the tables).

    write_outputs(result, "out/fashion")   # result = evaluate(...)
"""
import csv
import json
import math
import os
from html import escape

from .chart import bar_chart, line_chart
from .specs import family_label

CSV_COLUMNS = ["acc", "weights", "width", "family", "metric", "delta", "events", "outputs_corrupted", "outputs",
               "seconds"]


def curve_svg(result) -> str:
    series = {}
    for p in result["points"]:
        label = family_label(p["family"], p["weights"], p.get("modes_merged", False))
        series.setdefault(label, []).append((p["width"], p["metric"]))
    base = result["baseline"]
    title = f"{result['task']}: {result['metric']} against accumulator width"
    return line_chart(list(series.items()),
                      [("float", base["float"]), ("quantized", base["quantized"])],
                      x_label="accumulator width (bits; the first stage's register)",
                      y_label=result["metric"], title=title)


def layer_svg(result) -> str | None:
    per = result.get("per_layer")
    if not per or not per["layers"]:
        return None
    sign = -1 if result["higher_is_better"] else 1
    rows = [(r["layer"], None if r["delta"] is None else max(sign * r["delta"], 0.0) + 0.0) for r in per["layers"]]
    return bar_chart(rows, value_label=f"{result['metric']} lost when only this layer runs on {per['acc']}",
                     title=f"which layer's overflow costs most ({per['acc']}, every other layer exact)")


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def write_csv(result, path):
    extras = sorted({k for p in result["points"] for k in p.get("extra", {})})
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS + extras)
        for p in result["points"]:
            w.writerow([_cell(p[c]) for c in CSV_COLUMNS] + [_cell(p["extra"].get(k)) for k in extras])


def _table(headers, rows):
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _inline(svg: str) -> str:
    """An SVG for inside HTML, which needs no namespace (the page names no web address)."""
    return svg.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)


def html_page(result) -> str:
    base = result["baseline"]
    q = result["quantization"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>accsim-eval: {escape(result['task'])}</title>",
        "<style>body{font-family:sans-serif;margin:24px;max-width:1000px}"
        "table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}</style></head><body>",
        f"<h1>{escape(result['task'])}: {escape(result['metric'])} against the accumulator</h1>",
        f"<p>{escape(result.get('description') or '')}</p>",
        f"<p>W{q['weight_bits']}A{q['act_bits']}, {len(q['layers'])} quantized layers, "
        f"{result['examples']} examples; {escape(result['metric'])} "
        f"({'higher' if result['higher_is_better'] else 'lower'} is better): float {_cell(base['float'])}, "
        f"quantized with exact integer sums {_cell(base['quantized'])}. Every quantized layer's dot products "
        f"ran through accsim's accumulator; overflowed sums travel on through the network.</p>",
        f"<figure id='curve'>{_inline(curve_svg(result))}</figure>",
    ]
    bars = layer_svg(result)
    if bars:
        parts.append(f"<figure id='layers'>{_inline(bars)}</figure>")
    rows = [[p["acc"], p["weights"], p["metric"], p["delta"], p["outputs_corrupted"], p["outputs"], p["events"],
             p["seconds"]] for p in result["points"]]
    parts.append("<h2>Points</h2>" + _table(
        ["accumulator", "weights", result["metric"], "vs quantized", "outputs corrupted", "outputs", "events",
         "seconds"], rows))
    per = result.get("per_layer")
    if per and per["layers"]:
        rows = [[r["layer"], r["op"], r["metric"], r["delta"], r["outputs_corrupted"], r["outputs"], r["events"]]
                for r in per["layers"]]
        parts.append(f"<h2>One layer at a time on {escape(per['acc'])}</h2>" + _table(
            ["layer", "op", result["metric"], "vs quantized", "outputs corrupted", "outputs", "events"], rows))
    parts.append(f"<p>accsim {escape(result['accsim_version'])}, {result['seconds']} s in all.</p></body></html>")
    return "\n".join(parts)


def write_outputs(result, out_dir) -> dict:
    """Writes the four files; returns their paths by name."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, f"eval.{name}") for name in ("json", "csv", "svg", "html")}
    with open(paths["json"], "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    write_csv(result, paths["csv"])
    with open(paths["svg"], "w") as f:
        f.write(curve_svg(result) + "\n")
    with open(paths["html"], "w") as f:
        f.write(html_page(result))
    return paths
