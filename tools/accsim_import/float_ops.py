"""The float (default-domain) ONNX ops, executed with numpy.

    from accsim_import.float_ops import FLOAT_OPS, MOVEMENT_OPS, moves_values
    node.attrs["_opset"] = 13                    # the model's default-domain opset (7..17, 18 where cheap)
    outputs = FLOAT_OPS[node.op_type](node, inputs)   # one numpy array per ONNX output

Every op is ``fn(node, inputs) -> list of numpy arrays``; ``inputs`` holds one array per ONNX input
(``None`` for an omitted optional one). The forms of opsets 7..17 are all understood (attributes that
later became inputs: Unsqueeze/Squeeze/ReduceSum ``axes``, Pad ``pads``/``value``, Clip ``min``/``max``,
Slice ``starts``/``ends``/``axes``, Split ``split``, Upsample ``scales``, Resize-10's two-input form) and
the opset-dependent defaults (Softmax/LogSoftmax: axis 1 with 2-D coercion before opset 13, axis -1
after). A float input keeps its dtype and is computed in it (float32 stays float32), as ONNX Runtime's
CPU kernels do where that matters (BatchNormalization, Resize coordinates, pooling sums).

Bad attributes, inputs or shapes raise ``ImportInputError`` (``node.error(field, what)``); a numpy
exception that slips past the explicit checks is turned into one too, never raised raw.

``MOVEMENT_OPS`` names the ops that can only move, select or copy values of their data input(s), never
compute new ones; ``moves_values(node, inputs)`` says whether a particular node does (Resize/Upsample
only in nearest mode, Pad only when its constant is 0 or it copies edges/reflections).

Choices where ONNX's reference and ONNX Runtime differ (ORT followed unless said):
  * Resize align_corners / tf_crop_and_resize use the integer output length (ORT, the spec's
    ``length_resized``); ONNX 1.12's reference uses ``scale * length`` (fractional when downscaling).
  * Resize output dims are ``floor(scale * input)`` in float32, ignoring ``roi`` (ORT, shape inference).
  * Pooling with ``ceil_mode`` drops a last window that would start in the end padding (PyTorch, ORT
    >= 1.17); AveragePool's count_include_pad divisor counts the window's cells inside input + pads.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .graph import ELEM_DTYPES
from .node import ImportInputError, Node

FLOAT_OPS: dict = {}

# The ops that only move/select/copy values of their data input(s) (0 for Gather, all for Concat).
# Resize, Upsample and Pad only in some modes: ask moves_values(node, inputs).
MOVEMENT_OPS = frozenset({
    "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "DepthToSpace",
    "SpaceToDepth", "Slice", "Gather", "Concat", "Split", "Expand", "MaxPool", "GlobalMaxPool",
    "ReduceMax", "Resize", "Upsample", "Pad",
})

# TensorProto data type numbers -> numpy: graph.ELEM_DTYPES.
_DTYPE_NAMES = {8: "STRING", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16"}


def _op(*names):
    """Register ``fn`` under ``names``; numpy warnings are silenced (inf/nan are ONNX results) and a
    numpy exception becomes the node's ImportInputError."""
    def register(fn):
        @functools.wraps(fn)
        def run(node: Node, inputs: list) -> list:
            inputs = list(inputs)
            try:
                with np.errstate(all="ignore"):
                    outputs = fn(node, inputs)
            except ImportInputError:
                raise
            except (ValueError, IndexError, TypeError, OverflowError, ZeroDivisionError) as e:
                shapes = ", ".join("None" if a is None else f"{np.asarray(a).dtype}{list(np.shape(a))}"
                                   for a in inputs)
                raise node.error("inputs", f"cannot compute {node.op_type} of ({shapes}): {e}") from e
            return [np.asarray(o) for o in outputs]
        for name in names:
            FLOAT_OPS[name] = run
        return run
    return register


# ---------------------------------------------------------------------------------------- helpers

def _opset(node: Node) -> int:
    return int(node.attr("_opset", 17))


def _opt(inputs: list, i: int):
    """Optional input ``i``, or None when omitted."""
    return inputs[i] if i < len(inputs) and inputs[i] is not None else None


def _ints(node: Node, value, field: str) -> list:
    """A list of Python ints from an attribute or a 1-D (or scalar) integer tensor."""
    arr = np.asarray(value)
    if arr.ndim > 1:
        raise node.error(field, f"must be a 1-D list of integers, got shape {list(arr.shape)}")
    if arr.size and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise node.error(field, f"must be integers, got {arr.dtype}")
    return [int(v) for v in arr.reshape(-1)]


def _axis(node: Node, axis: int, rank: int, field: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise node.error(field, f"{axis} is out of range for a rank-{rank} input")
    return axis + rank if axis < 0 else axis


def _axes(node: Node, axes, rank: int, field: str = "axes") -> list:
    out = [_axis(node, a, rank, field) for a in axes]
    if len(set(out)) != len(out):
        raise node.error(field, f"{list(axes)} names an axis twice")
    return out


def _is_float(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.floating)


def _same_dtype(node: Node, arrays: list, field: str = "inputs") -> None:
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) > 1:
        raise node.error(field, "inputs must share one type, got "
                         + ", ".join(str(a.dtype) for a in arrays))


def _broadcast_shape(node: Node, arrays: list) -> tuple:
    try:
        return np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise node.error("inputs", "shapes " + ", ".join(str(list(a.shape)) for a in arrays)
                         + " do not broadcast") from None


def _scalar(node: Node, a, field: str):
    arr = np.asarray(a)
    if arr.size != 1:
        raise node.error(field, f"must be a scalar, got shape {list(arr.shape)}")
    return arr.reshape(())


def _data(node: Node, inputs: list, i: int = 0, what: str = "X") -> np.ndarray:
    return np.asarray(node.input(inputs, i, what))


# ---------------------------------------------------------------------------------- elementwise

def _binary(fn):
    def op(node: Node, inputs: list) -> list:
        a, b = _data(node, inputs, 0, "A"), _data(node, inputs, 1, "B")
        _same_dtype(node, [a, b])
        _broadcast_shape(node, [a, b])
        return [np.asarray(fn(node, a, b)).astype(a.dtype, copy=False)]
    return op


def _int_div(node: Node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.any(b == 0):
        raise node.error("B", "integer division by zero")
    q = a // b  # floor; ONNX (C) truncates toward zero
    if np.issubdtype(a.dtype, np.signedinteger):
        q = q + (((a % b) != 0) & ((a < 0) != (b < 0))).astype(a.dtype)
    return q


_op("Add")(_binary(lambda node, a, b: np.add(a, b)))
_op("Sub")(_binary(lambda node, a, b: np.subtract(a, b)))
_op("Mul")(_binary(lambda node, a, b: np.multiply(a, b)))
_op("Div")(_binary(lambda node, a, b: np.divide(a, b) if _is_float(a) or a.dtype == np.bool_
                   else _int_div(node, a, b)))


@_op("Pow")
def _pow(node, inputs):
    x, y = _data(node, inputs, 0, "X"), _data(node, inputs, 1, "Y")
    _broadcast_shape(node, [x, y])
    if _is_float(x):
        return [np.power(x, y.astype(x.dtype)).astype(x.dtype)]
    if np.issubdtype(y.dtype, np.integer) and np.all(y >= 0):
        return [np.power(x, y.astype(x.dtype)).astype(x.dtype)]
    # an integer base to a float or negative power: pow in double, truncated back (ORT's cast)
    return [np.trunc(np.power(x.astype(np.float64), y.astype(np.float64))).astype(x.dtype)]


def _unary(fn, floats_only=False):
    def op(node: Node, inputs: list) -> list:
        x = _data(node, inputs)
        if floats_only and not _is_float(x):
            raise node.error("X", f"{node.op_type} needs a float input, got {x.dtype}")
        return [np.asarray(fn(x)).astype(x.dtype, copy=False)]
    return op


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # stable on both sides, in x's dtype
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


_ERF = np.frompyfunc(math.erf, 1, 1)

_op("Relu")(_unary(lambda x: np.maximum(x, x.dtype.type(0))))
_op("Sqrt")(_unary(np.sqrt, True))
_op("Neg")(_unary(np.negative))
_op("Abs")(_unary(np.abs))
_op("Exp")(_unary(np.exp, True))
_op("Log")(_unary(np.log, True))
_op("Sigmoid")(_unary(_sigmoid, True))
_op("Tanh")(_unary(np.tanh, True))
_op("Erf")(_unary(lambda x: _ERF(x.astype(np.float64)).astype(np.float64), True))
_op("Floor")(_unary(np.floor, True))
_op("Ceil")(_unary(np.ceil, True))
_op("Round")(_unary(np.round, True))  # half to even, as ONNX says
_op("Sign")(_unary(np.sign))


@_op("LeakyRelu")
def _leaky_relu(node, inputs):
    x = _data(node, inputs)
    alpha = x.dtype.type(node.attr("alpha", 0.01))
    return [np.where(x < 0, x * alpha, x).astype(x.dtype)]


@_op("Clip")
def _clip(node, inputs):
    x = _data(node, inputs, 0, "input")
    if _opset(node) < 11 or "min" in node.attrs or "max" in node.attrs:
        lo = node.attr("min", -np.finfo(np.float32).max)
        hi = node.attr("max", np.finfo(np.float32).max)
        lo, hi = np.asarray(lo).astype(x.dtype), np.asarray(hi).astype(x.dtype)
    else:
        lo, hi = _opt(inputs, 1), _opt(inputs, 2)
        lo = None if lo is None else _scalar(node, lo, "min").astype(x.dtype)
        hi = None if hi is None else _scalar(node, hi, "max").astype(x.dtype)
    y = x
    if lo is not None:
        y = np.maximum(y, lo)
    if hi is not None:
        y = np.minimum(y, hi)
    return [np.asarray(y).astype(x.dtype, copy=False)]


def _variadic(fn):
    def op(node: Node, inputs: list) -> list:
        arrays = [np.asarray(a) for a in inputs if a is not None]
        if not arrays:
            raise node.error("inputs", "needs at least one input")
        _same_dtype(node, arrays)
        _broadcast_shape(node, arrays)
        return [functools.reduce(fn, arrays).astype(arrays[0].dtype, copy=False)]
    return op


_op("Min")(_variadic(np.minimum))
_op("Max")(_variadic(np.maximum))


@_op("Equal")
def _equal(node, inputs):
    a, b = _data(node, inputs, 0, "A"), _data(node, inputs, 1, "B")
    _same_dtype(node, [a, b])
    _broadcast_shape(node, [a, b])
    return [np.equal(a, b)]


@_op("Where")
def _where(node, inputs):
    c = _data(node, inputs, 0, "condition")
    x, y = _data(node, inputs, 1, "X"), _data(node, inputs, 2, "Y")
    _same_dtype(node, [x, y])
    _broadcast_shape(node, [c, x, y])
    return [np.where(c.astype(bool), x, y)]


# --------------------------------------------------------------------------------- normalization

@_op("BatchNormalization")
def _batch_norm(node, inputs):
    x = _data(node, inputs, 0, "X")
    scale, bias = _data(node, inputs, 1, "scale"), _data(node, inputs, 2, "B")
    mean, var = _data(node, inputs, 3, "input_mean"), _data(node, inputs, 4, "input_var")
    if x.ndim < 2:
        raise node.error("X", f"needs shape N x C x ..., got {list(x.shape)}")
    if not _is_float(x):
        raise node.error("X", f"needs a float input, got {x.dtype}")
    eps = x.dtype.type(node.attr("epsilon", 1e-5))

    def per_channel(p, field):
        p = np.asarray(p).astype(x.dtype, copy=False)
        if p.ndim == 1 and p.shape[0] == x.shape[1]:
            return p.reshape((1, -1) + (1,) * (x.ndim - 2))
        if p.shape == x.shape[1:]:  # opset 7's spatial=0: one value per (C, D1, ...)
            return p.reshape((1,) + p.shape)
        raise node.error(field, f"shape {list(p.shape)} does not fit X {list(x.shape)} "
                         f"(one value per channel, {x.shape[1]})")

    s, b = per_channel(scale, "scale"), per_channel(bias, "B")
    m, v = per_channel(mean, "input_mean"), per_channel(var, "input_var")
    if int(node.attr("training_mode", 0)):
        axes = (0,) + tuple(range(2, x.ndim))
        batch_mean = x.mean(axis=axes, keepdims=True, dtype=x.dtype)
        batch_var = ((x - batch_mean) ** 2).mean(axis=axes, keepdims=True, dtype=x.dtype)
        y = (x - batch_mean) / np.sqrt(batch_var + eps) * s + b
        momentum = x.dtype.type(node.attr("momentum", 0.9))
        one = x.dtype.type(1)
        running_mean = mean * momentum + batch_mean.reshape(-1) * (one - momentum)
        running_var = var * momentum + batch_var.reshape(-1) * (one - momentum)
        return [y.astype(x.dtype), running_mean.astype(mean.dtype), running_var.astype(var.dtype)]
    # As ONNX Runtime's CPU kernel (which QONNX's execution calls for standard ops): one scale and
    # one shift per channel, both in the input's float type.
    mul = s / np.sqrt(v + eps)
    y = x * mul + (b - m * mul)
    # Inference: outputs past Y (only older opsets declare them) carry the unchanged statistics.
    extra = [mean, var, mean, var][: max(len(node.outputs) - 1, 0)]
    return [y.astype(x.dtype, copy=False)] + extra


def _softmax_like(log: bool):
    def op(node: Node, inputs: list) -> list:
        x = _data(node, inputs, 0, "input")
        if not _is_float(x):
            raise node.error("input", f"needs a float input, got {x.dtype}")
        if x.ndim == 0:
            raise node.error("input", "needs at least one dimension")
        if _opset(node) < 13:  # coerced to 2-D: [prod(shape[:axis]), prod(shape[axis:])]
            axis = node.attr("axis", 1)
            if not -x.ndim <= axis <= x.ndim:
                raise node.error("axis", f"{axis} is out of range for a rank-{x.ndim} input")
            axis = axis + x.ndim if axis < 0 else axis
            rows = int(np.prod(x.shape[:axis], dtype=np.int64))
            z = x.reshape(rows, -1) if x.size else x.reshape(rows, int(np.prod(x.shape[axis:])))
            red = 1
        else:
            red = _axis(node, node.attr("axis", -1), x.ndim)
            z = x
        shifted = z - np.max(z, axis=red, keepdims=True) if z.size else z
        e = np.exp(shifted)
        total = np.sum(e, axis=red, keepdims=True, dtype=x.dtype)
        y = shifted - np.log(total) if log else e / total
        return [y.reshape(x.shape).astype(x.dtype, copy=False)]
    return op


_op("Softmax")(_softmax_like(False))
_op("LogSoftmax")(_softmax_like(True))


# ---------------------------------------------------------------------------------- reductions

def _reduce(kind: str):
    def op(node: Node, inputs: list) -> list:
        x = _data(node, inputs, 0, "data")
        axes_in = _opt(inputs, 1)
        axes = _ints(node, axes_in, "axes") if axes_in is not None else node.attr("axes", None)
        keepdims = bool(node.attr("keepdims", 1))
        if not axes:
            if int(node.attr("noop_with_empty_axes", 0)):
                return [x]
            axes = list(range(x.ndim))
        axes = tuple(_axes(node, list(axes), x.ndim))
        if kind == "max":
            if x.size == 0 and any(x.shape[a] == 0 for a in axes):
                raise node.error("data", f"ReduceMax over an empty axis of shape {list(x.shape)}")
            y = np.max(x, axis=axes, keepdims=keepdims)
        elif kind == "sum":
            y = np.sum(x, axis=axes, keepdims=keepdims, dtype=x.dtype)
        else:  # mean: a float sum in x's type over the count; integers divide truncating (ORT)
            if _is_float(x):
                y = np.mean(x, axis=axes, keepdims=keepdims, dtype=x.dtype)
            else:
                count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
                if count == 0:
                    raise node.error("data", "ReduceMean over an empty axis")
                y = _int_div(node, np.asarray(np.sum(x, axis=axes, keepdims=keepdims, dtype=x.dtype)),
                             np.asarray(count, dtype=x.dtype))
        return [np.asarray(y).astype(x.dtype, copy=False)]
    return op


_op("ReduceMean")(_reduce("mean"))
_op("ReduceSum")(_reduce("sum"))
_op("ReduceMax")(_reduce("max"))


@_op("GlobalAveragePool")
def _global_avg_pool(node, inputs):
    x = _data(node, inputs)
    if x.ndim < 3:
        raise node.error("X", f"needs shape N x C x D1 ..., got {list(x.shape)}")
    return [np.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True, dtype=x.dtype).astype(x.dtype)]


@_op("GlobalMaxPool")
def _global_max_pool(node, inputs):
    x = _data(node, inputs)
    if x.ndim < 3 or any(d == 0 for d in x.shape[2:]):
        raise node.error("X", f"needs shape N x C x D1 ... with non-empty spatial dims, got {list(x.shape)}")
    return [np.max(x, axis=tuple(range(2, x.ndim)), keepdims=True)]


# ------------------------------------------------------------------------------------- pooling

def _pool_geometry(node: Node, x: np.ndarray):
    """(kernel, strides, dilations, pads_begin, pads_end, output spatial shape) of a pool node."""
    if x.ndim < 3:
        raise node.error("X", f"needs shape N x C x D1 ..., got {list(x.shape)}")
    n = x.ndim - 2
    kernel = list(node.attr("kernel_shape"))
    if len(kernel) != n or any(k < 1 for k in kernel):
        raise node.error("kernel_shape", f"{kernel} does not fit the {n} spatial dims of {list(x.shape)}")
    strides = list(node.attr("strides", [1] * n))
    dilations = list(node.attr("dilations", [1] * n))
    if len(strides) != n or any(s < 1 for s in strides):
        raise node.error("strides", f"{strides}: need {n} values >= 1")
    if len(dilations) != n or any(d < 1 for d in dilations):
        raise node.error("dilations", f"{dilations}: need {n} values >= 1")
    auto_pad = node.attr("auto_pad", "NOTSET") or "NOTSET"
    ceil_mode = bool(node.attr("ceil_mode", 0))
    pads = list(node.attr("pads", [0] * (2 * n)))
    if len(pads) != 2 * n or any(p < 0 for p in pads):
        raise node.error("pads", f"{pads}: need {2 * n} values >= 0")
    begin, end, out = [], [], []
    for i in range(n):
        size, k_eff, s = x.shape[2 + i], (kernel[i] - 1) * dilations[i] + 1, strides[i]
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-size // s)
            total = max((o - 1) * s + k_eff - size, 0)
            b = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            begin.append(b)
            end.append(total - b)
        elif auto_pad == "VALID":
            begin.append(0)
            end.append(0)
            if size < k_eff:
                raise node.error("kernel_shape", f"window {k_eff} is larger than the input dim {size}")
            o = (size - k_eff) // s + 1
        elif auto_pad == "NOTSET":
            b, e = pads[i], pads[n + i]
            begin.append(b)
            end.append(e)
            span = size + b + e - k_eff
            if span < 0:
                raise node.error("kernel_shape", f"window {k_eff} is larger than the padded input dim "
                                 f"{size + b + e}")
            o = (-(-span // s) if ceil_mode else span // s) + 1
            if ceil_mode and (o - 1) * s >= size + b:
                o -= 1  # the last window would start in the end padding (PyTorch, ORT)
        else:
            raise node.error("auto_pad", f'"{auto_pad}" is not NOTSET, VALID, SAME_UPPER or SAME_LOWER')
        out.append(o)
    return kernel, strides, dilations, begin, end, out


def _pool_windows(x, kernel, strides, dilations, begin, out, fill):
    """Pad x (spatial dims) with ``fill`` so that every window fits, then yield one strided view per
    kernel offset: each of shape x.shape[:2] + out."""
    n = len(kernel)
    lengths = [max((out[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1,
                   begin[i] + x.shape[2 + i]) for i in range(n)]
    padded = np.full(x.shape[:2] + tuple(lengths), fill, dtype=x.dtype)
    padded[(slice(None), slice(None)) + tuple(slice(begin[i], begin[i] + x.shape[2 + i])
                                              for i in range(n))] = x
    for offset in np.ndindex(*kernel):
        index = tuple(slice(offset[i] * dilations[i], offset[i] * dilations[i] + (out[i] - 1) * strides[i] + 1,
                            strides[i]) for i in range(n))
        yield padded[(Ellipsis,) + index]


@_op("MaxPool")
def _max_pool(node, inputs):
    x = _data(node, inputs)
    kernel, strides, dilations, begin, end, out = _pool_geometry(node, x)
    fill = -np.inf if _is_float(x) else np.iinfo(x.dtype).min
    want_indices = len(node.outputs) > 1 and node.outputs[1] != ""
    if not want_indices:
        y = None
        for window in _pool_windows(x, kernel, strides, dilations, begin, out, fill):
            y = window.copy() if y is None else np.maximum(y, window)
        return [y]
    # Indices: flat positions in X (row-major; storage_order 1: spatial dims column-major).
    spatial = x.shape[2:]
    if int(node.attr("storage_order", 0)):
        strides_flat = np.cumprod((1,) + spatial[:-1])
    else:
        strides_flat = np.cumprod((1,) + spatial[::-1][:-1])[::-1]
    grid = np.indices(spatial).reshape(len(spatial), -1)
    pos = (strides_flat[:, None] * grid).sum(axis=0).reshape((1, 1) + spatial).astype(np.int64)
    pos = pos + (np.arange(x.shape[0] * x.shape[1], dtype=np.int64) * int(np.prod(spatial))).reshape(
        x.shape[:2] + (1,) * len(spatial))
    y = idx = None
    for window, where in zip(_pool_windows(x, kernel, strides, dilations, begin, out, fill),
                             _pool_windows(pos, kernel, strides, dilations, begin, out, -1)):
        if y is None:
            y, idx = window.copy(), where.copy()
        else:
            better = window > y  # the first maximum in window order wins (ORT)
            y = np.where(better, window, y)
            idx = np.where(better, where, idx)
    return [y, idx]


@_op("AveragePool")
def _average_pool(node, inputs):
    x = _data(node, inputs)
    if not _is_float(x):
        raise node.error("X", f"needs a float input, got {x.dtype}")
    kernel, strides, dilations, begin, end, out = _pool_geometry(node, x)
    total = None
    for window in _pool_windows(x, kernel, strides, dilations, begin, out, 0):
        total = window.copy() if total is None else total + window
    # The divisor: cells inside X, or (count_include_pad) inside X and its pads.
    spatial = x.shape[2:]
    if int(node.attr("count_include_pad", 0)):
        mask = np.ones((1, 1) + tuple(spatial[i] + begin[i] + end[i] for i in range(len(spatial))),
                       dtype=x.dtype)
        mask_begin = [0] * len(spatial)
    else:
        mask = np.ones((1, 1) + spatial, dtype=x.dtype)
        mask_begin = begin
    count = None
    for window in _pool_windows(mask, kernel, strides, dilations, mask_begin, out, 0):
        count = window.copy() if count is None else count + window
    return [(total / count).astype(x.dtype)]


# ------------------------------------------------------------------------------ shape and movement

@_op("Identity")
def _identity(node, inputs):
    return [_data(node, inputs, 0, "input")]


@_op("Reshape")
def _reshape(node, inputs):
    x = _data(node, inputs, 0, "data")
    if _opt(inputs, 1) is not None:
        shape = _ints(node, inputs[1], "shape")
    else:  # opset < 5 kept it in an attribute
        shape = list(node.attr("shape"))
    allowzero = bool(node.attr("allowzero", 0))
    out = []
    for i, d in enumerate(shape):
        if d == 0 and not allowzero:
            if i >= x.ndim:
                raise node.error("shape", f"{shape}: 0 at position {i} copies a dim the {x.ndim}-D input lacks")
            d = x.shape[i]
        elif d < -1:
            raise node.error("shape", f"{shape}: {d} is not a dimension")
        out.append(d)
    if out.count(-1) > 1:
        raise node.error("shape", f"{shape}: more than one -1")
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1], dtype=np.int64))
        if known == 0 or x.size % known:
            raise node.error("shape", f"cannot reshape {list(x.shape)} ({x.size} values) to {shape}")
        out[out.index(-1)] = x.size // known
    if int(np.prod(out, dtype=np.int64)) != x.size:
        raise node.error("shape", f"cannot reshape {list(x.shape)} ({x.size} values) to {shape}")
    return [x.reshape(out)]


@_op("Flatten")
def _flatten(node, inputs):
    x = _data(node, inputs, 0, "input")
    axis = node.attr("axis", 1)
    if not -x.ndim <= axis <= x.ndim:
        raise node.error("axis", f"{axis} is out of range for a rank-{x.ndim} input")
    axis = axis + x.ndim if axis < 0 else axis
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    cols = int(np.prod(x.shape[axis:], dtype=np.int64))
    return [x.reshape(rows, cols)]


@_op("Transpose")
def _transpose(node, inputs):
    x = _data(node, inputs, 0, "data")
    perm = node.attr("perm", None)
    perm = list(range(x.ndim))[::-1] if perm is None else list(perm)
    if sorted(perm) != list(range(x.ndim)):
        raise node.error("perm", f"{perm} is not a permutation of the {x.ndim} axes of {list(x.shape)}")
    return [np.transpose(x, perm)]


@_op("Concat")
def _concat(node, inputs):
    arrays = [np.asarray(a) for a in inputs if a is not None]
    if not arrays:
        raise node.error("inputs", "needs at least one input")
    _same_dtype(node, arrays)
    rank = arrays[0].ndim
    axis = _axis(node, node.attr("axis"), max(rank, 1))
    for a in arrays:
        if a.ndim != rank or a.shape[:axis] + a.shape[axis + 1:] != arrays[0].shape[:axis] + arrays[0].shape[axis + 1:]:
            raise node.error("inputs", "shapes " + ", ".join(str(list(b.shape)) for b in arrays)
                             + f" differ outside axis {axis}")
    return [np.concatenate(arrays, axis=axis)]


@_op("Split")
def _split(node, inputs):
    x = _data(node, inputs, 0, "input")
    axis = _axis(node, node.attr("axis", 0), x.ndim)
    n_out = len(node.outputs)
    if _opt(inputs, 1) is not None:
        split = _ints(node, inputs[1], "split")
    else:
        split = node.attr("split", None)
    dim = x.shape[axis]
    if split is None or len(split) == 0:
        n = node.attr("num_outputs", None)  # opset 18: the last part may be smaller
        if n is not None:
            part = -(-dim // n)
            split = [part] * (dim // part) + ([dim % part] if dim % part else [])
            if len(split) != n:
                raise node.error("num_outputs", f"{n} parts of {dim} do not fit")
        else:
            if n_out < 1 or dim % n_out:
                raise node.error("split", f"axis {axis} of size {dim} does not split into {n_out} equal parts")
            split = [dim // n_out] * n_out
    split = [int(s) for s in split]
    if any(s < 0 for s in split) or sum(split) != dim:
        raise node.error("split", f"{split} does not add up to the size {dim} of axis {axis}")
    if len(split) != n_out:
        raise node.error("split", f"{split} has {len(split)} parts for {n_out} outputs")
    bounds = np.cumsum([0] + split)
    return [np.take(x, np.arange(bounds[i], bounds[i + 1]), axis=axis) for i in range(n_out)]


@_op("Slice")
def _slice(node, inputs):
    x = _data(node, inputs, 0, "data")
    if _opt(inputs, 1) is not None or _opset(node) >= 10:
        starts = _ints(node, node.input(inputs, 1, "starts"), "starts")
        ends = _ints(node, node.input(inputs, 2, "ends"), "ends")
        axes = _opt(inputs, 3)
        axes = None if axes is None else _ints(node, axes, "axes")
        steps = _opt(inputs, 4)
        steps = None if steps is None else _ints(node, steps, "steps")
    else:
        starts, ends = list(node.attr("starts")), list(node.attr("ends"))
        axes, steps = node.attr("axes", None), None
    if axes is None:
        axes = list(range(len(starts)))
    if steps is None:
        steps = [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise node.error("starts", f"starts {starts}, ends {ends}, axes {axes}, steps {steps} differ in length")
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, _axes(node, axes, x.ndim), steps):
        dim = x.shape[axis]
        if step == 0:
            raise node.error("steps", "a step of 0")
        start = start + dim if start < 0 else start
        end = end + dim if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        else:
            start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
        index[axis] = slice(start, end if end >= 0 else None, step)
    return [x[tuple(index)]]


@_op("Shape")
def _shape(node, inputs):
    x = _data(node, inputs, 0, "data")
    rank = x.ndim

    def clamp(v):
        v = v + rank if v < 0 else v
        return min(max(v, 0), rank)

    start, end = clamp(node.attr("start", 0)), clamp(node.attr("end", rank))
    return [np.array(x.shape[start:end], dtype=np.int64)]


@_op("Gather")
def _gather(node, inputs):
    x = _data(node, inputs, 0, "data")
    indices = _data(node, inputs, 1, "indices")
    if not np.issubdtype(indices.dtype, np.integer):
        raise node.error("indices", f"must be integers, got {indices.dtype}")
    axis = _axis(node, node.attr("axis", 0), x.ndim)
    dim = x.shape[axis]
    if indices.size and (indices.min() < -dim or indices.max() >= dim):
        raise node.error("indices", f"values {int(indices.min())}..{int(indices.max())} are out of range "
                         f"for axis {axis} of size {dim}")
    return [np.take(x, np.where(indices < 0, indices + dim, indices).astype(np.int64), axis=axis)]


def _axes_input_or_attr(node, inputs):
    if _opt(inputs, 1) is not None:
        return _ints(node, inputs[1], "axes")
    axes = node.attr("axes", None)
    return None if axes is None else list(axes)


@_op("Unsqueeze")
def _unsqueeze(node, inputs):
    x = _data(node, inputs, 0, "data")
    axes = _axes_input_or_attr(node, inputs)
    if axes is None:
        raise node.error("axes", "required (an attribute before opset 13, input 1 after)")
    rank = x.ndim + len(axes)
    axes = _axes(node, axes, rank)
    shape = iter(x.shape)
    return [x.reshape([1 if i in axes else next(shape) for i in range(rank)])]


@_op("Squeeze")
def _squeeze(node, inputs):
    x = _data(node, inputs, 0, "data")
    axes = _axes_input_or_attr(node, inputs)
    if axes is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    axes = _axes(node, axes, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise node.error("axes", f"axis {a} of shape {list(x.shape)} is not 1")
    return [x.reshape([d for i, d in enumerate(x.shape) if i not in axes])]


@_op("Expand")
def _expand(node, inputs):
    x = _data(node, inputs, 0, "input")
    shape = _ints(node, node.input(inputs, 1, "shape"), "shape")
    try:
        out = np.broadcast_shapes(x.shape, tuple(shape))
    except ValueError:
        raise node.error("shape", f"{shape} does not broadcast with the input's {list(x.shape)}") from None
    return [np.array(np.broadcast_to(x, out))]


@_op("DepthToSpace")
def _depth_to_space(node, inputs):
    x = _data(node, inputs, 0, "input")
    bs = int(node.attr("blocksize"))
    mode = node.attr("mode", "DCR")
    if x.ndim != 4:
        raise node.error("input", f"needs shape N x C x H x W, got {list(x.shape)}")
    n, c, h, w = x.shape
    if bs < 1 or c % (bs * bs):
        raise node.error("blocksize", f"{bs}: the {c} channels are not a multiple of blocksize^2")
    if mode == "DCR":
        y = x.reshape(n, bs, bs, c // (bs * bs), h, w).transpose(0, 3, 4, 1, 5, 2)
    elif mode == "CRD":
        y = x.reshape(n, c // (bs * bs), bs, bs, h, w).transpose(0, 1, 4, 2, 5, 3)
    else:
        raise node.error("mode", f'"{mode}" is not DCR or CRD')
    return [y.reshape(n, c // (bs * bs), h * bs, w * bs)]


@_op("SpaceToDepth")
def _space_to_depth(node, inputs):
    x = _data(node, inputs, 0, "input")
    bs = int(node.attr("blocksize"))
    if x.ndim != 4:
        raise node.error("input", f"needs shape N x C x H x W, got {list(x.shape)}")
    n, c, h, w = x.shape
    if bs < 1 or h % bs or w % bs:
        raise node.error("blocksize", f"{bs} does not divide the spatial dims {h} x {w}")
    y = x.reshape(n, c, h // bs, bs, w // bs, bs).transpose(0, 3, 5, 1, 2, 4)
    return [y.reshape(n, c * bs * bs, h // bs, w // bs)]


@_op("Pad")
def _pad(node, inputs):
    x = _data(node, inputs, 0, "data")
    mode = node.attr("mode", "constant")
    if _opt(inputs, 1) is not None:
        pads = _ints(node, inputs[1], "pads")
        value = _opt(inputs, 2)
        value = x.dtype.type(0) if value is None or np.asarray(value).size == 0 else \
            _scalar(node, value, "constant_value").astype(x.dtype)
        axes = _opt(inputs, 3)  # opset 18
        axes = list(range(x.ndim)) if axes is None else _axes(node, _ints(node, axes, "axes"), x.ndim)
    else:
        if "pads" not in node.attrs and _opset(node) >= 11:
            raise node.error("pads", "input 1 is required")
        pads = list(node.attr("pads"))
        value = np.asarray(node.attr("value", 0.0)).astype(x.dtype)
        axes = list(range(x.ndim))
    if len(pads) != 2 * len(axes):
        raise node.error("pads", f"{pads}: need {2 * len(axes)} values (begin..., end...) for {len(axes)} axes")
    width = [(0, 0)] * x.ndim
    for i, a in enumerate(axes):
        width[a] = (pads[i], pads[len(axes) + i])
    grow = [(max(b, 0), max(e, 0)) for b, e in width]
    if mode == "constant":
        y = np.pad(x, grow, mode="constant", constant_values=value)
    elif mode in ("reflect", "edge", "wrap"):
        for a, (b, e) in enumerate(grow):
            if (b or e) and x.shape[a] == 0:
                raise node.error("pads", f"{mode} padding of an empty axis {a}")
            if mode == "reflect" and (b or e) and max(b, e) >= x.shape[a]:
                raise node.error("pads", f"reflect padding {max(b, e)} is not smaller than axis {a}'s "
                                 f"size {x.shape[a]}")
        y = np.pad(x, grow, mode=mode)
    else:
        raise node.error("mode", f'"{mode}" is not constant, reflect, edge or wrap')
    # negative pads crop (after the padding)
    crop = tuple(slice(-min(b, 0), y.shape[a] + min(e, 0)) for a, (b, e) in enumerate(width))
    for a, (b, e) in enumerate(width):
        if -min(b, 0) - min(e, 0) > y.shape[a]:
            raise node.error("pads", f"{pads} crop more than axis {a} holds")
    return [y[crop]]


# ------------------------------------------------------------------------------------ constants

@_op("Constant")
def _constant(node, inputs):
    a = node.attrs
    if "value" in a:
        value = a["value"]
        if not isinstance(value, np.ndarray):
            raise node.error("value", "is not a dense tensor (sparse tensors are not supported)")
        if value.dtype.kind in "OUS":
            raise node.error("value", "string tensors are not supported")
        return [value.copy()]
    if "value_float" in a:
        return [np.array(a["value_float"], dtype=np.float32)]
    if "value_floats" in a:
        return [np.array(a["value_floats"], dtype=np.float32).reshape(-1)]
    if "value_int" in a:
        return [np.array(a["value_int"], dtype=np.int64)]
    if "value_ints" in a:
        return [np.array(a["value_ints"], dtype=np.int64).reshape(-1)]
    for name in ("sparse_value", "value_string", "value_strings"):
        if name in a:
            raise node.error(name, "is not supported (only numeric dense values)")
    raise node.error("value", "required: one of value, value_float(s), value_int(s)")


@_op("ConstantOfShape")
def _constant_of_shape(node, inputs):
    shape = _ints(node, node.input(inputs, 0, "input"), "input")
    if any(d < 0 for d in shape):
        raise node.error("input", f"shape {shape} has a negative dim")
    value = node.attr("value", None)
    if value is None:
        value = np.zeros(1, dtype=np.float32)
    value = np.asarray(value)
    if value.size != 1:
        raise node.error("value", f"must hold one element, got shape {list(value.shape)}")
    return [np.full(shape, value.reshape(()), dtype=value.dtype)]


@_op("Cast")
def _cast(node, inputs):
    x = _data(node, inputs, 0, "input")
    to = node.attr("to")
    if to not in ELEM_DTYPES:
        raise node.error("to", f"{to} ({_DTYPE_NAMES.get(to, 'unknown')}) is not a supported type")
    if x.dtype.kind in "OUS":
        raise node.error("input", "string tensors are not supported")
    return [x.astype(ELEM_DTYPES[to])]


@_op("Range")
def _range(node, inputs):
    start = _scalar(node, node.input(inputs, 0, "start"), "start")
    limit = _scalar(node, node.input(inputs, 1, "limit"), "limit")
    delta = _scalar(node, node.input(inputs, 2, "delta"), "delta")
    _same_dtype(node, [start, limit, delta])
    if delta == 0:
        raise node.error("delta", "must not be 0")
    n = max(int(math.ceil(float(limit - start) / float(delta))), 0)
    return [(start + np.arange(n).astype(start.dtype) * delta).astype(start.dtype)]


# ------------------------------------------------------------------------------- Resize, Upsample

def _original_coordinates(node, mode, out_len, in_len, scale, roi_start, roi_end):
    """Output index -> input coordinate, in float32 as ORT computes it."""
    f = np.float32
    x = np.arange(out_len, dtype=f)
    scale, lr, lo = f(scale), f(out_len), f(in_len)
    if mode == "half_pixel":
        return (x + f(0.5)) / scale - f(0.5)
    if mode == "asymmetric":
        return x / scale
    if mode == "pytorch_half_pixel":
        return (x + f(0.5)) / scale - f(0.5) if out_len > 1 else np.zeros_like(x)
    if mode == "tf_half_pixel_for_nn":
        return (x + f(0.5)) / scale
    if mode == "align_corners":
        return x * (lo - f(1)) / (lr - f(1)) if out_len > 1 else np.zeros_like(x)
    if mode == "tf_crop_and_resize":
        rs, re = f(roi_start), f(roi_end)
        if out_len > 1:
            return rs * (lo - f(1)) + (x * (re - rs) * (lo - f(1))) / (lr - f(1))
        return np.full_like(x, f(0.5 * (float(rs) + float(re)) * (in_len - 1)))
    if mode == "half_pixel_symmetric":  # opset 18
        adjustment = lr / (scale * lo)
        offset = lo / f(2) * (f(1) - adjustment)
        return offset + (x + f(0.5)) / scale - f(0.5)
    raise node.error("coordinate_transformation_mode", f'"{mode}" is not supported')


def _nearest_index(node, coords, nearest_mode, downsampling):
    if nearest_mode == "simple":  # Resize-10 / Upsample: ORT's original rule
        return np.ceil(coords) if downsampling else np.trunc(coords)
    if nearest_mode == "round_prefer_floor":
        return np.where(coords == np.floor(coords) + np.float32(0.5), np.floor(coords), np.round(coords))
    if nearest_mode == "round_prefer_ceil":  # std::round: halves away from zero
        return np.where(coords == np.floor(coords) + np.float32(0.5), np.ceil(coords), np.round(coords))
    if nearest_mode == "floor":
        return np.floor(coords)
    if nearest_mode == "ceil":
        return np.ceil(coords)
    raise node.error("nearest_mode", f'"{nearest_mode}" is not round_prefer_floor, round_prefer_ceil, '
                     f"floor or ceil")


def _cubic_weights(t, a):
    """The four cubic weights for neighbours at distances t+1, t, 1-t, 2-t (float32)."""
    a = np.float32(a)

    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    one = np.float32(1)
    return [far(t + one), near(t), near(one - t), far(2 * one - t)]


def _interpolate(node, x, out_shape, scales, roi, mode, ctm, nearest_mode, cubic_a, exclude_outside,
                 extrapolation):
    r = x.ndim
    work = x if mode == "nearest" else x.astype(x.dtype if _is_float(x) else np.float32)
    outside = np.zeros(out_shape, dtype=bool) if ctm == "tf_crop_and_resize" else None
    for axis in range(r):
        lin, lout, scale = x.shape[axis], out_shape[axis], scales[axis]
        if lin == 0 or lout == 0:
            if lin != lout:
                raise node.error("X", f"cannot resize axis {axis} from {lin} to {lout}")
            continue
        if ctm != "tf_crop_and_resize" and lin == lout and scale == 1:
            continue  # ORT skips the transformation at scale 1
        coords = _original_coordinates(node, ctm, lout, lin, scale, roi[axis], roi[r + axis])
        shape = [1] * r
        shape[axis] = lout
        if outside is not None:
            outside |= ((coords < 0) | (coords > np.float32(lin - 1))).reshape(shape)

        def take(i):
            return np.take(work, np.clip(i, 0, lin - 1).astype(np.int64), axis=axis)

        if mode == "nearest":
            work = take(_nearest_index(node, coords, nearest_mode, scale < 1))
        elif mode == "linear":
            c = np.clip(coords, np.float32(0), np.float32(lin - 1))
            i1 = np.minimum(c.astype(np.int64), lin - 1)
            i2 = np.minimum(i1 + 1, lin - 1)
            d1 = np.abs(c - i1.astype(np.float32))
            d2 = np.abs(c - i2.astype(np.float32))
            same = i1 == i2
            d1, d2 = np.where(same, np.float32(0.5), d1), np.where(same, np.float32(0.5), d2)
            dt = work.dtype
            work = take(i1) * d2.astype(dt).reshape(shape) + take(i2) * d1.astype(dt).reshape(shape)
        elif mode == "cubic":
            base = np.floor(coords)
            t = (coords - base).astype(np.float32)
            idx = [base.astype(np.int64) + k for k in (-1, 0, 1, 2)]
            w = _cubic_weights(t, cubic_a)
            if exclude_outside:
                w = [np.where((i < 0) | (i >= lin), np.float32(0), wk) for i, wk in zip(idx, w)]
                total = w[0] + w[1] + w[2] + w[3]
                w = [wk / total for wk in w]
            dt = work.dtype
            acc = None
            for i, wk in zip(idx, w):
                term = take(i) * wk.astype(dt).reshape(shape)
                acc = term if acc is None else acc + term
            work = acc
        else:
            raise node.error("mode", f'"{mode}" is not nearest, linear or cubic')
    if outside is not None and outside.any():
        work = np.where(outside, np.asarray(extrapolation).astype(work.dtype), work)
    if work.dtype != x.dtype:
        work = np.trunc(work) if not _is_float(x) else work
        work = work.astype(x.dtype)
    return work


def _scales_to_shape(node, x, scales):
    scales = np.asarray(scales, dtype=np.float32).reshape(-1)
    if scales.size != x.ndim:
        raise node.error("scales", f"{scales.tolist()} has {scales.size} values for a rank-{x.ndim} input")
    if np.any(~(scales > 0)):
        raise node.error("scales", f"{scales.tolist()}: every scale must be > 0")
    out = [int(np.float32(s) * np.float32(d)) for s, d in zip(scales, x.shape)]
    return scales, out


@_op("Upsample")
def _upsample(node, inputs):
    x = _data(node, inputs)
    scales = _opt(inputs, 1)
    if scales is None:
        scales = node.attr("scales", None)
        if scales is None:
            raise node.error("scales", "required (an attribute before opset 9, input 1 after)")
    scales, out = _scales_to_shape(node, x, scales)
    mode = node.attr("mode", "nearest")
    if mode not in ("nearest", "linear"):
        raise node.error("mode", f'"{mode}" is not nearest or linear')
    roi = [0.0] * x.ndim + [1.0] * x.ndim
    return [_interpolate(node, x, out, scales, roi, mode, "asymmetric", "simple", -0.75, False, 0.0)]


@_op("Resize")
def _resize(node, inputs):
    x = _data(node, inputs)
    r = x.ndim
    if r == 0:
        raise node.error("X", "needs at least one dimension")
    mode = node.attr("mode", "nearest")
    if mode not in ("nearest", "linear", "cubic"):
        raise node.error("mode", f'"{mode}" is not nearest, linear or cubic')
    if int(node.attr("antialias", 0)):
        raise node.error("antialias", "antialias=1 is not supported")

    def present(a):
        return a is not None and np.asarray(a).size > 0

    if _opset(node) < 11:  # Resize-10: X, scales; asymmetric coordinates, ORT's simple nearest rule
        scales, out = _scales_to_shape(node, x, node.input(inputs, 1, "scales"))
        roi = [0.0] * r + [1.0] * r
        return [_interpolate(node, x, out, scales, roi, mode, "asymmetric", "simple", -0.75, False, 0.0)]

    roi_in, scales_in, sizes_in = _opt(inputs, 1), _opt(inputs, 2), _opt(inputs, 3)
    axes = node.attr("axes", None)  # opset 18
    axes = list(range(r)) if axes is None else _axes(node, list(axes), r)
    if present(scales_in) == present(sizes_in):
        raise node.error("scales", "exactly one of scales (input 2) and sizes (input 3) must be given")
    if present(scales_in):
        given = np.asarray(scales_in, dtype=np.float32).reshape(-1)
        if given.size != len(axes):
            raise node.error("scales", f"{given.tolist()} has {given.size} values for {len(axes)} axes")
        full = np.ones(r, dtype=np.float32)
        full[axes] = given
        scales, out = _scales_to_shape(node, x, full)
    else:
        given = _ints(node, sizes_in, "sizes")
        if len(given) != len(axes) or any(s < 0 for s in given):
            raise node.error("sizes", f"{given}: need {len(axes)} sizes >= 0")
        out = list(x.shape)
        for a, s in zip(axes, given):
            out[a] = s
        scales = np.array([np.float32(o) / np.float32(i) if i else 1 for o, i in zip(out, x.shape)],
                          dtype=np.float32)
        policy = node.attr("keep_aspect_ratio_policy", "stretch")
        if policy in ("not_larger", "not_smaller"):
            pick = min if policy == "not_larger" else max
            s = pick(scales[a] for a in axes)
            for a in axes:
                scales[a] = s
                out[a] = int(np.round(s * np.float32(x.shape[a])))
        elif policy != "stretch":
            raise node.error("keep_aspect_ratio_policy", f'"{policy}" is not stretch, not_larger or not_smaller')
    ctm = node.attr("coordinate_transformation_mode", "half_pixel")
    roi = [0.0] * r + [1.0] * r
    if ctm == "tf_crop_and_resize":
        if not present(roi_in):
            raise node.error("roi", "tf_crop_and_resize needs the roi input")
        given = np.asarray(roi_in, dtype=np.float32).reshape(-1)
        if given.size != 2 * len(axes):
            raise node.error("roi", f"{given.tolist()} has {given.size} values, need {2 * len(axes)}")
        for i, a in enumerate(axes):
            roi[a], roi[r + a] = given[i], given[len(axes) + i]
    exclude_outside = bool(node.attr("exclude_outside", 0))
    return [_interpolate(node, x, out, scales, roi, mode, ctm,
                         node.attr("nearest_mode", "round_prefer_floor"),
                         node.attr("cubic_coeff_a", -0.75), exclude_outside,
                         node.attr("extrapolation_value", 0.0))]


# --------------------------------------------------------------------------------- movement rule

def moves_values(node: Node, inputs: list | None = None) -> bool:
    """True when this node's outputs only move, select or copy values of its data input(s), so that
    applying it to integer codes instead of floats gives the codes of its float outputs.

    Resize/Upsample: nearest mode only (and tf_crop_and_resize only with extrapolation_value 0).
    Pad: edge/reflect/wrap always; constant only with value 0 (the attribute before opset 11, input 2
    after: pass ``inputs`` to have it read; a named constant input that is not given counts as not 0).
    MaxPool: its first output (Indices, output 1, are positions, not values)."""
    op = node.op_type
    if op not in MOVEMENT_OPS or node.domain not in ("", "ai.onnx"):
        return False
    if op in ("Resize", "Upsample"):
        if node.attrs.get("mode", "nearest") != "nearest":
            return False
        if op == "Resize" and node.attrs.get("coordinate_transformation_mode") == "tf_crop_and_resize":
            return float(node.attrs.get("extrapolation_value", 0.0)) == 0.0
        return True
    if op == "Pad":
        mode = node.attrs.get("mode", "constant")
        if mode in ("reflect", "edge", "wrap"):
            return True
        if mode != "constant":
            return False
        if "value" in node.attrs and float(node.attrs["value"]) != 0.0:
            return False
        named = len(node.inputs) > 2 and node.inputs[2] != ""
        if not named:
            return True
        value = None if inputs is None else _opt(inputs, 2)
        if value is None:
            return False
        value = np.asarray(value)
        return bool(value.size == 0 or np.all(value == 0))
    return True
