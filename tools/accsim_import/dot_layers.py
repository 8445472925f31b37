"""The float dot-product ops (MatMul, Gemm, Conv): each runs in float as ONNX defines it and,
where both operands come from quantizers, is also recorded as an integer (or FP8) layer.

    outputs, quant = HANDLERS["Conv"](execution, node, inputs)

Recording needs per-tensor scales on the activation, per-output-channel (or per-tensor) scales
on the weight, and integer zero points. The weight's zero point is subtracted from its codes
(which may then need a wider declaration), the activation's is kept as the operand's
zero_point (conv padding holds it) and its products are folded into the bias, as accsim's
PyTorch exporter does. A dot product with a float operand is left out with a note, and its float
result flows on either way.
"""
from __future__ import annotations

import numpy as np

from . import layer_record
from .node import Node
from .quantized import Quantized


# -- float execution ----------------------------------------------------------------------

def conv_geometry(node: Node, x_shape: tuple, w_shape: tuple) -> dict:
    """Strides, [top, left, bottom, right]-style pads, dilations and groups of a Conv node,
    for 2-D spatial shapes (1-D convs are lifted to H = 1 by the caller)."""
    spatial = len(x_shape) - 2
    kernel = list(w_shape[2:])
    strides = list(node.attr("strides", [1] * spatial))
    dilations = list(node.attr("dilations", [1] * spatial))
    groups = int(node.attr("group", 1))
    auto_pad = node.attr("auto_pad", "NOTSET")
    if len(strides) != spatial or len(dilations) != spatial:
        raise node.error("strides", f"expected {spatial} values for a {spatial}-D convolution")
    if auto_pad in ("NOTSET", ""):
        pads = list(node.attr("pads", [0] * (2 * spatial)))
        if len(pads) != 2 * spatial:
            raise node.error("pads", f"expected {2 * spatial} values, got {len(pads)}")
    elif auto_pad == "VALID":
        pads = [0] * (2 * spatial)
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for d in range(spatial):
            size = x_shape[2 + d]
            out = -(-size // strides[d])
            total = max(0, (out - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - size)
            small, big = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else big)
            end.append(big if auto_pad == "SAME_UPPER" else small)
        pads = begin + end
    else:
        raise node.error("auto_pad", f'unknown value "{auto_pad}"')
    if any(s < 1 for s in strides) or any(d < 1 for d in dilations) or any(p < 0 for p in pads):
        raise node.error("strides", "strides and dilations must be >= 1 and pads >= 0")
    if groups < 1 or x_shape[1] % groups or w_shape[0] % groups or x_shape[1] // groups != w_shape[1]:
        raise node.error("group", f"group = {groups} does not fit input channels {x_shape[1]} and weight "
                                  f"{list(w_shape)}")
    return {"strides": strides, "pads": pads, "dilations": dilations, "groups": groups}


def lift_1d(x: np.ndarray, w: np.ndarray, geo: dict):
    """A 1-D convolution as a 2-D one with H = 1."""
    return (x[:, :, None, :], w[:, :, None, :],
            {"strides": [1] + geo["strides"], "dilations": [1] + geo["dilations"],
             "pads": [0, geo["pads"][0], 0, geo["pads"][1]], "groups": geo["groups"]})


def patches(x: np.ndarray, k_h: int, k_w: int, geo: dict, pad_value=0) -> np.ndarray:
    """[B, C, kH, kW, OH, OW] receptive fields of a 2-D convolution (any dtype)."""
    b, c, h, w = x.shape
    top, left, bottom, right = geo["pads"]
    (s_h, s_w), (d_h, d_w) = geo["strides"], geo["dilations"]
    o_h = (h + top + bottom - d_h * (k_h - 1) - 1) // s_h + 1
    o_w = (w + left + right - d_w * (k_w - 1) - 1) // s_w + 1
    if o_h < 1 or o_w < 1:
        raise ValueError(f"the kernel {k_h}x{k_w} does not fit the padded input {h}x{w}")
    padded = np.full((b, c, h + top + bottom, w + left + right), pad_value, dtype=x.dtype)
    padded[:, :, top:top + h, left:left + w] = x
    out = np.empty((b, c, k_h, k_w, o_h, o_w), dtype=x.dtype)
    for i in range(k_h):
        for j in range(k_w):
            out[:, :, i, j] = padded[:, :, i * d_h:i * d_h + s_h * (o_h - 1) + 1:s_h,
                                     j * d_w:j * d_w + s_w * (o_w - 1) + 1:s_w]
    return out


def conv2d(x: np.ndarray, w: np.ndarray, geo: dict, pad_value=0, dtype=None) -> np.ndarray:
    """Grouped 2-D cross-correlation, [B, C_out, OH, OW], computed in ``dtype``."""
    dtype = dtype or np.result_type(x, w)
    cols = patches(x.astype(dtype, copy=False), w.shape[2], w.shape[3], geo, pad_value)
    b, c, k_h, k_w, o_h, o_w = cols.shape
    g = geo["groups"]
    cols = cols.reshape(b, g, (c // g) * k_h * k_w, o_h * o_w)
    kern = w.astype(dtype, copy=False).reshape(1, g, w.shape[0] // g, -1)
    return np.matmul(kern, cols).reshape(b, w.shape[0], o_h, o_w)


# -- the ops ------------------------------------------------------------------------------

def _matmul(ex, node: Node, inputs: list):
    a, b = node.input(inputs, 0, "A"), node.input(inputs, 1, "B")
    if a.ndim == 0 or b.ndim == 0 or a.shape[-1] != (b.shape[0] if b.ndim == 1 else b.shape[-2]):
        raise node.error("B", f"shapes {list(a.shape)} and {list(b.shape)} do not multiply")
    y = np.matmul(a, b)
    qa, qb = ex.quant.get(node.inputs[0]), ex.quant.get(node.inputs[1])
    if _recordable(ex, node, qa, qb):
        rec = None
        if ex.is_constant(node.inputs[1]) and b.ndim == 2:
            rec = layer_record.linear(ex, node, qa, qb, b_layout="KN", float_out=y)
        elif ex.is_constant(node.inputs[1]) and b.ndim == 1:
            # matrix x vector: a linear layer with one output channel (the output gains a last axis)
            if np.size(qb.scale) != 1 or np.size(qb.zero_point) != 1:
                ex.note(f"{node.where}: left out: the vector's scale or zero point varies along the dot product")
                return [y], None
            column = qb.with_codes(qb.codes[:, None], scale=np.asarray(qb.scale).reshape(()),
                                   zero_point=np.asarray(qb.zero_point).reshape(()))
            rec = layer_record.linear(ex, node, qa, column, b_layout="KN", float_out=y[..., None])
            return [_in_the_loop(ex, rec, y[..., None])[..., 0]], None
        elif a.ndim >= 2 and b.ndim >= 2:
            rec = layer_record.matmul(ex, node, qa, qb, float_out=y)
        else:
            ex.note(f"{node.where}: left out: a 1-D operand of an activation x activation product")
        y = _in_the_loop(ex, rec, y)
    return [y], None


def _gemm(ex, node: Node, inputs: list):
    a, b = node.input(inputs, 0, "A"), node.input(inputs, 1, "B")
    c = inputs[2] if len(inputs) > 2 else None
    alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
    trans_a, trans_b = int(node.attr("transA", 0)), int(node.attr("transB", 0))
    if a.ndim != 2 or b.ndim != 2:
        raise node.error("A", f"Gemm takes 2-D operands, got {list(a.shape)} and {list(b.shape)}")
    a2, b2 = (a.T if trans_a else a), (b.T if trans_b else b)
    if a2.shape[1] != b2.shape[0]:
        raise node.error("B", f"shapes {list(a2.shape)} and {list(b2.shape)} do not multiply")
    y = np.matmul(a2, b2)
    if alpha != 1.0:
        y = (y * np.asarray(alpha, dtype=y.dtype)).astype(y.dtype)
    if c is not None:
        y = (y + (c * np.asarray(beta, dtype=c.dtype) if beta != 1.0 else c)).astype(y.dtype)
    qa, qb = ex.quant.get(node.inputs[0]), ex.quant.get(node.inputs[1])
    if not _recordable(ex, node, qa, qb):
        return [y], None
    if trans_a or alpha <= 0:
        ex.note(f"{node.where}: left out: " + ("transA = 1 (a transposed activation)" if trans_a
                                               else f"alpha = {alpha:g} is not a positive scale"))
        return [y], None
    if ex.is_constant(node.inputs[1]):
        bias_q = ex.quant.get(node.inputs[2]) if c is not None and len(node.inputs) > 2 else None
        rec = layer_record.linear(ex, node, qa, qb, b_layout="NK" if trans_b else "KN", float_out=y, alpha=alpha,
                                  float_bias=None if c is None else c * beta, bias_q=bias_q if beta == 1.0 else None)
    elif c is None and alpha == 1.0:
        rec = layer_record.matmul(ex, node, qa, _transposed(qb) if trans_b else qb, float_out=y)
    else:
        ex.note(f"{node.where}: left out: an activation x activation Gemm with C or alpha")
        rec = None
    return [_in_the_loop(ex, rec, y)], None


def _transposed(q: Quantized) -> Quantized:
    """A 2-D operand's quantization record transposed (codes, and scales or zero points that vary)."""
    def t(v):
        v = np.asarray(v)
        return v.T if v.ndim == 2 else v
    return q.with_codes(q.codes.T, scale=t(q.scale), zero_point=t(q.zero_point))


def _conv(ex, node: Node, inputs: list):
    x, w = node.input(inputs, 0, "X"), node.input(inputs, 1, "W")
    bias = inputs[2] if len(inputs) > 2 else None
    if x.ndim not in (3, 4) or w.ndim != x.ndim:
        raise node.error("X", f"only 1-D and 2-D convolutions are supported (input {list(x.shape)}, "
                              f"weight {list(w.shape)})")
    kernel = node.attr("kernel_shape", None)
    if kernel is not None and list(kernel) != list(w.shape[2:]):
        raise node.error("kernel_shape", f"{list(kernel)} differs from the weight's {list(w.shape[2:])}")
    geo = conv_geometry(node, x.shape, w.shape)
    x2, w2, geo2 = lift_1d(x, w, geo) if x.ndim == 3 else (x, w, geo)
    y = conv2d(x2, w2, geo2)
    if bias is not None:
        if bias.shape != (w.shape[0],):
            raise node.error("B", f"expected shape [{w.shape[0]}], got {list(bias.shape)}")
        y = (y + bias.reshape(1, -1, 1, 1)).astype(y.dtype)
    out = y[:, :, 0, :] if x.ndim == 3 else y
    qx, qw = ex.quant.get(node.inputs[0]), ex.quant.get(node.inputs[1])
    if _recordable(ex, node, qx, qw):
        bias_q = ex.quant.get(node.inputs[2]) if bias is not None else None
        rec = layer_record.conv(ex, node, qx, qw, geo2, lifted=x.ndim == 3, float_out=y, float_bias=bias,
                                bias_q=bias_q)
        if rec is not None and ex.loop is not None:
            y = _in_the_loop(ex, rec, y)
            out = y[:, :, 0, :] if x.ndim == 3 else y
    return [out], None


def _in_the_loop(ex, rec, y: np.ndarray) -> np.ndarray:
    """With an accumulator in the loop, the layer's output as that accumulator leaves it."""
    if rec is None or ex.loop is None:
        return y
    return ex.loop.float_output(rec, y)


def _recordable(ex, node: Node, qa: Quantized | None, qb: Quantized | None) -> bool:
    if not ex.wants(node.name):
        return False
    missing = [node.inputs[i] for i, q in ((0, qa), (1, qb)) if q is None]
    if missing:
        ex.note(f"{node.where}: left out (float layer): " +
                ", ".join(f'operand "{m}" does not come from a quantizer' for m in missing))
        return False
    if qa.is_float != qb.is_float:
        ex.note(f"{node.where}: left out: one operand is {qa.kind} and the other {qb.kind}")
        return False
    return True


HANDLERS = {"MatMul": _matmul, "Gemm": _gemm, "Conv": _conv}
