"""QONNX's quantizer nodes (domains onnx.brevitas, qonnx.custom_op.general,
finn.custom_op.general): run with qonnx_ops, and their outputs marked quantized.

    outputs, quant = HANDLERS["Quant"](execution, node, inputs)

Quant / IntQuant give integer codes in the quantizer's range; BipolarQuant gives +-1;
FloatQuant gives FP8 values where its parameters are those of OCP E4M3 or E5M2; Trunc's output
is integer codes at its output scale; MultiThreshold's output is the count of thresholds crossed
(times out_scale, plus out_bias).
"""
from __future__ import annotations

import numpy as np

from . import qonnx_ops
from .node import Node
from .quantized import Quantized, int_width
from .trace_math import decode_float, round_to_float


def _scalar_param(node: Node, value, field: str) -> float:
    v = np.asarray(value)
    if v.size != 1:
        raise node.error(field, f"expected one value, got shape {list(v.shape)}")
    return float(v.reshape(()))


def _bit_width(node: Node, value, field: str = "bit_width") -> int:
    b = _scalar_param(node, value, field)
    if not np.isfinite(b) or b != int(b) or b < 1:
        raise node.error(field, f"{b:g} is not a bit width (an integer >= 1)")
    return int(b)


def _quant(ex, node: Node, inputs: list):
    x = node.input(inputs, 0, "x")
    scale, zero_point, bit_width = (node.input(inputs, i, w) for i, w in
                                    ((1, "scale"), (2, "zeropt"), (3, "bitwidth")))
    signed, narrow = bool(node.attr("signed", 1)), bool(node.attr("narrow", 0))
    rounding = node.attr("rounding_mode", "ROUND")
    try:
        y, codes = qonnx_ops.quant(x, scale, zero_point, bit_width, signed, narrow, rounding)
    except qonnx_ops.ImportInputError as exc:
        raise node.error("parameters", str(exc)) from None
    bits = _bit_width(node, bit_width, "bitwidth")  # one value: qonnx_ops.quant refuses per-element widths
    lo, hi = qonnx_ops.int_range(bits, signed, narrow)
    zp = np.asarray(zero_point, dtype=np.float64)
    zp = zp.astype(np.int64) if np.all(zp == np.round(zp)) else zp
    kind = "int"
    if bits == 1 and signed:  # QONNX makes a signed 1-bit Quant bipolar: +-1
        kind = "bipolar"
    return [y], [Quantized(codes.astype(np.int64), np.asarray(scale, dtype=np.float64), zp, lo, hi,
                           bits, signed, kind, node.name)]


def _bipolar(ex, node: Node, inputs: list):
    x = node.input(inputs, 0, "x")
    scale = node.input(inputs, 1, "scale")
    try:
        y, codes = qonnx_ops.bipolar_quant(x, scale)
    except qonnx_ops.ImportInputError as exc:
        raise node.error("parameters", str(exc)) from None
    return [y], [Quantized(codes.astype(np.int64), np.asarray(scale, dtype=np.float64), np.int64(0),
                           -1, 1, 1, True, "bipolar", node.name)]


def _trunc(ex, node: Node, inputs: list):
    """Trunc v1 (X, scale, zeropt, in_bitwidth, out_bitwidth) or v2 (X, scale, zeropt,
    in_bitwidth, out_scale, out_bitwidth; signed/narrow attributes), chosen as QONNX does: by the
    model's opset version for the node's domain (absent: 1)."""
    x = node.input(inputs, 0, "x")
    scale, zero_point, in_bits = (node.input(inputs, i, w) for i, w in
                                  ((1, "scale"), (2, "zeropt"), (3, "in_bitwidth")))
    version = qonnx_ops.trunc_version(ex.graph.opsets.get(node.domain))
    if version == 1:
        out_scale, out_bits = None, node.input(inputs, 4, "out_bitwidth")
    else:
        out_scale, out_bits = node.input(inputs, 4, "out_scale"), node.input(inputs, 5, "out_bitwidth")
    signed, narrow = bool(node.attr("signed", 1)), bool(node.attr("narrow", 0))
    try:
        y, codes = qonnx_ops.trunc(x, scale, zero_point, in_bits, out_bits, node.attr("rounding_mode", "FLOOR"),
                                   signed, narrow, output_scale=out_scale, version=version)
    except qonnx_ops.ImportInputError as exc:
        raise node.error("parameters", str(exc)) from None
    if np.asarray(out_bits).size != 1 or version == 1:
        return [y], None  # v1 does not clamp: its codes have no declared range
    bits = _bit_width(node, out_bits, "out_bitwidth")
    lo, hi = qonnx_ops.int_range(bits, signed, narrow)
    # v2: y = (codes - zeropt / t) * out_scale with t = 2^round(log2(out_scale / scale))
    s = np.asarray(out_scale, dtype=np.float64)
    t = 2.0 ** np.round(np.log2(s / np.asarray(scale, dtype=np.float64)))
    z = np.asarray(zero_point, dtype=np.float64) / t
    if not np.all(z == np.round(z)):
        return [y], None
    return [y], [Quantized(np.asarray(codes).astype(np.int64), s, z.astype(np.int64), lo, hi, bits, signed,
                           "int", node.name)]


def _multithreshold(ex, node: Node, inputs: list):
    x = node.input(inputs, 0, "x")
    thresholds = node.input(inputs, 1, "thresholds")
    out_scale = float(node.attr("out_scale", 1.0))
    out_bias = float(node.attr("out_bias", 0.0))
    try:
        y = qonnx_ops.multithreshold(x, thresholds, out_scale, out_bias, node.attr("data_layout", "NCHW"))
    except qonnx_ops.ImportInputError as exc:
        raise node.error("parameters", str(exc)) from None
    steps = int(np.asarray(thresholds).shape[-1])
    if out_scale <= 0 or out_bias / out_scale != round(out_bias / out_scale):
        return [y], None
    offset = int(round(out_bias / out_scale))
    codes = np.rint((np.asarray(y, dtype=np.float64) - out_bias) / out_scale).astype(np.int64) + offset
    lo, hi = offset, offset + steps
    bits, signed = int_width(lo, hi)
    return [y], [Quantized(codes, np.float64(out_scale), np.int64(0), lo, hi, bits, signed, "int", node.name)]


def _float_quant(ex, node: Node, inputs: list):
    x = node.input(inputs, 0, "x")
    names = ("scale", "exponent_bitwidth", "mantissa_bitwidth", "exponent_bias", "max_val")
    scale, e_bits, m_bits, bias, max_val = (node.input(inputs, i + 1, w) for i, w in enumerate(names))
    has_inf, has_nan = bool(node.attr("has_inf", 0)), bool(node.attr("has_nan", 0))
    has_subnormal = bool(node.attr("has_subnormal", 1))
    rounding, saturation = node.attr("rounding_mode", "ROUND"), bool(node.attr("saturation", 1))
    params = [_scalar_param(node, v, n) for v, n in zip((e_bits, m_bits, bias, max_val), names[1:])]
    try:
        y = qonnx_ops.float_quant(x, scale, params[0], params[1], params[2], params[3], has_inf, has_nan,
                                  has_subnormal, rounding, saturation)
    except qonnx_ops.ImportInputError as exc:
        raise node.error("parameters", str(exc)) from None
    fmt = qonnx_ops.float_quant_format(params[0], params[1], params[2], params[3], has_inf, has_nan,
                                       has_subnormal)
    if fmt is None:
        return [y], None
    s = np.asarray(scale, dtype=np.float64)
    # y = value * scale in float32: dividing back lands within an ulp of the FP8 value; snap it.
    codes = decode_float(round_to_float(np.asarray(y, dtype=np.float64) / s, fmt), fmt)
    return [y], [Quantized(codes, s, np.int64(0), 0, 0, 8, True, fmt, node.name)]


HANDLERS = {"Quant": _quant, "IntQuant": _quant, "BipolarQuant": _bipolar, "Trunc": _trunc,
            "MultiThreshold": _multithreshold, "FloatQuant": _float_quant}
