"""The QONNX quantizer ops (IntQuant/Quant, BipolarQuant, Trunc, MultiThreshold, FloatQuant) as
plain numpy functions that reproduce qonnx's own execution bit for bit.

    import numpy as np
    from accsim_import.qonnx_ops import quant, int_range, float_quant, float_quant_format

    x = np.array([-1.3, 0.26, 9.0], dtype=np.float32)
    y, codes = quant(x, np.float32(0.25), np.float32(0), np.float32(4),
                     signed=1, narrow=0, rounding_mode="ROUND")
    # y == [-1.25, 0.25, 1.75] (float32), codes == [-5, 1, 7] (int64)
    int_range(4, True, False)                     # (-8, 7)
    float_quant_format(4, 3, 7, 448.0, False, True, True)   # "e4m3"

Reference: github.com/fastmachinelearning/qonnx, src/qonnx/custom_op/general/{intquant,
bipolar_quant,trunc,multithreshold,floatquant}.py and docs/qonnx-custom-ops/*.md (read at
commit cc2ec17b, Feb 2026). Each function performs the reference's numpy operations on the
same operands in the same order, so float rounding, dtype promotion and broadcasting come out
the same; the float32 cast that a node's ``execute_node`` applies is noted per function.

Parameters are checked (the reference checks nothing); a bad one raises
``ImportInputError("<field>: <what>")``. Data (``x``) is never rejected: NaN propagates as the
reference lets it, and an integer ``codes`` entry whose value is NaN is reported as 0.

Rounding modes (upper- or lower-case, as the reference upper-cases the attribute):
    ROUND = HALF_EVEN   round half to even (np.round)
    CEIL, FLOOR         toward +inf / -inf
    UP                  away from zero: sign(v) * ceil(|v|)
    DOWN                toward zero (np.fix); Brevitas calls this ROUND_TO_ZERO, qonnx does not
                        accept that name and neither do we
    HALF_UP             sign(v) * floor(|v| + 0.5): ties away from zero
    HALF_DOWN           sign(v) * ceil(|v| - 0.5): ties toward zero
HALF_UP/HALF_DOWN are computed in the working float type like the reference, so |v| + 0.5 can
round: float32 0.49999997 goes to 1 under HALF_UP, as in qonnx.
"""
from __future__ import annotations

import numpy as np

from .node import ImportInputError

# Codes are returned as int64; a float code can reach the bound 2**(bit_width-1) or
# 2**bit_width - 1, which float32 rounds up to a power of two. 62 keeps every such value
# inside int64.
MAX_BIT_WIDTH = 62


# ---------------------------------------------------------------------------------------------
# rounding


def _round_away(v):
    return np.sign(v) * np.ceil(np.abs(v))


def _round_half_up(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _round_half_down(v):
    return np.sign(v) * np.ceil(np.abs(v) - 0.5)


_ROUNDING = {
    "ROUND": np.round,
    "HALF_EVEN": np.round,
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "UP": _round_away,
    "DOWN": np.fix,
    "HALF_UP": _round_half_up,
    "HALF_DOWN": _round_half_down,
}

ROUNDING_MODES = tuple(_ROUNDING)


def rounding_function(mode: str):
    """The elementwise numpy function for a QONNX ``rounding_mode`` (case-insensitive)."""
    if not isinstance(mode, str):
        raise ImportInputError(f"rounding_mode: must be a string, got {mode!r}")
    fn = _ROUNDING.get(mode.upper())
    if fn is None:
        raise ImportInputError(f'rounding_mode: unknown "{mode}"; known: {", ".join(ROUNDING_MODES)}')
    return fn


# ---------------------------------------------------------------------------------------------
# parameter checks


def _show(a: np.ndarray) -> str:
    return str(a.item()) if a.size == 1 else np.array2string(a.ravel()[:8], separator=", ")


def _positive(value, field: str) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "fiu" or a.size == 0:
        raise ImportInputError(f"{field}: must be a non-empty numeric tensor, got dtype {a.dtype}, "
                               f"shape {a.shape}")
    if not np.all(a > 0):  # NaN fails too
        bad = a[~(a > 0)]
        raise ImportInputError(f"{field}: must be positive, got {_show(bad)}")
    if not np.all(np.isfinite(a)):
        raise ImportInputError(f"{field}: must be finite, got {_show(a[~np.isfinite(a)])}")
    return a


def _finite(value, field: str) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "fiu" or a.size == 0:
        raise ImportInputError(f"{field}: must be a non-empty numeric tensor, got dtype {a.dtype}, "
                               f"shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ImportInputError(f"{field}: must be finite, got {_show(a[~np.isfinite(a)])}")
    return a


def _whole(value, field: str, lo: int, hi: int | None, one: bool) -> np.ndarray:
    """An integer-valued tensor (any numeric dtype) with every element in [lo, hi].
    one=True: it must hold exactly one element. Integer dtypes are widened to int64 so that
    ``2 ** w`` cannot wrap."""
    a = np.asarray(value)
    if a.dtype == np.bool_ or a.dtype.kind not in "fiu" or a.size == 0:
        raise ImportInputError(f"{field}: must be a non-empty numeric tensor, got dtype {a.dtype}, "
                               f"shape {a.shape}")
    if one and a.size != 1:
        raise ImportInputError(f"{field}: must be a single value (qonnx cannot execute a "
                               f"per-element {field}), got shape {a.shape}")
    if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
        raise ImportInputError(f"{field}: must be a whole number, got {_show(a)}")
    if np.any(a < lo) or (hi is not None and np.any(a > hi)):
        span = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ImportInputError(f"{field}: must be in {span}, got {_show(a)}")
    if a.dtype.kind in "iu":
        a = a.astype(np.int64)
    return a


def _flag(value, field: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        raise ImportInputError(f"{field}: must be 0 or 1, got {value!r}") from None
    if as_int != value or as_int not in (0, 1):
        raise ImportInputError(f"{field}: must be 0 or 1, got {value!r}")
    return bool(as_int)


def _same_shape_family(field_shapes: list[tuple[str, tuple]]) -> None:
    try:
        np.broadcast_shapes(*(s for _, s in field_shapes))
    except ValueError:
        desc = ", ".join(f"{f} {s}" for f, s in field_shapes)
        raise ImportInputError(f"{field_shapes[1][0]}: shapes do not broadcast: {desc}") from None


# ---------------------------------------------------------------------------------------------
# integer ranges


def int_range(bit_width, signed, narrow) -> tuple[int, int]:
    """The integer code range (lo, hi) of an IntQuant with these attributes, as Python ints.

    This is qonnx's (min_int, max_int): signed [-2^(b-1), 2^(b-1)-1], narrow lifts lo by one;
    unsigned [0, 2^b-1] and -- the qonnx code, not its doc -- narrow *unsigned* lowers hi by one.
    One exception: a signed 1-bit IntQuant does not use min_int/max_int at all, it emits the
    bipolar codes {-1, +1} (see ``quant``), so its range is reported as (-1, 1) for any narrow.
    Beyond 24 bits (float32) or 53 (float64) the clamp bound qonnx applies is this bound
    rounded to the float type, so a code can overshoot it by that rounding (e.g. unsigned 31
    bits in float32: hi 2^31 - 1 becomes 2^31).
    """
    b = int(_whole(bit_width, "bit_width", 1, MAX_BIT_WIDTH, one=True).item())
    s, n = _flag(signed, "signed"), _flag(narrow, "narrow")
    if s and b == 1:
        return -1, 1
    if s:
        return -(2 ** (b - 1)) + int(n), 2 ** (b - 1) - 1
    return 0, 2**b - 1 - int(n)


def _bounds(width: np.ndarray, signed: bool, narrow: bool):
    """qonnx's min_int/max_int evaluated on the width tensor itself, so the bounds carry the
    width's dtype and shape exactly as in the reference (a float32 width gives float32 bounds)."""
    if signed:
        lo = -(2 ** (width - 1)) + (1 if narrow else 0)
        hi = 2 ** (width - 1) - 1
    else:
        lo = 0 * width
        hi = 2**width - (2 if narrow else 1)
    return np.asarray(lo), np.asarray(hi)


def _clamp(v, lo: np.ndarray, hi: np.ndarray):
    # Two selects in this order (upper first), like the reference; the bound is converted to
    # the working dtype before it replaces a value.
    v = np.where(v > hi, hi.astype(v.dtype), v)
    return np.where(v < lo, lo.astype(v.dtype), v)


def _codes(r) -> np.ndarray:
    r = np.asarray(r)
    if r.dtype.kind == "f":
        r = np.where(np.isnan(r), 0, r)
    return r.astype(np.int64)


def _node_output(y) -> np.ndarray:
    """What IntQuant/FloatQuant ``execute_node`` stores: always an ndarray, always float32."""
    return np.asarray(y, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# IntQuant / Quant


def quant(x, scale, zero_point, bit_width, signed, narrow, rounding_mode="ROUND"):
    """QONNX ``IntQuant`` (and its old name ``Quant``). Returns ``(y, codes)``.

    Reference order: v = x / scale; v = v + zero_point; clamp v to [lo, hi] (upper bound first);
    round with ``rounding_mode``; y = (v - zero_point) * scale. Because the bounds are integers,
    clamp-then-round equals round-then-clamp for every mode. ``y`` is cast to float32 at the
    end as IntQuant.execute_node does, so ``y == ((codes - zero_point) * scale).astype(float32)``
    with the subtraction and product done in the working dtype (that of ``x / scale +
    zero_point``; float32 for float32 operands). For float32 operands that is plain float32
    arithmetic.

    signed and bit_width == 1: qonnx skips clamp and rounding and emits bipolar codes,
    ``+1 where v >= 0 else -1`` (NaN -> -1), whatever ``narrow`` says.

    scale, zero_point: broadcastable to x (per tensor or per channel). bit_width: a single
    whole number in 1..MAX_BIT_WIDTH, any numeric dtype and any shape of one element (its shape
    takes part in broadcasting, as in qonnx); qonnx fails on a per-element bit width, so that
    is rejected. ``codes`` has the shape of ``y``.
    """
    x = np.asarray(x)
    scale = _positive(scale, "scale")
    zero_point = _finite(zero_point, "zero_point")
    width = _whole(bit_width, "bit_width", 1, MAX_BIT_WIDTH, one=True)
    signed, narrow = _flag(signed, "signed"), _flag(narrow, "narrow")
    to_int = rounding_function(rounding_mode)
    _same_shape_family([("x", x.shape), ("scale", scale.shape), ("zero_point", zero_point.shape),
                        ("bit_width", width.shape)])

    v = x / scale
    v = v + zero_point
    if signed and width.item() == 1:
        ones = np.ones(v.shape, dtype=v.dtype)
        v = np.where(v >= 0.0, ones, -ones)
    else:
        lo, hi = _bounds(width, signed, narrow)
        v = to_int(_clamp(v, lo, hi))
    y = (v - zero_point) * scale
    return _node_output(y), _codes(v)


# ---------------------------------------------------------------------------------------------
# BipolarQuant


def bipolar_quant(x, scale):
    """QONNX ``BipolarQuant``. Returns ``(y, codes)``: codes = +1 where x >= 0 else -1 (NaN ->
    -1), y = codes * scale computed in x's dtype with numpy promotion against scale.
    BipolarQuant.execute_node does not cast to float32 (only a 0-d result becomes a float32
    array); neither does this."""
    x = np.asarray(x)
    scale = _positive(scale, "scale")
    _same_shape_family([("x", x.shape), ("scale", scale.shape)])
    ones = np.ones(x.shape, dtype=x.dtype)
    signs = np.where(x >= 0.0, ones, -ones)
    y = signs * scale
    if not isinstance(y, np.ndarray):
        y = np.asarray(y, dtype=np.float32)
    codes = np.broadcast_to(_codes(signs), y.shape).copy()
    return y, codes


# ---------------------------------------------------------------------------------------------
# Trunc


def trunc_version(opset_version: int | None) -> int:
    """Which Trunc a qonnx executor runs for a node. qonnx picks the op class by the model's
    ``opset_import`` version *for the node's domain string* (e.g. "qonnx.custom_op.general" or
    "onnx.brevitas"), with since-version semantics: the highest class version <= that number.
    A domain missing from opset_import falls back to qonnx's preferred opset, 1.
    So: None or 1 -> Trunc v1, >= 2 -> Trunc v2."""
    if opset_version is None:
        return 1
    v = int(opset_version)
    if v < 1:
        raise ImportInputError(f"opset_import: Trunc needs domain version >= 1, got {v}")
    return 1 if v == 1 else 2


def trunc(x, scale, zero_point, input_bit_width, output_bit_width, rounding_mode="FLOOR",
          signed=True, narrow=False, output_scale=None, version=1):
    """QONNX ``Trunc``. Returns ``(y, codes)``; ``codes`` (int64, shape of y) is the truncated
    integer after the final rounding.

    Both versions first requantize to the input grid with round-half-even regardless of
    ``rounding_mode``: v = round(x / scale + zero_point). ``rounding_mode`` (default FLOOR)
    applies to the truncation step only.

    Version 1 (inputs X, scale, zeropt, in_bitwidth, out_bitwidth; attribute rounding_mode):
        codes = rounding(v / 2**(input_bit_width - output_bit_width))   -- no clamp
        y = (codes - zero_point) * scale
      Note the *input* scale and the undivided zero point are used to rescale, so v1's y is
      the truncated code on the input grid (x / 2**k in magnitude), as qonnx computes it.
      ``signed``/``narrow``/``output_scale`` do not exist in v1: signed/narrow are ignored,
      output_scale must be None.

    Version 2 (inputs X, scale, zeropt, in_bitwidth, out_scale, out_bitwidth; attributes
    rounding_mode, signed (default 1), narrow (default 0)):
        t = 2 ** round(log2(output_scale / scale))       -- forced to a power of two
        codes = rounding(clamp(v / t, int range of output_bit_width, signed, narrow))
        y = (codes - zero_point / t) * output_scale
      input_bit_width is validated but does not enter the computation (as in qonnx).

    Neither version casts to float32 (Trunc.execute_node stores the raw result).
    Bit widths may be per element (qonnx broadcasts them); each must be a whole number in
    1..MAX_BIT_WIDTH. See ``trunc_version`` for how qonnx chooses the version.
    """
    if version not in (1, 2):
        raise ImportInputError(f"version: Trunc has versions 1 and 2, got {version!r}")
    x = np.asarray(x)
    scale = _positive(scale, "scale")
    zero_point = _finite(zero_point, "zero_point")
    in_width = _whole(input_bit_width, "input_bit_width", 1, MAX_BIT_WIDTH, one=False)
    out_width = _whole(output_bit_width, "output_bit_width", 1, MAX_BIT_WIDTH, one=False)
    to_int = rounding_function(rounding_mode)
    shapes = [("x", x.shape), ("scale", scale.shape), ("zero_point", zero_point.shape),
              ("input_bit_width", in_width.shape), ("output_bit_width", out_width.shape)]

    if version == 1:
        if output_scale is not None:
            raise ImportInputError("output_scale: Trunc v1 has no output_scale input (v2 only)")
        _same_shape_family(shapes)
        v = x / scale
        v = v + zero_point
        v = np.round(v)
        step = 2.0 ** (in_width - out_width)
        v = to_int(v / step)
        y = (v - zero_point) * scale
        return np.asarray(y), _codes(v)

    if output_scale is None:
        raise ImportInputError("output_scale: Trunc v2 needs the out_scale input")
    output_scale = _positive(output_scale, "output_scale")
    signed, narrow = _flag(signed, "signed"), _flag(narrow, "narrow")
    _same_shape_family(shapes + [("output_scale", output_scale.shape)])
    v = x / scale
    v = v + zero_point
    v = np.round(v)
    step = 2 ** np.round(np.log2(output_scale / scale))
    v = v / step
    lo, hi = _bounds(out_width, signed, narrow)
    v = to_int(_clamp(v, lo, hi))
    y = (v - zero_point / step) * output_scale
    return np.asarray(y), _codes(v)


# ---------------------------------------------------------------------------------------------
# MultiThreshold


def multithreshold(x, thresholds, out_scale=1.0, out_bias=0.0, data_layout="NCHW"):
    """FINN/QONNX ``MultiThreshold``: y = out_scale * count + out_bias, where count is, per
    element, how many of its channel's thresholds satisfy ``x >= threshold`` (thresholds need
    not be sorted; NaN counts nothing). ``count`` is cast to x's dtype before scaling, so a
    float32 x gives a float32 y (the attributes are Python floats).

    thresholds: 2-D [C, T] or [1, T] (one row shared by all channels). The channel axis is the
    last one when ``data_layout`` ends in "C" (NHWC, NC, ...), else axis 1 (NCHW; for a 2-D
    input axis 1 is the last axis either way). None for out_scale/out_bias means 1.0/0.0.
    """
    x = np.asarray(x)
    thr = np.asarray(thresholds)
    if not isinstance(data_layout, str) or not data_layout:
        raise ImportInputError(f"data_layout: must be a non-empty string, got {data_layout!r}")
    if thr.ndim != 2:
        raise ImportInputError(f"thresholds: must be 2-D [channels or 1, steps], got shape {thr.shape}")
    channels_last = data_layout[-1] == "C"
    axis = -1 if channels_last else 1
    if x.ndim < (1 if channels_last else 2):
        raise ImportInputError(f"x: a {data_layout} input needs a channel axis, got shape {x.shape}")
    channels = x.shape[axis]
    if thr.shape[0] not in (1, channels):
        raise ImportInputError(f"thresholds: {thr.shape[0]} rows for {channels} channels "
                               f"(input shape {x.shape}, layout {data_layout}); need {channels} or 1")
    out_scale = 1.0 if out_scale is None else float(out_scale)
    out_bias = 0.0 if out_bias is None else float(out_bias)

    moved = x if channels_last else np.moveaxis(x, 1, -1)  # channels last: [..., C]
    count = np.zeros(moved.shape, dtype=np.int64)
    for step in range(thr.shape[1]):
        count += moved >= thr[:, step]  # [C] or [1] broadcasts along the last axis
    count = count.astype(x.dtype)
    if not channels_last:
        count = np.moveaxis(count, -1, 1)
    return out_scale * count + out_bias


# ---------------------------------------------------------------------------------------------
# FloatQuant


def _float_limit(e_width, m_width, bias):
    """Largest finite value of an (e, m, bias) minifloat with every exponent code normal:
    (2 - 2^-m) * 2^(2^e - 1 - bias). Evaluated with the dtypes qonnx's compute_max_val ends up
    with (a float64 mantissa factor times a power of two in the widths' dtype)."""
    top_exponent = (2.0**e_width) - 1.0 - bias
    mantissa = np.float64(2.0 - 2.0 ** -float(np.asarray(m_width).item()))
    return mantissa * (2**top_exponent)


def float_quant(x, scale, exponent_bitwidth, mantissa_bitwidth, exponent_bias=None, max_val=None,
                has_inf=False, has_nan=False, has_subnormal=True, rounding_mode="ROUND",
                saturation=True):
    """QONNX ``FloatQuant`` (signed; qonnx's executor always passes signed=True). Returns y,
    cast to float32 as FloatQuant.execute_node does.

    Reference computation, with v = x / scale in the working dtype:
        step = 2 ** max(floor(log2(|v| + tiny)) - m, 1 - bias - m)    tiny = finfo(v).tiny
        q = step * rounding(v / step)          -- rounding_mode, default ROUND (half to even)
        limit = min((2 - 2^-m) * 2^(2^e - 1 - bias), max_val)
        q = clip(q, -limit, limit); y = q * scale
    So subnormals are always produced (the step never drops below 2^(1-bias-m)), regardless of
    has_subnormal, which like has_inf/has_nan only informs backends -- except when
    saturation=0: then values beyond the limit become +-inf (has_inf) or NaN (has_nan; and an
    inf q becomes NaN too); saturation=0 with neither flag is an error in qonnx and here.
    Quirks kept: the exponent comes from a float log2, so an |v| within an ulp or so below a
    power of two >= 8 gets a step one binade too large (float32 log2(16 - 2^-20) rounds to 4).
    Nearest modes, CEIL on positives, FLOOR on negatives and UP are unaffected (both grids give
    the power of two); FLOOR on positives, CEIL on negatives and DOWN give the next grid value
    of the coarser binade (e4m3, FLOOR: 8 - 2^-21 -> 7.0, not 7.5). An infinite x gives NaN
    (inf / inf).

    exponent_bitwidth >= 1, mantissa_bitwidth >= 0, exponent_bias: single whole numbers
    (None bias -> 2^(e-1) - 1). max_val: None (format maximum) or positive, broadcastable.
    """
    x = np.asarray(x)
    scale = _positive(scale, "scale")
    e_width = _whole(exponent_bitwidth, "exponent_bitwidth", 1, 11, one=True)
    m_width = _whole(mantissa_bitwidth, "mantissa_bitwidth", 0, 52, one=True)
    if exponent_bias is None:
        bias = (2.0 ** (e_width - 1)) - 1
    else:
        bias = _whole(exponent_bias, "exponent_bias", -(2**20), 2**20, one=True)
    shapes = [("x", x.shape), ("scale", scale.shape)]
    if max_val is not None:
        max_val = np.asarray(max_val)
        if max_val.dtype.kind not in "fiu" or max_val.size == 0:
            raise ImportInputError(f"max_val: must be a non-empty numeric tensor, got dtype "
                                   f"{max_val.dtype}, shape {max_val.shape}")
        if not np.all(max_val > 0):  # NaN fails too; +inf means "the format's own maximum"
            raise ImportInputError(f"max_val: must be positive, got {_show(max_val[~(max_val > 0)])}")
        shapes.append(("max_val", max_val.shape))
    to_int = rounding_function(rounding_mode)
    saturation = _flag(saturation, "saturation")
    has_inf, has_nan = _flag(has_inf, "has_inf"), _flag(has_nan, "has_nan")
    _flag(has_subnormal, "has_subnormal")
    if not saturation and not (has_inf or has_nan):
        raise ImportInputError("saturation: 0 needs has_inf or has_nan to say what an overflow "
                               "becomes")
    _same_shape_family(shapes)

    v = x / scale
    tiny = np.finfo(v.dtype).tiny
    lowest_step = 1.0 - bias - m_width
    with np.errstate(invalid="ignore"):  # an infinite v gives inf / inf = NaN, as in qonnx
        step = np.floor(np.log2(np.abs(v) + tiny)) - m_width
        step = np.exp2(np.maximum(step, lowest_step))
        q = step * to_int(v / step)

    limit = _float_limit(e_width, m_width, bias)
    if max_val is not None:
        limit = np.minimum(limit, max_val)
    floor_value = -limit
    was_inf = np.isinf(q)
    above = q > limit
    below = q < floor_value
    q = np.array(np.clip(q, floor_value, limit))  # writable ndarray even for 0-d
    if not saturation:
        if has_inf:
            q[above] = np.inf
            q[below] = -np.inf
        else:
            q[np.logical_or(above, below)] = np.nan
            q[was_inf] = np.nan
    return _node_output(q * scale)


# OCP OFP8 formats as FloatQuant parameters: (exponent bits, mantissa bits, bias, max value).
_OCP_FP8 = {
    "e4m3": (4, 3, 7, 448.0),     # E4M3FN: no inf, one NaN code
    "e5m2": (5, 2, 15, 57344.0),  # IEEE-like: inf and NaN codes
}


def float_quant_format(exponent_bitwidth, mantissa_bitwidth, exponent_bias, max_val,
                       has_inf=False, has_nan=False, has_subnormal=True) -> str | None:
    """"e4m3" / "e5m2" when FloatQuant parameters produce exactly the OCP FP8 value set, else
    None.

    e4m3 = (4, 3, bias 7, max 448) with has_inf false (E4M3FN has no inf). e5m2 = (5, 2,
    bias 15, max 57344), with any has_inf/has_nan. has_nan and has_subnormal do not matter:
    FloatQuant's execution ignores them and always yields subnormals, which both OCP formats
    have. None max_val means the format maximum (480 / 114688), which is not OCP.
    """
    try:
        e = float(np.asarray(exponent_bitwidth).item())
        m = float(np.asarray(mantissa_bitwidth).item())
        b = float(np.asarray(exponent_bias).item()) if exponent_bias is not None else 2.0 ** (e - 1) - 1
        mv = float(np.asarray(max_val).item()) if max_val is not None else None
    except (ValueError, TypeError):  # not a single number
        return None
    for name, (fe, fm, fb, fmax) in _OCP_FP8.items():
        if (e, m, b, mv) == (fe, fm, fb, fmax):
            if name == "e4m3" and _flag(has_inf, "has_inf"):
                return None
            return name
    return None
