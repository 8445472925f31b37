"""A quantized dot product as a trace layer: integer (or FP8) operands, folded bias, exact
outputs, the check against the float execution, and FINN's accumulator width beside it.

    layer_record.linear(ex, node, qa, qb, b_layout="KN", float_out=y)   # appends to ex.layers

Scale x integer result must reproduce the float execution within the float rounding bound
of the graph's dtype: |float - scale * integer| <= (K + 4) * u * sum_i |x_i * w_i| (+ the same
for a float bias), u = 2^-24 for float32. That is the worst case of K float additions in any
order plus the rounding of each dequantized operand and product; a larger difference means the
integer layer is not what the graph computes, and the import stops with an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import finn_width
from .node import ImportInputError, Node
from .quantized import Quantized, int_width
from .trace_math import exact_conv2d_values, exact_linear_values, exact_matmul_values
from . import trace_math

_EXACT = "exact: the op computes this integer result itself"
_UNIT_ROUNDOFF = {np.dtype(np.float32): 2.0 ** -24, np.dtype(np.float64): 2.0 ** -53,
                  np.dtype(np.float16): 2.0 ** -11}


@dataclass
class Operand:
    codes: np.ndarray
    bits: int | None = None          # integer operands
    signed: bool | None = None
    zero_point: int = 0
    scale: object = None             # float or per-channel array
    format: str | None = None        # FP8 operands
    range: tuple | None = None       # the values the quantizer can emit, when narrower than bits


@dataclass
class LayerRecord:
    name: str
    op: str                          # linear | conv2d | matmul
    a: Operand                       # input (lhs)
    b: Operand                       # weight (rhs)
    bias: np.ndarray | None
    output: np.ndarray
    conv2d: dict | None = None
    meta: dict = field(default_factory=dict)
    acc_scale: object = None         # real value of one accumulator unit, broadcastable to output
    float_bias: object = None        # a float bias added after the accumulator, broadcastable


# -- exact integer arithmetic -------------------------------------------------------------
# Integer dot products whose every partial sum stays below 2^53 in magnitude are exact in
# float64, where BLAS is tens of times faster than numpy's int64 loops; others take int64.

def _largest(a) -> int:
    return int(np.abs(np.asarray(a)).max(initial=0))


def _fits_float64(a_max: int, b_max: int, k: int) -> bool:
    return max(a_max, 1) * max(b_max, 1) * max(k, 1) < (1 << 53)


def _with_bias(y: np.ndarray, bias, axis: int) -> np.ndarray:
    if bias is None:
        return y
    shape = [1] * y.ndim
    shape[axis] = -1
    return y + np.asarray(bias, dtype=np.int64).reshape(shape)


def int_linear(x, w, bias=None):
    if _fits_float64(_largest(x), _largest(w), w.shape[1]):
        y = np.rint(np.matmul(x.astype(np.float64), w.astype(np.float64).T)).astype(np.int64)
        return _with_bias(y, bias, -1)
    return trace_math.ref_linear(x, w, bias)


def int_matmul(a, b, bias=None):
    if _fits_float64(_largest(a), _largest(b), a.shape[-1]):
        y = np.rint(np.matmul(a.astype(np.float64), b.astype(np.float64))).astype(np.int64)
        return _with_bias(y, bias, -1)
    return trace_math.ref_matmul(a, b, bias)


def int_conv2d(x, w, bias=None, pad_value=0, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    k = int(np.prod(w.shape[1:]))
    if _fits_float64(max(_largest(x), abs(int(pad_value))), _largest(w), k):
        from .dot_layers import conv2d
        geo = {"strides": list(stride), "pads": list(padding), "dilations": list(dilation), "groups": groups}
        y = np.rint(conv2d(x.astype(np.float64), w.astype(np.float64), geo, pad_value=float(pad_value),
                           dtype=np.float64)).astype(np.int64)
        return _with_bias(y, bias, 1)
    return trace_math.ref_conv2d(x, w, bias, stride=stride, padding=padding, dilation=dilation, groups=groups,
                                 pad_value=pad_value)


# -- operands -----------------------------------------------------------------------------

def _operand_width(node: Node, q: Quantized, lo: int, hi: int, role: str) -> tuple[int, bool]:
    """The declaration of codes in [lo, hi]: the quantizer's own where they are its codes
    unshifted, else the narrowest width holding them (a subtracted zero point, bipolar +-1)."""
    if q.kind == "int" and (lo, hi) == (q.lo, q.hi):
        bits, signed = q.bits, q.signed
    else:
        bits, signed = int_width(lo, hi)
    if bits > 16:
        raise _too_wide(node, q, bits, role)
    return bits, signed


def _abs(bias) -> np.ndarray:
    """|integer bias| for the check's bound (0 without one)."""
    return np.float64(0) if bias is None else np.abs(np.asarray(bias, dtype=np.float64))


def _shifted(q: Quantized, zero_points: np.ndarray) -> tuple:
    """The range of weight codes after their zero points are subtracted."""
    return q.lo - int(zero_points.max()), q.hi - int(zero_points.min())


def _too_wide(node: Node, q: Quantized, bits: int, role: str) -> ImportInputError:
    return ImportInputError(f'node "{q.origin}": bitwidth: the {role} of {node.where} needs {bits} bits, '
                            "above 16, the widest operand accsim replays")


def _int_zero_point(ex, node: Node, q: Quantized, values, what: str):
    """Integer zero points, or None with a note."""
    z = np.asarray(values)
    if z.dtype.kind == "f":
        if not np.all(z == np.round(z)):
            ex.note(f"{node.where}: left out: the {what} zero point is not an integer")
            return None
        z = z.astype(np.int64)
    return z


def _activation(ex, node: Node, q: Quantized, role: str, integer_op: bool = False):
    """(codes, zero point, scale) of a per-tensor-quantized activation, or None with a note. An
    integer op's scales only label the operand (they are not part of its arithmetic): one that
    varies (per row) is then dropped (None) rather than the layer."""
    s, z = q.scalar(q.scale), q.scalar(q.zero_point)
    if s is None and integer_op and z is not None:
        return q.codes, int(z), None
    if s is None or z is None:
        ex.note(f"{node.where}: left out: the {role} is not quantized per tensor")
        return None
    z = _int_zero_point(ex, node, q, z, role)
    if z is None:
        return None
    return q.codes, int(z), float(s)


def _check(node: Node, pred: np.ndarray, float_out: np.ndarray, magnitude: np.ndarray, k: int) -> dict:
    u = _UNIT_ROUNDOFF.get(np.asarray(float_out).dtype, 2.0 ** -24)
    tol = (k + 4) * u * magnitude + 1e-30
    err = np.abs(np.asarray(float_out, dtype=np.float64) - pred)
    bad = err > tol
    if np.any(bad):
        i = np.unravel_index(int(np.argmax(np.where(bad, err - tol, -np.inf))), err.shape)
        raise ImportInputError(
            f"{node.where}: check: scale x integer result {pred[i]:.9g} differs from the float execution "
            f"{float(np.asarray(float_out)[i]):.9g} at index {list(map(int, i))} by {err[i]:.3g}, beyond the "
            f"float rounding bound {tol[i]:.3g}")
    ratio = float(np.max(err / tol)) if err.size else 0.0
    return {"max_abs_error": float(err.max()) if err.size else 0.0, "bound": f"(K + 4) * {u:g} * sum|x*w|",
            "max_error_over_bound": round(ratio, 6)}


def _integer_bias(ex, node: Node, bias_q: Quantized | None, acc_scale: np.ndarray, channels: int):
    """The bias as integers at accumulator scale when it is quantized exactly there, else None."""
    if bias_q is None or bias_q.kind != "int":
        return None
    s = Quantized.channel_values(bias_q.scale, bias_q.codes.shape, -1) if bias_q.codes.ndim else \
        np.full(channels, float(np.asarray(bias_q.scale).reshape(-1)[0]))
    z = bias_q.scalar(bias_q.zero_point)
    shape = bias_q.codes.shape
    if s is None or z not in (0, 0.0) or not shape or shape[-1] != channels or any(d != 1 for d in shape[:-1]):
        return None  # one value per output channel only (a per-row C is not a channel bias)
    if not np.allclose(np.broadcast_to(s, (channels,)), acc_scale, rtol=1e-6, atol=0):
        return None
    return bias_q.codes.reshape(-1).astype(np.int64)


def _finn(weight_2d: np.ndarray, qx: Quantized, zx: int, depthwise: bool) -> dict:
    if zx != 0:
        return {"skipped": "FINN's MVAU has no input zero point"}
    lo, hi = finn_width.datatype_range(qx.bits, qx.signed, bipolar=qx.kind == "bipolar")
    return finn_width.finn_accumulator_width(weight_2d, lo, hi, depthwise=depthwise)


def _base_meta(node: Node, qa: Quantized, qb: Quantized) -> dict:
    return {"onnx_node": node.name, "onnx_op": node.op_type,
            "quantizers": [qa.origin, qb.origin], "kinds": [qa.kind, qb.kind]}


# -- layers -------------------------------------------------------------------------------

def linear(ex, node: Node, qa: Quantized, qb: Quantized, b_layout: str, float_out: np.ndarray,
           alpha: float = 1.0, float_bias=None, bias_q: Quantized | None = None, int_bias=None) -> LayerRecord | None:
    """Appends the layer (and returns its record), or notes why not. ``float_out`` None: an
    integer op (MatMulInteger, QLinearMatMul) whose own result is the exact one; ``int_bias``
    its integer bias."""
    act = _activation(ex, node, qa, "input", integer_op=float_out is None)
    if act is None:
        return
    x, zx, sx = act
    b_codes = qb.codes
    n_axis = 1 if b_layout == "KN" else 0
    sw = Quantized.channel_values(qb.scale, b_codes.shape, n_axis)
    zw = Quantized.channel_values(qb.zero_point, b_codes.shape, n_axis)
    if sw is None or zw is None:
        ex.note(f"{node.where}: left out: the weight's scale or zero point varies along the dot product")
        return
    zw = _int_zero_point(ex, node, qb, zw, "weight")
    if zw is None:
        return
    w = b_codes.T if b_layout == "KN" else b_codes          # [N, K]
    n, k = w.shape
    acc_scale = None if sx is None else alpha * sx * sw
    meta = _base_meta(node, qa, qb)
    if qa.is_float:
        out = exact_linear_values(x, w)
        pred = out * acc_scale
        magnitude = exact_linear_values(np.abs(x), np.abs(w)) * np.abs(acc_scale)
        if float_bias is not None:
            pred, magnitude = pred + float_bias, magnitude + np.abs(float_bias)
            meta["float_bias"] = "added after the accumulator, in float (not part of the datapath)"
        meta["check"] = _check(node, pred, float_out, magnitude, k)
        a = Operand(x, scale=sx, format=qa.kind)
        b = Operand(w, scale=alpha * sw, format=qb.kind)
        record = LayerRecord(node.name, "linear", a, b, None, out, meta=meta)
        ex.add_layer(record)
        return record
    w = w.astype(np.int64) - zw[:, None]
    x_bits, x_signed = _operand_width(node, qa, qa.lo, qa.hi, "input")
    w_bits, w_signed = _operand_width(node, qb, qb.lo - int(zw.max()), qb.hi - int(zw.min()), "weight")
    bias = -zx * w.sum(axis=1) if zx else None
    if int_bias is None:
        int_bias = _integer_bias(ex, node, bias_q, acc_scale, n)
    if int_bias is not None:
        bias = int_bias if bias is None else bias + int_bias
    acc = int_linear(x, w, bias)
    pred = acc * acc_scale if float_out is not None else None
    magnitude = None if float_out is None else \
        (int_linear(np.abs(x - zx), np.abs(w)).astype(np.float64) + _abs(int_bias)) * np.abs(acc_scale)
    if int_bias is None and float_bias is not None and float_out is not None:
        pred, magnitude = pred + float_bias, magnitude + np.abs(float_bias)
        meta["float_bias"] = "added after the accumulator, in float (not part of the datapath)"
    meta["check"] = _check(node, pred, float_out, magnitude, k) if float_out is not None else _EXACT
    meta["finn_accumulator"] = _finn(w, qa, zx, False)
    record = LayerRecord(node.name, "linear", Operand(x, x_bits, x_signed, zx, sx, range=(qa.lo, qa.hi)),
                         Operand(w, w_bits, w_signed, 0, alpha * sw, range=_shifted(qb, zw)), bias, acc, meta=meta,
                         acc_scale=acc_scale, float_bias=None if int_bias is not None else float_bias)
    ex.add_layer(record)
    return record


def matmul(ex, node: Node, qa: Quantized, qb: Quantized, float_out: np.ndarray | None) -> LayerRecord | None:
    integer_op = float_out is None
    lhs = _activation(ex, node, qa, "left operand", integer_op)
    rhs = _activation(ex, node, qb, "right operand", integer_op)
    if lhs is None or rhs is None:
        return
    (a, za, sa), (b, zb, sb) = lhs, rhs
    meta = _base_meta(node, qa, qb)
    k = a.shape[-1]
    if qa.is_float:
        out = exact_matmul_values(a, b)
        pred = out * (sa * sb)
        magnitude = exact_matmul_values(np.abs(a), np.abs(b)) * abs(sa * sb)
        meta["check"] = _check(node, pred, float_out, magnitude, k)
        record = LayerRecord(node.name, "matmul", Operand(a, scale=sa, format=qa.kind),
                             Operand(b, scale=sb, format=qb.kind), None, out, meta=meta)
        ex.add_layer(record)
        return record
    a, b = a.astype(np.int64) - za, b.astype(np.int64) - zb   # both shifted: no per-row bias exists
    a_bits, a_signed = _operand_width(node, qa, qa.lo - za, qa.hi - za, "left operand")
    b_bits, b_signed = _operand_width(node, qb, qb.lo - zb, qb.hi - zb, "right operand")
    acc = int_matmul(a, b)
    if float_out is not None:
        pred = acc * (sa * sb)
        magnitude = int_matmul(np.abs(a), np.abs(b)).astype(np.float64) * abs(sa * sb)
        meta["check"] = _check(node, pred, float_out, magnitude, k)
    else:
        meta["check"] = _EXACT
    meta["finn_accumulator"] = {"skipped": "no static weights (activation x activation)"}
    record = LayerRecord(node.name, "matmul", Operand(a, a_bits, a_signed, 0, sa, range=(qa.lo - za, qa.hi - za)),
                         Operand(b, b_bits, b_signed, 0, sb, range=(qb.lo - zb, qb.hi - zb)), None, acc, meta=meta,
                         acc_scale=None if sa is None or sb is None else sa * sb)
    ex.add_layer(record)
    return record


def conv(ex, node: Node, qx: Quantized, qw: Quantized, geo: dict, lifted: bool, float_out: np.ndarray,
         float_bias=None, bias_q: Quantized | None = None, int_bias=None) -> LayerRecord | None:
    act = _activation(ex, node, qx, "input")
    if act is None:
        return
    x, zx, sx = act
    w_codes = qw.codes[:, :, None, :] if lifted else qw.codes
    x = x[:, :, None, :] if lifted else x
    c_out = w_codes.shape[0]
    sw = Quantized.channel_values(qw.scale, qw.codes.shape, 0)
    zw = Quantized.channel_values(qw.zero_point, qw.codes.shape, 0)
    if sw is None or zw is None:
        ex.note(f"{node.where}: left out: the weight's scale or zero point varies within an output channel")
        return
    zw = _int_zero_point(ex, node, qw, zw, "weight")
    if zw is None:
        return
    k = int(np.prod(w_codes.shape[1:]))
    acc_scale = sx * sw
    params = {"stride": list(geo["strides"]), "padding": list(geo["pads"]),
              "dilation": list(geo["dilations"]), "groups": geo["groups"]}
    meta = _base_meta(node, qx, qw)
    if lifted:
        meta["conv1d"] = "a 1-D convolution, replayed as 2-D with H = 1"
    chan = (1, -1, 1, 1)
    if qx.is_float:
        out = exact_conv2d_values(x, w_codes, params)
        pred = out * acc_scale.reshape(chan)
        magnitude = exact_conv2d_values(np.abs(x), np.abs(w_codes), params) * np.abs(acc_scale).reshape(chan)
        if float_bias is not None:
            pred, magnitude = pred + float_bias.reshape(chan), magnitude + np.abs(float_bias).reshape(chan)
            meta["float_bias"] = "added after the accumulator, in float (not part of the datapath)"
        meta["check"] = _check(node, pred, float_out, magnitude, k)
        record = LayerRecord(node.name, "conv2d", Operand(x, scale=sx, format=qx.kind),
                             Operand(w_codes, scale=sw, format=qw.kind), None, out, params, meta)
        ex.add_layer(record)
        return record
    w = w_codes.astype(np.int64) - zw.reshape(-1, 1, 1, 1)
    x_bits, x_signed = _operand_width(node, qx, qx.lo, qx.hi, "input")
    w_bits, w_signed = _operand_width(node, qw, qw.lo - int(zw.max()), qw.hi - int(zw.min()), "weight")
    bias = -zx * w.sum(axis=(1, 2, 3)) if zx else None
    if int_bias is None:
        int_bias = _integer_bias(ex, node, bias_q, acc_scale, c_out)
    if int_bias is not None:
        bias = int_bias if bias is None else bias + int_bias
    acc = int_conv2d(x, w, bias, pad_value=zx, **params)
    if float_out is not None:
        pred = acc * acc_scale.reshape(chan)
        magnitude = (int_conv2d(np.abs(x.astype(np.int64) - zx), np.abs(w), **params).astype(np.float64)
                     + _abs(int_bias).reshape(chan if int_bias is not None else ())) * np.abs(acc_scale).reshape(chan)
        if int_bias is None and float_bias is not None:
            pred, magnitude = pred + float_bias.reshape(chan), magnitude + np.abs(float_bias).reshape(chan)
            meta["float_bias"] = "added after the accumulator, in float (not part of the datapath)"
        meta["check"] = _check(node, pred, float_out, magnitude, k)
    else:
        meta["check"] = _EXACT
    depthwise = geo["groups"] > 1 and geo["groups"] == x.shape[1] == c_out
    if geo["groups"] == 1 or depthwise:
        meta["finn_accumulator"] = _finn(w.reshape(c_out, -1), qx, zx, depthwise)
    else:
        meta["finn_accumulator"] = {"skipped": "grouped (not depthwise) convolution"}
    record = LayerRecord(node.name, "conv2d", Operand(x, x_bits, x_signed, zx, sx, range=(qx.lo, qx.hi)),
                         Operand(w, w_bits, w_signed, 0, sw, range=_shifted(qw, zw)), bias, acc, params, meta,
                         acc_scale=acc_scale.reshape(chan),
                         float_bias=None if int_bias is not None or float_bias is None else float_bias.reshape(chan))
    ex.add_layer(record)
    return record


