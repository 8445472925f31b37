"""QONNX / ONNX QDQ / QOperator models to accsim traces.

    from accsim_import import import_model
    result = import_model("TFC_2W2A.onnx", ["digit.npy"], out="tfc.trace")
    result.layers      # [LayerRecord]: integer operands, exact outputs, check, FINN width
    result.notes       # dot products left out (float first layers, ...) and why
    result.outputs     # the graph's outputs from the float execution

Nothing is written unless every step succeeds; bad input raises ImportInputError.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .execute import execute
from .graph import load_graph
from .inputs import gather_inputs
from .layer_record import LayerRecord
from .node import ImportInputError
from .trace_math import TraceWriter


@dataclass
class ImportResult:
    model: str
    layers: list
    notes: list
    outputs: dict
    values: dict
    trace: str | None
    execution: object = None        # the Execution (graph, layers, notes) a later write_trace takes


def run_model(model: str, inputs: list, layers: str | None = None, strict_shape: bool = True, loop=None):
    """Executes ``model`` on ``inputs``; returns the Execution (values, layers, notes). ``loop``:
    an accumulator (loop.AccumulatorLoop) computing every integer layer."""
    graph = load_graph(model)
    if layers is not None:
        import re
        try:
            re.compile(layers)
        except re.error as exc:
            raise ImportInputError(f"--layers: not a regular expression: {exc}") from None
    feeds = gather_inputs(graph, inputs, strict_shape=strict_shape)
    return execute(graph, feeds, layers, loop)


def import_model(model, inputs, out=None, layers: str | None = None, name: str | None = None) -> ImportResult:
    model = os.fspath(model)
    ex = run_model(model, list(inputs) if not isinstance(inputs, (str, os.PathLike, np.ndarray)) else [inputs],
                   layers)
    if not ex.layers and layers is not None and ex.unselected:
        raise ImportInputError(f'--layers: "{layers}" matches none of the dot products '
                               f"({', '.join(ex.unselected[:8])}{', ...' if len(ex.unselected) > 8 else ''})")
    if not ex.layers:
        why = "; ".join(ex.notes) if ex.notes else "no quantized MatMul, Gemm or Conv"
        raise ImportInputError(f"model: no integer layer to record ({why})")
    outputs = {n: ex.values[n] for n in ex.graph.outputs}
    result = ImportResult(model, ex.layers, ex.notes, outputs, ex.values, None, ex)
    if out is not None:
        result.trace = write_trace(out, ex, model, name)
    return result


def write_trace(out, ex, model: str, name: str | None) -> str:
    base = os.path.splitext(os.path.basename(model))[0]
    meta = {"importer": "accsim-import", "onnx_file": os.path.basename(model),
            "producer": ex.graph.producer, "opsets": {k or "ai.onnx": v for k, v in ex.graph.opsets.items()},
            "left_out": list(ex.notes)}
    writer = TraceWriter(os.fspath(out), model=name or base,
                         source=f"{os.path.basename(model)} imported by accsim-import (numpy execution)", meta=meta)
    seen = set()
    for rec in ex.layers:
        layer_name = rec.name
        k = 1
        while layer_name in seen:
            k += 1
            layer_name = f"{rec.name}_{k}"
        seen.add(layer_name)
        _add(writer, layer_name, rec)
    try:
        return writer.close()
    except ValueError as exc:
        raise ImportInputError(f"trace: {exc}") from None
    except OSError as exc:
        raise ImportInputError(f"--out: cannot write {os.fspath(out)}: {exc.strerror}") from None


def _bias_bits(bias) -> int:
    if bias is None:
        return 32
    m = int(max(abs(int(bias.min())), abs(int(bias.max())) + 1))
    return 32 if m <= (1 << 31) else 64


def _operand_kwargs(prefix: str, op) -> dict:
    kw = {}
    if op.format is not None:
        kw[f"{prefix}_format"] = op.format
    else:
        kw[f"{prefix}_bits"], kw[f"{prefix}_signed"] = op.bits, op.signed
        if prefix in ("input", "lhs") and op.zero_point:
            kw[f"{prefix}_zero_point"] = op.zero_point
    if op.scale is not None:
        s = np.asarray(op.scale, dtype=np.float32)
        kw[f"{prefix}_scale"] = float(s.reshape(())) if s.size == 1 else s
    return kw


def _declare_range(entry: dict, op) -> None:
    """Records a quantizer's narrower range (narrow, bipolar) when it holds 0: accsim's exact
    bound then lets the operand take only those values."""
    if op.format is not None or op.range is None:
        return
    lo, hi = (-(1 << (op.bits - 1)), (1 << (op.bits - 1)) - 1) if op.signed else (0, (1 << op.bits) - 1)
    r_lo, r_hi = max(int(op.range[0]), lo), min(int(op.range[1]), hi)
    if (r_lo, r_hi) != (lo, hi) and r_lo <= 0 <= r_hi:
        entry["range"] = [r_lo, r_hi]


def _add(writer, name: str, rec: LayerRecord) -> None:
    entry = _write_layer(writer, name, rec)
    roles = ("lhs", "rhs") if rec.op == "matmul" else ("input", "weight")
    _declare_range(entry[roles[0]], rec.a)
    _declare_range(entry[roles[1]], rec.b)


def _write_layer(writer, name: str, rec: LayerRecord) -> dict:
    try:
        if rec.op == "matmul":
            return writer.matmul(name, rec.a.codes, rec.b.codes, **_operand_kwargs("lhs", rec.a),
                          **_operand_kwargs("rhs", rec.b), bias=rec.bias, bias_bits=_bias_bits(rec.bias),
                          output=rec.output, meta=rec.meta)
        elif rec.op == "linear":
            return writer.linear(name, rec.a.codes, rec.b.codes, **_operand_kwargs("input", rec.a),
                          **_operand_kwargs("weight", rec.b), bias=rec.bias, bias_bits=_bias_bits(rec.bias),
                          output=rec.output, meta=rec.meta)
        else:
            p = rec.conv2d
            return writer.conv2d(name, rec.a.codes, rec.b.codes, **_operand_kwargs("input", rec.a),
                          **_operand_kwargs("weight", rec.b), bias=rec.bias, bias_bits=_bias_bits(rec.bias),
                          output=rec.output, stride=p["stride"], padding=p["padding"], dilation=p["dilation"],
                          groups=p["groups"], meta=rec.meta)
    except ValueError as exc:
        raise ImportInputError(f"layer {name}: {exc}") from None


def _output_metrics(exact: np.ndarray, looped: np.ndarray) -> dict:
    """How far the looped output is from the exact one: max |difference|, PSNR (peak: the exact
    output's range), and for [rows, classes] outputs the share of rows whose argmax agrees."""
    a, b = np.asarray(exact, dtype=np.float64), np.asarray(looped, dtype=np.float64)
    diff = np.abs(a - b)
    m = {"max_abs_diff": float(diff.max()) if diff.size else 0.0}
    peak = float(a.max() - a.min()) if a.size else 0.0
    mse = float(np.mean(diff ** 2)) if diff.size else 0.0
    m["psnr_db"] = None if peak == 0 else (float("inf") if mse == 0 else float(10 * np.log10(peak ** 2 / mse)))
    if a.ndim == 2 and a.shape[1] > 1:
        m["argmax_agreement"] = float(np.mean(np.argmax(a, axis=1) == np.argmax(b, axis=1)))
    return m


def evaluate_in_loop(model, inputs, grid: list, layers: str | None = None, threads: int = 0) -> dict:
    """The model's outputs with each accumulator of ``grid`` (the --acc shorthand) computing every
    integer layer, against the exact integer layers: {"output": name, "points": [{"acc",
    "events", "outputs_corrupted", "layers", "max_abs_diff", "psnr_db", "argmax_agreement"?}]}."""
    from .loop import AccumulatorLoop

    loops = [AccumulatorLoop(spec, threads) for spec in grid]  # bad specs fail before any work
    model = os.fspath(model)
    items = list(inputs) if not isinstance(inputs, (str, os.PathLike, np.ndarray)) else [inputs]
    exact = run_model(model, items, layers)
    name = exact.graph.outputs[0]
    points = []
    for loop in loops:
        ex = run_model(model, items, layers, loop=loop)
        point = {"acc": loop.acc, **loop.totals, "layers": loop.layers}
        point.update(_output_metrics(exact.values[name], ex.values[name]))
        if loop.skipped:
            point["exact_fp8_layers"] = sorted(set(loop.skipped))
        points.append(point)
    return {"output": name, "points": points}
