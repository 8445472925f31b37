"""ONNX's own quantization: QDQ (QuantizeLinear / DequantizeLinear around float ops) and the
QOperator ops whose arithmetic is integer (QLinearConv, QLinearMatMul, ConvInteger,
MatMulInteger), executed as the ONNX reference defines them.

    outputs, quant = HANDLERS["QLinearConv"](execution, node, inputs)

DequantizeLinear marks its float output as quantized (its integer input is the code), so a
Conv or MatMul between two of them becomes an integer layer (dot_layers.py). The QOperator ops
are integer layers themselves: their exact int32 accumulations are the recorded outputs.
"""
from __future__ import annotations

import numpy as np

from . import dot_layers, layer_record
from .node import Node
from .quantized import Quantized, int_width

_INT_RANGES = {np.dtype(np.uint8): (0, 255, 8, False), np.dtype(np.int8): (-128, 127, 8, True),
               np.dtype(np.uint16): (0, 65535, 16, False), np.dtype(np.int16): (-32768, 32767, 16, True),
               np.dtype(np.int32): (-(1 << 31), (1 << 31) - 1, 32, True)}


def _range(node: Node, a: np.ndarray, field: str):
    r = _INT_RANGES.get(a.dtype)
    if r is None:
        raise node.error(field, f"expected an integer tensor (uint8, int8, uint16, int16, int32), got {a.dtype}")
    return r


def _per_axis(node: Node, v, ndim: int, axis: int, field: str, size: int) -> np.ndarray:
    """A scale or zero point: a scalar, or 1-D along ``axis``, reshaped to broadcast."""
    v = np.asarray(v)
    if v.size == 1:
        return v.reshape(())
    if v.ndim != 1 or v.shape[0] != size:
        raise node.error(field, f"expected one value or {size} values along axis {axis}, got shape {list(v.shape)}")
    shape = [1] * ndim
    shape[axis] = size
    return v.reshape(shape)


def _axis(node: Node, x: np.ndarray) -> int:
    axis = int(node.attr("axis", 1))
    rank = max(x.ndim, 1)
    if not -rank <= axis < rank:
        raise node.error("axis", f"{axis} is outside [{-rank}, {rank - 1}] for an input of {x.ndim} dimensions")
    return axis % rank


def _positive_scale(node: Node, s, field: str):
    s = np.asarray(s)
    if s.dtype.kind != "f" or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise node.error(field, "scales must be positive finite floats")
    return s


def _quantize_linear(ex, node: Node, inputs: list):
    x = node.input(inputs, 0, "x")
    zp = inputs[2] if len(inputs) > 2 and inputs[2] is not None else np.uint8(0)
    lo, hi, _, _ = _range(node, np.asarray(zp), "y_zero_point")
    axis = _axis(node, x)
    size = x.shape[axis] if x.ndim else 1
    scale = _per_axis(node, _positive_scale(node, node.input(inputs, 1, "y_scale"), "y_scale"), x.ndim, axis,
                      "y_scale", size)
    zpb = _per_axis(node, zp, x.ndim, axis, "y_zero_point", size)
    y = np.rint(x / scale) + zpb.astype(np.float64)
    y = np.clip(y, lo, hi).astype(np.asarray(zp).dtype)
    return [y], None


def _dequantize_linear(ex, node: Node, inputs: list):
    x = node.input(inputs, 0, "x")
    lo, hi, bits, signed = _range(node, x, "x")
    zp = inputs[2] if len(inputs) > 2 and inputs[2] is not None else np.zeros((), x.dtype)
    axis = _axis(node, x)
    size = x.shape[axis] if x.ndim else 1
    scale = _per_axis(node, _positive_scale(node, node.input(inputs, 1, "x_scale"), "x_scale"), x.ndim, axis,
                      "x_scale", size)
    zpb = _per_axis(node, zp, x.ndim, axis, "x_zero_point", size)
    y = ((x.astype(np.int32) - zpb.astype(np.int32)).astype(np.float32) * scale).astype(scale.dtype)
    q = Quantized(x.astype(np.int64), scale.astype(np.float64), zpb.astype(np.int64), lo, hi, bits, signed,
                  "int", node.name)
    return [y], [q]


def _as_quantized(node: Node, a: np.ndarray, scale, zp, field: str, axis: int | None = None) -> Quantized:
    lo, hi, bits, signed = _range(node, a, field)
    zp = np.zeros((), a.dtype) if zp is None else np.asarray(zp)
    if zp.dtype != a.dtype:
        raise node.error(f"{field}_zero_point", f"dtype {zp.dtype} differs from {field}'s {a.dtype}")
    z = zp.astype(np.int64)
    s = np.float64(1.0) if scale is None else np.asarray(scale, dtype=np.float64)
    if axis is not None:
        z = _per_axis(node, z, a.ndim, axis, f"{field}_zero_point", a.shape[axis])
        s = _per_axis(node, s, a.ndim, axis, f"{field}_scale", a.shape[axis])
    elif z.size != 1:
        raise node.error(f"{field}_zero_point", "expected one value")
    return Quantized(a.astype(np.int64), s, z, lo, hi, bits, signed, "int", node.name)


def _requantize(node: Node, acc: np.ndarray, multiplier, y_zp) -> np.ndarray:
    """ONNX's reference: acc * (sx * sw / sy) + zy, clipped to the output type, rounded half to even."""
    lo, hi, _, _ = _range(node, np.asarray(y_zp), "y_zero_point")
    r = acc.astype(np.int32) * multiplier + np.asarray(y_zp).astype(np.float64)
    return np.rint(np.clip(r, lo, hi)).astype(np.asarray(y_zp).dtype)


def _conv_integer_core(ex, node: Node, x, w, xq: Quantized, wq: Quantized, bias):
    if x.ndim not in (3, 4) or w.ndim != x.ndim:
        raise node.error("x", f"only 1-D and 2-D convolutions are supported (input {list(x.shape)})")
    geo = dot_layers.conv_geometry(node, x.shape, w.shape)
    lifted = x.ndim == 3
    x2 = x[:, :, None, :] if lifted else x
    w2 = w[:, :, None, :] if lifted else w
    geo2 = dot_layers.lift_1d(x, w, geo)[2] if lifted else geo
    wz = Quantized.channel_values(wq.zero_point, w.shape, 0)
    xz = int(xq.scalar(xq.zero_point))
    xs = x2.astype(np.int64) - xz
    ws = w2.astype(np.int64) - wz.reshape(-1, *([1] * (w2.ndim - 1)))
    acc = dot_layers.conv2d(xs, ws, geo2, pad_value=0, dtype=np.int64)
    if bias is not None:
        if bias.shape != (w.shape[0],):
            raise node.error("B", f"expected shape [{w.shape[0]}], got {list(bias.shape)}")
        acc = acc + bias.astype(np.int64).reshape(1, -1, 1, 1)
    if ex.wants(node.name):
        rec = layer_record.conv(ex, node, xq, wq, geo2, lifted, None,
                                int_bias=None if bias is None else bias.astype(np.int64))
        if rec is not None and not np.array_equal(rec.output, acc):
            raise node.error("check", "the recorded integer layer differs from the op's result (internal error)")
        if rec is not None and ex.loop is not None:
            acc = ex.loop.values(rec)
    return acc[:, :, 0, :] if lifted else acc


def _conv_integer(ex, node: Node, inputs: list):
    x, w = node.input(inputs, 0, "x"), node.input(inputs, 1, "w")
    xq = _as_quantized(node, x, None, inputs[2] if len(inputs) > 2 else None, "x")
    wq = _as_quantized(node, w, None, inputs[3] if len(inputs) > 3 else None, "w", axis=0)
    acc = _conv_integer_core(ex, node, x, w, xq, wq, None)
    return [acc.astype(np.int32)], None


def _qlinear_conv(ex, node: Node, inputs: list):
    x, w = node.input(inputs, 0, "x"), node.input(inputs, 3, "w")
    xs = _positive_scale(node, node.input(inputs, 1, "x_scale"), "x_scale")
    ws = _positive_scale(node, node.input(inputs, 4, "w_scale"), "w_scale")
    ys = _positive_scale(node, node.input(inputs, 6, "y_scale"), "y_scale")
    xq = _as_quantized(node, x, xs, node.input(inputs, 2, "x_zero_point"), "x")
    wq = _as_quantized(node, w, ws, node.input(inputs, 5, "w_zero_point"), "w", axis=0)
    y_zp = node.input(inputs, 7, "y_zero_point")
    bias = inputs[8] if len(inputs) > 8 else None
    if bias is not None and bias.dtype != np.int32:
        raise node.error("B", f"expected int32, got {bias.dtype}")
    acc = _conv_integer_core(ex, node, x, w, xq, wq, bias)
    w_scale = np.asarray(ws)
    chan = (1, -1) + (1,) * (acc.ndim - 2)
    multiplier = (xs * w_scale / ys).reshape(chan) if w_scale.size > 1 else xs * w_scale / ys
    return [_requantize(node, acc, multiplier, y_zp)], None


def _shifted(q: Quantized, zero_points: np.ndarray) -> Quantized:
    """Codes minus their (per-row or per-column) zero points, declared as wide as that needs."""
    lo, hi = q.lo - int(zero_points.max()), q.hi - int(zero_points.min())
    bits, signed = int_width(lo, hi)
    return Quantized(q.codes - zero_points, q.scale, np.int64(0), lo, hi, bits, signed, "int", q.origin)


def _matmul_integer_core(ex, node: Node, a, b, aq: Quantized, bq: Quantized):
    if a.ndim < 1 or b.ndim < 1 or a.shape[-1] != (b.shape[0] if b.ndim == 1 else b.shape[-2]):
        raise node.error("B", f"shapes {list(a.shape)} and {list(b.shape)} do not multiply")
    a_zp = np.asarray(aq.zero_point)
    b_zp = np.asarray(bq.zero_point)
    a_rows = a_zp.reshape(-1, 1) if a_zp.size > 1 else a_zp
    acc = np.matmul(a.astype(np.int64) - a_rows, b.astype(np.int64) - b_zp)
    if ex.wants(node.name):
        rec = None
        if b.ndim == 2 and ex.is_constant(node.inputs[1]) and a_zp.size == 1:
            rec = layer_record.linear(ex, node, aq, bq, "KN", None)
        elif a.ndim >= 2 and b.ndim >= 2:
            # Per-row (a) and per-column (b) zero points are subtracted from the codes: the layer
            # multiplies a - za by b - zb exactly as the op does.
            if a_zp.size > 1:
                aq = _shifted(aq, a_rows)
            if b_zp.size > 1:
                bq = _shifted(bq, b_zp)
            rec = layer_record.matmul(ex, node, aq, bq, None)
        else:
            ex.note(f"{node.where}: left out: a 1-D operand")
        if rec is not None and not np.array_equal(rec.output, acc):
            raise node.error("check", "the recorded integer layer differs from the op's result (internal error)")
        if rec is not None and ex.loop is not None:
            acc = ex.loop.values(rec).reshape(acc.shape)
    return acc


def _matmul_integer(ex, node: Node, inputs: list):
    a, b = node.input(inputs, 0, "A"), node.input(inputs, 1, "B")
    aq = _as_quantized(node, a, None, inputs[2] if len(inputs) > 2 else None, "a",
                       axis=a.ndim - 2 if len(inputs) > 2 and inputs[2] is not None and np.size(inputs[2]) > 1 else None)
    if aq.zero_point.ndim:
        aq.zero_point = aq.zero_point.reshape(-1)
    bq = _as_quantized(node, b, None, inputs[3] if len(inputs) > 3 else None, "b",
                       axis=b.ndim - 1 if len(inputs) > 3 and inputs[3] is not None and np.size(inputs[3]) > 1 else None)
    return [_matmul_integer_core(ex, node, a, b, aq, bq).astype(np.int32)], None


def _qlinear_matmul(ex, node: Node, inputs: list):
    a, b = node.input(inputs, 0, "a"), node.input(inputs, 3, "b")
    a_s = _positive_scale(node, node.input(inputs, 1, "a_scale"), "a_scale")
    b_s = _positive_scale(node, node.input(inputs, 4, "b_scale"), "b_scale")
    y_s = _positive_scale(node, node.input(inputs, 6, "y_scale"), "y_scale")
    a_zp = node.input(inputs, 2, "a_zero_point")
    per_row = np.size(a_s) > 1 or np.size(a_zp) > 1     # ONNX allows per-row a (scale and zero point)
    aq = _as_quantized(node, a, a_s, a_zp, "a", axis=a.ndim - 2 if per_row and a.ndim >= 2 else None)
    if aq.zero_point.ndim:
        aq.zero_point = aq.zero_point.reshape(-1)
    b_axis = b.ndim - 1 if np.size(inputs[4]) > 1 or np.size(inputs[5]) > 1 else None
    bq = _as_quantized(node, b, b_s, node.input(inputs, 5, "b_zero_point"), "b", axis=b_axis)
    acc = _matmul_integer_core(ex, node, a, b, aq, bq)
    a_rows = np.asarray(a_s).reshape(-1, 1) if np.size(a_s) > 1 else np.asarray(a_s)
    multiplier = a_rows * np.asarray(b_s) / y_s
    return [_requantize(node, acc, multiplier, node.input(inputs, 7, "y_zero_point"))], None


HANDLERS = {"QuantizeLinear": _quantize_linear, "DequantizeLinear": _dequantize_linear,
            "QLinearConv": _qlinear_conv, "ConvInteger": _conv_integer,
            "QLinearMatMul": _qlinear_matmul, "MatMulInteger": _matmul_integer}
