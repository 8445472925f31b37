"""The accumulator width FINN itself would give an MVAU or VVAU, next to accsim's bounds.

    from accsim_import.finn_width import finn_accumulator_width, datatype_range

    lo, hi = datatype_range(8, signed=False)                  # UINT8 input: (0, 255)
    w = conv_weight.reshape(conv_weight.shape[0], -1)         # [C_out, C_in/groups*kH*kW]
    r = finn_accumulator_width(w, lo, hi)                     # MatrixVectorActivation
    r["bits"], r["signed"], r["dtype"]                        # e.g. 17, True, "INT17"
    r = finn_accumulator_width(dw.reshape(C, -1), lo, hi, depthwise=True)   # VVAU

What this mirrors (FINN v0.10.1; read on main at 39f0c9a6b7675f62d47390fbf9a591707bcbac9b,
whose two files below are unchanged since the tag; QONNX as pinned there, fd61cfee):

* ``MVAU.minimize_accumulator_width`` in
  ``src/finn/custom_op/fpgadataflow/matrixvectoractivation.py`` and its twin
  ``VVAU.minimize_accumulator_width`` in ``vectorvectoractivation.py``. The VVAU reshapes its
  ``(C, 1, kH, kW)`` weights to ``(C, kH*kW)`` and transposes; after that both run the same code,
  so ``depthwise`` changes nothing but the label.
* The range comes from QONNX ``calculate_matvec_accumulator_range`` (``src/qonnx/util/basic.py``):
  for each output channel it pairs every positive weight with the input maximum and every other
  weight with the input minimum (and the reverse for the minimum), sums over K, and then takes
  the largest channel maximum and the smallest channel minimum. Inputs are independent and range
  over a box, so each channel's sum is its exact extreme: FINN's range is exact, not a K-times-
  the-extremes estimate (QONNX used such estimates before its v0.4.0; FINN v0.10.1 pins a later
  commit).
* The width: when ``acc_min >= 0`` the type is ``UINT{ceil(log2(acc_max + 1))}``, otherwise
  ``INT{ceil(log2(max(-acc_min, acc_max + 1)) + 1)}``. There is no floor: a range of [0, 0] gives
  ``UINT0``. Here the same widths come from exact integer arithmetic (``int.bit_length``); FINN
  evaluates them with float ``log2``, which agrees for every range below 2**53.
* Thresholds never widen the range. When some threshold lies outside [acc_min, acc_max], FINN
  warns, clips *all* thresholds to that interval (rewriting the initializer) and only then takes
  min/max with the range, which is by then a no-op. It next asserts that every threshold is
  representable in the new type, i.e. that the thresholds are integers. Clipping to acc_max rather
  than acc_max + 1 has a side effect: a threshold that no accumulator value could reach becomes
  reachable at exactly acc_max (the hardware fires a step when ``threshold <= acc``), in a channel
  whose own maximum equals acc_max. ``threshold_clip_changes_output`` flags that case.
* ``noActivation`` nodes take the accumulator type as their output type, and when such a node is
  the last in the graph (no direct successor), FINN rounds the width up to a multiple of 8 (at
  least 8), keeping INT/UINT. That width is returned as ``bits_last_node_no_activation``; it is
  ``None`` for a width of 0, where FINN's ``roundup_to_integer_multiple`` asserts.
* ``binaryXnorMode`` (``binary_xnor_mode=True``): the weights are FINN's BINARY {0, 1} encoding of
  +-1, the input datatype is BINARY [0, 1]; FINN maps the weights to ``2*w - 1`` and runs the same
  range on BINARY inputs, giving [-(most -1 weights in a channel), most +1 weights in a channel].
  The hardware (finn-hlslib ``XnorMul``) accumulates the popcount of matches instead, which spans
  [0, K]; ``popcount_fits`` says whether FINN's type holds K.
* Runtime-writeable weights (``runtime_weight_range=(wmin, wmax)``, the weight datatype's range):
  FINN replaces every weight by wmin, then by wmax, and takes ``acc_min`` over both but
  ``acc_max = max(max(upper), max(upper))``, the all-wmax case twice. With signed inputs and
  weights that misses wmin*xmin (e.g. -128 * -128), so the width can be one bit short;
  ``worst_acc_max``/``worst_bits`` give the range over both cases (what FINN's dev branch, 73ba5ed6,
  now computes, also for ``mem_mode="external"``).

FINN's dev branch (not yet released) no longer looks at thresholds in this function at all; its
``RoundAndClipThresholds``, run afterwards, ceils them and clips them to the accumulator
*type's* [min, max + 1]. The width for fixed weights is the same on both branches.

``datatype_range`` gives the integer range of a QONNX datatype. Note that FINN types a Quant
node's output by bit width and sign only (``get_integer_datatype``): ``narrow`` is ignored, so a
narrow INT8 quantizer still reaches FINN as INT8 [-128, 127], and a signed 1-bit Quant becomes
BIPOLAR [-1, +1] (not INT1 [-1, 0]). To reproduce FINN, pass ``narrow=False`` (and
``bipolar=True`` for signed 1-bit); ``narrow=True`` gives the values the quantizer really emits.
"""
from __future__ import annotations

import numpy as np

__all__ = ["finn_accumulator_width", "datatype_range", "finn_dtype_bits"]

_INT64_SAFE = 1 << 62


def datatype_range(bits: int, signed: bool, narrow: bool = False, bipolar: bool = False) -> tuple[int, int]:
    """(min, max) of QONNX INTn / UINTn / BIPOLAR, or of a narrow-range quantizer.

    ``bipolar=True`` -> (-1, 1) whatever ``bits``/``signed`` say. Otherwise UINTn is
    [0, 2^n - 1] and INTn [-2^(n-1), 2^(n-1) - 1]; ``narrow`` drops the most negative value
    of a signed type and the top value of an unsigned one (QONNX ``min_int``/``max_int``).
    FINN's inferred datatypes ignore ``narrow`` (see the module notes)."""
    if bipolar:
        return (-1, 1)
    bits = int(bits)
    if bits < 1:
        raise ValueError(f"bits: {bits} is below 1")
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return (lo + 1 if narrow else lo, hi)
    hi = (1 << bits) - 1
    return (0, hi - 1 if narrow else hi)


def finn_dtype_bits(acc_min: int, acc_max: int) -> tuple[int, bool]:
    """FINN's width rule for a known range: (bits, signed).

    UINT when acc_min >= 0: the fewest bits n with acc_max <= 2^n - 1. INT otherwise: the
    fewest n with -2^(n-1) <= acc_min and acc_max <= 2^(n-1) - 1."""
    acc_min, acc_max = int(acc_min), int(acc_max)
    if acc_min > acc_max:
        raise ValueError(f"acc_min {acc_min} > acc_max {acc_max}")
    if acc_min >= 0:
        return acc_max.bit_length(), False
    m = max(-acc_min, acc_max + 1)
    return (m - 1).bit_length() + 1, True


def _as_int_array(a, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == object:
        vals = [int(v) for v in a.ravel()]
        if any(v != w for v, w in zip(vals, a.ravel())):
            raise ValueError(f"{what}: values must be integers")
        return np.array(vals, dtype=object).reshape(a.shape)
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    if a.dtype.kind in "iu":
        return a.astype(np.int64) if a.dtype != np.uint64 else a.astype(object)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(np.round(a) == a):
            raise ValueError(f"{what}: values must be finite integers")
        if a.size and np.abs(a).max() >= 2.0 ** 62:
            return np.array([int(v) for v in a.ravel()], dtype=object).reshape(a.shape)
        return a.astype(np.int64)
    raise ValueError(f"{what}: unsupported dtype {a.dtype}")


def _column_ranges(w: np.ndarray, xmin: int, xmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel (row of w) the exact min and max of sum_k w[c,k]*x[k], x[k] in [xmin, xmax]."""
    k = w.shape[1]
    wabs = int(np.abs(w).max()) if w.size else 0
    if w.dtype != object and k * wabs * max(abs(xmin), abs(xmax)) >= _INT64_SAFE:
        w = w.astype(object)
    if w.dtype == object:
        xmin_a, xmax_a = np.array(xmin, dtype=object), np.array(xmax, dtype=object)
    else:
        xmin_a, xmax_a = np.int64(xmin), np.int64(xmax)
    pos = w > 0  # as QONNX: positive weights meet x_max for the maximum, all others x_min
    hi = np.where(pos, w * xmax_a, w * xmin_a).sum(axis=1)
    lo = np.where(pos, w * xmin_a, w * xmax_a).sum(axis=1)
    return lo, hi


def finn_accumulator_width(weight: np.ndarray, input_min: int, input_max: int,
                           thresholds: np.ndarray | None = None, depthwise: bool = False, *,
                           binary_xnor_mode: bool = False,
                           runtime_weight_range: tuple[int, int] | None = None) -> dict:
    """FINN's accDataType for an MVAU (``depthwise=False``) or VVAU (``depthwise=True``).

    ``weight`` is [out_channels, K] (a conv weight [C_out, C_in/groups, kH, kW] or a depthwise
    one [C, 1, kH, kW] is flattened to that here); ``input_min``/``input_max`` the input
    datatype's integer range (``datatype_range``); ``thresholds`` the node's [C or 1, steps]
    thresholds, if it has them. Keyword-only: ``binary_xnor_mode`` (weights in {0, 1}, input
    [0, 1]) and ``runtime_weight_range`` (the weight datatype's (min, max) for runtime-writeable
    weights). Returns a dict:

    ``bits``, ``signed``, ``dtype`` (e.g. "INT17"), ``acc_min``, ``acc_max``, ``rule``, ``op``;
    ``bits_last_node_no_activation`` (the multiple of 8 FINN uses for a noActivation node that is
    the graph's last); ``thresholds_clipped``, ``thresholds_integer``,
    ``threshold_clip_changes_output`` (None without thresholds); with ``binary_xnor_mode``
    also ``popcount_max`` and ``popcount_fits``; with ``runtime_weight_range`` also
    ``worst_acc_min``, ``worst_acc_max``, ``worst_bits``, ``worst_signed``."""
    w = _as_int_array(weight, "weight")
    if w.ndim < 2:
        raise ValueError(f"weight: expected [out_channels, K], got shape {w.shape}")
    if w.ndim > 2:
        w = w.reshape(w.shape[0], -1)
    if w.shape[0] < 1 or w.shape[1] < 1:
        raise ValueError(f"weight: empty shape {w.shape}")
    xmin, xmax = int(input_min), int(input_max)
    if xmin != input_min or xmax != input_max or xmin > xmax:
        raise ValueError(f"input range: [{input_min}, {input_max}] is not an integer interval")
    op = "VVAU" if depthwise else "MVAU"
    n_out, k = w.shape
    if binary_xnor_mode:
        if (xmin, xmax) != (0, 1):
            raise ValueError("binary_xnor_mode: the input datatype must be BINARY [0, 1]")
        if not np.all((w == 0) | (w == 1)):
            raise ValueError("binary_xnor_mode: weights must be FINN's BINARY {0, 1} encoding")
        w = 2 * w - 1

    out: dict = {"op": op}
    if runtime_weight_range is None:
        col_lo, col_hi = _column_ranges(w, xmin, xmax)
        acc_min, acc_max = int(col_lo.min()), int(col_hi.max())
    else:
        wmin, wmax = (int(v) for v in runtime_weight_range)
        if wmin > wmax:
            raise ValueError(f"runtime_weight_range: ({wmin}, {wmax}) is empty")
        cdt = np.int64 if max(abs(wmin), abs(wmax)) < _INT64_SAFE else object
        lower = _column_ranges(np.full(w.shape, wmin, dtype=cdt), xmin, xmax)
        upper = _column_ranges(np.full(w.shape, wmax, dtype=cdt), xmin, xmax)
        lower = (int(lower[0].min()), int(lower[1].max()))
        upper = (int(upper[0].min()), int(upper[1].max()))
        acc_min = min(min(lower), min(upper))
        acc_max = max(upper)  # FINN v0.10.1: max(max(upper_range), max(upper_range))
        out["worst_acc_min"] = acc_min
        out["worst_acc_max"] = max(max(lower), max(upper))
        out["worst_bits"], out["worst_signed"] = finn_dtype_bits(acc_min, out["worst_acc_max"])
        # the hardware holds the current weights: each channel's range under them is not known
        col_lo = np.full(n_out, acc_min, dtype=object)
        col_hi = np.full(n_out, acc_max, dtype=object)

    bits, signed = finn_dtype_bits(acc_min, acc_max)
    out.update(bits=bits, signed=signed, dtype=("INT" if signed else "UINT") + str(bits),
               acc_min=acc_min, acc_max=acc_max)
    if signed:
        out["rule"] = (f"{op}: acc_min < 0 -> INT, ceil(log2(max(-acc_min, acc_max+1)))+1 "
                       f"= ceil(log2({max(-acc_min, acc_max + 1)}))+1 = {bits}")
    else:
        out["rule"] = f"{op}: acc_min >= 0 -> UINT, ceil(log2(acc_max+1)) = ceil(log2({acc_max + 1})) = {bits}"
    out["bits_last_node_no_activation"] = None if bits == 0 else -(-bits // 8) * 8

    if thresholds is None:
        out.update(thresholds_clipped=None, thresholds_integer=None, threshold_clip_changes_output=None)
    else:
        t = np.asarray(thresholds, dtype=np.float64)
        if t.ndim == 1:
            t = t.reshape(1, -1)
        if t.ndim != 2 or t.shape[0] not in (1, n_out) or t.size == 0:
            raise ValueError(f"thresholds: expected [{n_out} or 1, steps], got shape {np.shape(thresholds)}")
        if not np.all(np.isfinite(t)):
            raise ValueError("thresholds: values must be finite")
        clipped = bool(t.max() > acc_max or t.min() < acc_min)
        tc = np.clip(t, acc_min, acc_max) if clipped else t
        out["thresholds_clipped"] = clipped
        out["thresholds_integer"] = bool(np.all(np.round(tc) == tc))
        # a step above acc_max never fired; clipped to acc_max it fires when the channel reaches acc_max
        above = np.any(t > acc_max, axis=1)
        reach = np.array([int(v) >= acc_max for v in col_hi])
        if t.shape[0] == 1:
            changes = bool(above[0] and reach.any())
        else:
            changes = bool(np.any(above & reach))
        out["threshold_clip_changes_output"] = changes

    if binary_xnor_mode:
        out["popcount_max"] = k
        out["popcount_fits"] = bool(k <= ((1 << (bits - 1)) - 1 if signed else (1 << bits) - 1))
    return out
