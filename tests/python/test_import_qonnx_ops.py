#!/usr/bin/python3
"""The QONNX quantizer ops of the importer (tools/accsim_import/qonnx_ops.py) against slow
per-element references written here with exact Fraction rounding, the qonnx docs' tables and
examples, and a real Brevitas FP8 export.

    /usr/bin/python3 -m pytest -q tests/python/test_import_qonnx_ops.py
"""
import math
import os
import sys
from fractions import Fraction

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from accsim_import.node import ImportInputError  # noqa: E402
from qonnx_rounding import exact_round  # noqa: E402
from accsim_import.qonnx_ops import (  # noqa: E402
    bipolar_quant, float_quant, float_quant_format, int_range, multithreshold, quant, trunc,
    trunc_version)

FP8_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "nets", "qonnx",
                       "floatquant_exec")

MODES = ["ROUND", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN"]
F32 = np.float32


# --------------------------------------------------------------------------------------------
# slow references


def slow_range(bits, signed, narrow):
    if signed:
        return -(2 ** (bits - 1)) + (1 if narrow else 0), 2 ** (bits - 1) - 1
    return 0, 2 ** bits - 1 - (1 if narrow else 0)


def slow_quant(x, scale, zp, bits, signed, narrow, mode):
    """Element by element: float32 scaling (x / scale + zp, each op rounded to float32), then
    exact clamp and rounding on that float32 value, then float32 rescale."""
    xb, sb, zb = np.broadcast_arrays(np.asarray(x, F32), np.asarray(scale, F32),
                                     np.asarray(zp, F32))
    y = np.empty(xb.shape, F32)
    codes = np.empty(xb.shape, np.int64)
    lo, hi = slow_range(bits, signed, narrow)
    for i in np.ndindex(xb.shape):
        v = F32(xb[i] / sb[i]) + zb[i]
        assert type(v) is F32
        if signed and bits == 1:
            c = 1 if v >= 0 else -1
        else:
            c = hi if v > hi else lo if v < lo else exact_round(Fraction(float(v)), mode)
        codes[i] = c
        y[i] = F32(F32(c) - zb[i]) * sb[i]
    return y, codes


def slow_float_quant(v, e, m, bias, max_val, mode):
    """Exact minifloat rounding of one value: grid 2^(max(E, 1-bias) - m) with E the exact
    binade of |v|, round by mode, saturate at +-min(format max, max_val)."""
    v = Fraction(float(v))
    if v == 0:
        return 0.0
    exponent = math.frexp(abs(float(v)))[1] - 1  # 2^exponent <= |v| < 2^(exponent+1)
    step = Fraction(2) ** (max(exponent, 1 - bias) - m)
    q = exact_round(v / step, mode) * step
    limit = (2 - Fraction(1, 2 ** m)) * Fraction(2) ** (2 ** e - 1 - bias)
    if max_val is not None:
        limit = min(limit, Fraction(max_val))
    return float(min(max(q, -limit), limit))


def grid():
    """Values k/16 (k in -300..300) divided by the scale: with a power-of-two scale x/scale is
    exact and lands on quarter steps, so every .5 tie occurs; out-of-range values included."""
    return (np.arange(-300, 301, dtype=np.float64) / 16.0).astype(F32)


# --------------------------------------------------------------------------------------------
# int_range


@pytest.mark.parametrize("bits", range(1, 9))
def test_int_range_matches_codes_quant_produces(bits):
    wide = np.linspace(-600, 600, 4801, dtype=F32)
    for signed in (0, 1):
        for narrow in (0, 1):
            lo, hi = int_range(bits, signed, narrow)
            assert type(lo) is int and type(hi) is int
            _, codes = quant(wide, F32(1), F32(0), F32(bits), signed, narrow, "ROUND")
            seen = set(codes.tolist())
            if signed and bits == 1:
                assert (lo, hi) == (-1, 1) and seen == {-1, 1}
            else:
                assert (lo, hi) == slow_range(bits, signed, narrow)
                assert seen == set(range(lo, hi + 1))


def test_int_range_doc_examples():
    # qonnx min_int / max_int docstrings, plus narrow unsigned (the code lowers hi)
    assert int_range(8, True, True) == (-127, 127)
    assert int_range(8, True, False) == (-128, 127)
    assert int_range(8, False, False) == (0, 255)
    assert int_range(8, False, True) == (0, 254)
    assert int_range(np.array(4.0, F32), 1, 0) == (-8, 7)
    assert int_range(1, False, False) == (0, 1)
    assert int_range(1, False, True) == (0, 0)
    assert int_range(1, True, True) == (-1, 1)
    assert int_range(32, True, False) == (-(2 ** 31), 2 ** 31 - 1)


# --------------------------------------------------------------------------------------------
# quant


@pytest.mark.parametrize("mode", MODES + ["round", "half_even", "Floor"])
def test_quant_exhaustive_against_slow_reference(mode):
    x = grid()
    for bits in range(1, 9):
        for signed in (0, 1):
            for narrow in (0, 1):
                for scale, zp in ((F32(0.25), F32(0)), (F32(1), F32(0)), (F32(2), F32(0)),
                                  (F32(0.5), F32(3 if not signed else -2))):
                    y, codes = quant(x, scale, zp, F32(bits), signed, narrow, mode)
                    ry, rc = slow_quant(x, scale, zp, bits, signed, narrow,
                                        {"half_even": "ROUND"}.get(mode, mode))
                    where = (bits, signed, narrow, float(scale), float(zp))
                    assert y.dtype == F32 and codes.dtype == np.int64, where
                    np.testing.assert_array_equal(codes, rc, err_msg=str(where))
                    np.testing.assert_array_equal(y, ry, err_msg=str(where))


@pytest.mark.parametrize("mode", MODES)
def test_quant_per_channel_scale_and_zero_point(mode):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((2, 3, 4, 5)) * 6).astype(F32)
    x[0, :, 0, 0] = [np.inf, -np.inf, 1e30]
    scale = np.array([0.1, 0.3, 0.7], F32).reshape(1, 3, 1, 1)
    zp = np.array([0, 2, -1], F32).reshape(1, 3, 1, 1)
    for bits, signed, narrow in ((3, 1, 0), (5, 1, 1), (4, 0, 0), (6, 0, 1), (8, 1, 0)):
        y, codes = quant(x, scale, zp, np.int64(bits), signed, narrow, mode)
        ry, rc = slow_quant(x, scale, zp, bits, signed, narrow, mode)
        np.testing.assert_array_equal(codes, rc)
        np.testing.assert_array_equal(y, ry)
        # the codes/y identity, in float32
        np.testing.assert_array_equal(y, (codes.astype(F32) - zp) * scale)
        lo, hi = int_range(bits, signed, narrow)
        assert codes.min() >= lo and codes.max() <= hi
        assert codes[0, 0, 0, 0] == hi and codes[0, 1, 0, 0] == lo  # +-inf clamp


def test_quant_rounding_table_from_docs():
    numbers = F32([5.5, 2.5, 1.6, 1.1, 1.0, -1.0, -1.1, -1.6, -2.5, -5.5])
    table = {  # intquant_v1.md, "Rounding modes"
        "ROUND": [6, 2, 2, 1, 1, -1, -1, -2, -2, -6],
        "CEIL": [6, 3, 2, 2, 1, -1, -1, -1, -2, -5],
        "FLOOR": [5, 2, 1, 1, 1, -1, -2, -2, -3, -6],
        "UP": [6, 3, 2, 2, 1, -1, -2, -2, -3, -6],
        "DOWN": [5, 2, 1, 1, 1, -1, -1, -1, -2, -5],
        "HALF_UP": [6, 3, 2, 1, 1, -1, -1, -2, -3, -6],
        "HALF_DOWN": [5, 2, 2, 1, 1, -1, -1, -2, -2, -5],
    }
    for mode, want in table.items():
        for spelled in (mode, mode.lower()):
            y, codes = quant(numbers, F32(1), F32(0), F32(8), 1, 0, spelled)
            assert codes.tolist() == want, mode
            assert y.tolist() == [float(c) for c in want], mode


def test_quant_module_docstring_example():
    x = np.array([-1.3, 0.26, 9.0], dtype=F32)
    y, codes = quant(x, F32(0.25), F32(0), F32(4), signed=1, narrow=0, rounding_mode="ROUND")
    assert y.tolist() == [-1.25, 0.25, 1.75] and codes.tolist() == [-5, 1, 7]
    assert int_range(4, True, False) == (-8, 7)


def test_quant_clamps_before_rounding():
    # 4-bit signed: clamp to [-8, 7] first, then round (UP); with integer bounds this equals
    # rounding first and clamping after
    y, codes = quant(F32([7.4, 100.0, -8.6, -100.0]), F32(1), F32(0), F32(4), 1, 0, "UP")
    assert codes.tolist() == [7, 7, -8, -8]


def test_quant_bit_width_1_signed_is_bipolar():
    x = F32([-3.0, -0.1, -0.0, 0.0, 0.2, 5.0, np.nan])
    for narrow in (0, 1):
        y, codes = quant(x, F32(0.5), F32(0), F32(1), 1, narrow, "FLOOR")
        assert codes.tolist() == [-1, -1, 1, 1, 1, 1, -1]
        assert y.tolist() == [-0.5, -0.5, 0.5, 0.5, 0.5, 0.5, -0.5]
    # the sign test is on x/scale + zero_point
    _, codes = quant(F32([-0.4, -0.6]), F32(1), F32(0.5), F32(1), 1, 0, "ROUND")
    assert codes.tolist() == [1, -1]
    # unsigned 1 bit is a normal quantizer over {0, 1}
    _, codes = quant(F32([-1, 0.4, 0.5, 0.6, 3]), F32(1), F32(0), F32(1), 0, 0, "ROUND")
    assert codes.tolist() == [0, 0, 0, 1, 1]


def test_quant_half_up_float_quirk_kept():
    # qonnx computes floor(|v| + 0.5) in float32: 0.49999997 + 0.5 rounds to 1.0
    v = F32(0.5) - F32(2.0 ** -25)
    _, codes = quant(np.array([v, -v]), F32(1), F32(0), F32(8), 1, 0, "HALF_UP")
    assert codes.tolist() == [1, -1]
    _, codes = quant(np.array([v, -v]), F32(1), F32(0), F32(8), 1, 0, "ROUND")
    assert codes.tolist() == [0, 0]


def test_quant_dtypes_and_shapes():
    y, codes = quant(np.float64(0.3), 0.1, 0.0, 4, 1, 0, "ROUND")
    assert isinstance(y, np.ndarray) and y.dtype == F32 and y.shape == ()
    assert codes.dtype == np.int64 and codes.item() == 3
    x64 = np.linspace(-2, 2, 9)
    y, _ = quant(x64, np.float64(0.3), np.float64(0), np.float64(4), 1, 0, "ROUND")
    assert y.dtype == F32  # IntQuant.execute_node casts to float32
    np.testing.assert_array_equal(y, (np.round(np.clip(x64 / 0.3, -8, 7)) * 0.3).astype(F32))
    # a one-element bit width of higher rank takes part in broadcasting, as in qonnx
    y, codes = quant(F32([1, 2, 3]), F32(1), F32(0), np.full((1, 1), 8, F32), 1, 0, "ROUND")
    assert y.shape == (1, 3) and codes.shape == (1, 3)


@pytest.mark.parametrize("kwargs, field", [
    (dict(bit_width=0), "bit_width"),
    (dict(bit_width=-3), "bit_width"),
    (dict(bit_width=2.5), "bit_width"),
    (dict(bit_width=np.nan), "bit_width"),
    (dict(bit_width=np.array([4, 8])), "bit_width"),
    (dict(bit_width=99), "bit_width"),
    (dict(scale=0.0), "scale"),
    (dict(scale=-0.5), "scale"),
    (dict(scale=np.array([0.5, -1.0])), "scale"),
    (dict(scale=np.nan), "scale"),
    (dict(scale=np.inf), "scale"),
    (dict(zero_point=np.nan), "zero_point"),
    (dict(zero_point=np.inf), "zero_point"),
    (dict(rounding_mode="XYZ"), "rounding_mode"),
    (dict(rounding_mode="ROUND_TO_ZERO"), "rounding_mode"),
    (dict(signed=2), "signed"),
    (dict(narrow="yes"), "narrow"),
    (dict(scale=np.ones(4, F32)), "scale"),
])
def test_quant_bad_parameters(kwargs, field):
    args = dict(x=np.zeros(3, F32), scale=F32(1), zero_point=F32(0), bit_width=F32(8), signed=1,
                narrow=0, rounding_mode="ROUND")
    args.update(kwargs)
    with pytest.raises(ImportInputError) as err:
        quant(**args)
    assert str(err.value).startswith(field + ": ")


def test_quant_error_texts():
    with pytest.raises(ImportInputError, match=r'^rounding_mode: unknown "XYZ"; known: ROUND, '):
        quant(F32([0]), F32(1), F32(0), F32(8), 1, 0, "XYZ")
    with pytest.raises(ImportInputError, match=r"^scale: must be positive, got -0\.5"):
        quant(F32([0]), F32(-0.5), F32(0), F32(8), 1, 0, "ROUND")
    with pytest.raises(ImportInputError, match=r"^bit_width: must be in 1\.\.62, got 0"):
        quant(F32([0]), F32(1), F32(0), F32(0), 1, 0, "ROUND")
    assert issubclass(ImportInputError, ValueError)


# --------------------------------------------------------------------------------------------
# bipolar_quant


def test_bipolar_quant():
    x = F32([[-2.0, -1e-30, -0.0, 0.0, 3.0, np.nan]])
    scale = F32([[0.5], [2.0]])
    y, codes = bipolar_quant(x, scale)
    assert codes.dtype == np.int64 and codes.shape == (2, 6)
    assert codes.tolist() == [[-1, -1, 1, 1, 1, -1]] * 2
    assert y.dtype == F32
    np.testing.assert_array_equal(y, codes.astype(F32) * scale)
    with pytest.raises(ImportInputError, match="^scale: "):
        bipolar_quant(x, F32(0))


# --------------------------------------------------------------------------------------------
# trunc


def slow_trunc(x, scale, zp, in_bits, out_bits, mode, signed, narrow, out_scale, version):
    out = []
    codes = []
    for xv in np.asarray(x, F32).ravel():
        v = exact_round(Fraction(float(F32(F32(xv / scale) + zp))), "ROUND")
        if version == 1:
            c = exact_round(Fraction(v, 2 ** (in_bits - out_bits)), mode)
            out.append(float((c - Fraction(float(zp))) * Fraction(float(scale))))
        else:
            t = 2 ** round(math.log2(float(out_scale) / float(scale)))
            lo, hi = slow_range(out_bits, signed, narrow)
            c = exact_round(min(max(Fraction(v) / t, Fraction(lo)), Fraction(hi)), mode)
            out.append(float((c - Fraction(float(zp)) / t) * Fraction(float(out_scale))))
        codes.append(c)
    return np.array(out).reshape(np.shape(x)), np.array(codes).reshape(np.shape(x))


@pytest.mark.parametrize("mode", MODES)
def test_trunc_v1_and_v2_against_slow_reference(mode):
    x = np.arange(-700, 701, 7, dtype=F32) / F32(4)
    for scale, zp in ((F32(0.25), F32(0)), (F32(0.5), F32(6)), (F32(1), F32(0))):
        for in_bits, out_bits in ((10, 4), (8, 8), (12, 3)):
            y, codes = trunc(x, scale, zp, F32(in_bits), F32(out_bits), mode, version=1)
            ry, rc = slow_trunc(x, scale, zp, in_bits, out_bits, mode, 1, 0, None, 1)
            np.testing.assert_array_equal(codes, rc)
            np.testing.assert_array_equal(y, ry.astype(F32))
            np.testing.assert_array_equal(y, (codes.astype(F32) - zp) * scale)
            for signed in (0, 1):
                for narrow in (0, 1):
                    for out_scale in (scale * 16, scale * 4, scale, scale * F32(12)):
                        y, codes = trunc(x, scale, zp, F32(in_bits), F32(out_bits), mode, signed,
                                         narrow, output_scale=out_scale, version=2)
                        ry, rc = slow_trunc(x, scale, zp, in_bits, out_bits, mode, signed, narrow,
                                            out_scale, 2)
                        where = (float(scale), float(zp), in_bits, out_bits, signed, narrow,
                                 float(out_scale))
                        np.testing.assert_array_equal(codes, rc, err_msg=str(where))
                        np.testing.assert_array_equal(y, ry.astype(F32), err_msg=str(where))
                        lo, hi = slow_range(out_bits, signed, narrow)
                        assert codes.min() >= lo and codes.max() <= hi


def test_trunc_known_values():
    x = F32([100, 37, -37, 15, -1])
    y, codes = trunc(x, F32(1), F32(0), F32(8), F32(4), "FLOOR")  # v1 default version
    assert codes.tolist() == [6, 2, -3, 0, -1] and y.tolist() == [6, 2, -3, 0, -1]
    y, _ = trunc(x, F32(1), F32(0), F32(8), F32(4), "ROUND")
    assert y.tolist() == [6, 2, -2, 1, 0]
    # v1 rescales with the *input* scale and the undivided zero point
    y, codes = trunc(F32([50]), F32(0.5), F32(0), F32(8), F32(4), "FLOOR", version=1)
    assert codes.tolist() == [6] and y.tolist() == [3.0]
    y, codes = trunc(F32([20]), F32(1), F32(16), F32(8), F32(6), "FLOOR", version=1)
    assert codes.tolist() == [9] and y.tolist() == [-7.0]
    # v2: power-of-two ratio of scales, clamp to the output range, zero point divided
    y, codes = trunc(F32([50]), F32(0.5), F32(0), F32(8), F32(4), "FLOOR", 1, 0,
                     output_scale=F32(8), version=2)
    assert codes.tolist() == [6] and y.tolist() == [48.0]
    y, codes = trunc(F32([200, -300]), F32(1), F32(0), F32(8), F32(4), "FLOOR", 1, 0,
                     output_scale=F32(16), version=2)
    assert codes.tolist() == [7, -8] and y.tolist() == [112.0, -128.0]
    y, codes = trunc(F32([200, -300]), F32(1), F32(0), F32(8), F32(4), "FLOOR", 0, 1,
                     output_scale=F32(8), version=2)
    assert codes.tolist() == [14, 0]
    y, codes = trunc(F32([20]), F32(1), F32(16), F32(8), F32(6), "FLOOR", 1, 0,
                     output_scale=F32(4), version=2)
    assert codes.tolist() == [9] and y.tolist() == [20.0]
    # output_scale / scale = 12 -> the step is forced to 2^round(log2 12) = 16
    y, codes = trunc(F32([100]), F32(1), F32(0), F32(8), F32(4), "FLOOR", 1, 0,
                     output_scale=F32(12), version=2)
    assert codes.tolist() == [6] and y.tolist() == [72.0]
    # the first requantization is always half-to-even, whatever rounding_mode says
    y, _ = trunc(F32([2.5, 3.5]), F32(1), F32(0), F32(4), F32(4), "CEIL", version=1)
    assert y.tolist() == [2.0, 4.0]


def test_trunc_dtypes_and_per_element_widths():
    y, codes = trunc(np.array([100.0, 37.0]), 1.0, 0.0, 8, 4, "FLOOR")
    assert y.dtype == np.float64 and codes.dtype == np.int64  # Trunc does not cast
    out_bits = F32([[2, 4, 6]])
    y, codes = trunc(F32([[100, 100, 100]]), F32(1), F32(0), F32(8), out_bits, "FLOOR")
    assert codes.tolist() == [[1, 6, 25]]


def test_trunc_bad_parameters():
    x = F32([1, 2])
    with pytest.raises(ImportInputError, match="^version: "):
        trunc(x, F32(1), F32(0), F32(8), F32(4), "FLOOR", version=3)
    with pytest.raises(ImportInputError, match="^output_scale: "):
        trunc(x, F32(1), F32(0), F32(8), F32(4), "FLOOR", output_scale=F32(2), version=1)
    with pytest.raises(ImportInputError, match="^output_scale: "):
        trunc(x, F32(1), F32(0), F32(8), F32(4), "FLOOR", version=2)
    with pytest.raises(ImportInputError, match="^output_scale: must be positive"):
        trunc(x, F32(1), F32(0), F32(8), F32(4), "FLOOR", output_scale=F32(0), version=2)
    with pytest.raises(ImportInputError, match="^input_bit_width: "):
        trunc(x, F32(1), F32(0), F32(0), F32(4), "FLOOR")
    with pytest.raises(ImportInputError, match="^output_bit_width: "):
        trunc(x, F32(1), F32(0), F32(8), F32(4.5), "FLOOR")
    with pytest.raises(ImportInputError, match="^scale: "):
        trunc(x, F32(-1), F32(0), F32(8), F32(4), "FLOOR")
    with pytest.raises(ImportInputError, match='^rounding_mode: unknown "nearest"'):
        trunc(x, F32(1), F32(0), F32(8), F32(4), "nearest")


def test_trunc_version_selection():
    assert trunc_version(None) == 1  # domain not in opset_import: qonnx's preferred opset 1
    assert trunc_version(1) == 1
    assert trunc_version(2) == 2
    assert trunc_version(5) == 2  # since-version semantics
    with pytest.raises(ImportInputError):
        trunc_version(0)


# --------------------------------------------------------------------------------------------
# multithreshold


def slow_multithreshold(x, thr, out_scale, out_bias, channel_axis):
    y = np.empty(x.shape, x.dtype)
    for i in np.ndindex(x.shape):
        row = thr[0] if thr.shape[0] == 1 else thr[i[channel_axis]]
        y[i] = out_scale * sum(1 for t in row if x[i] >= t) + out_bias
    return y


def test_multithreshold_nchw_nhwc_2d():
    rng = np.random.default_rng(3)
    x = np.round(rng.standard_normal((2, 3, 4, 5)) * 4).astype(F32) / 2  # many exact ties
    thr = np.sort(np.round(rng.standard_normal((3, 7)) * 4) / 2, axis=1).astype(F32)
    y = multithreshold(x, thr)
    assert y.dtype == F32 and y.shape == x.shape
    np.testing.assert_array_equal(y, slow_multithreshold(x, thr, 1.0, 0.0, 1))
    y = multithreshold(x, thr, 0.5, -1.5, "NCHW")
    np.testing.assert_array_equal(y, slow_multithreshold(x, thr, 0.5, -1.5, 1))
    xl = np.moveaxis(x, 1, -1).copy()
    yl = multithreshold(xl, thr, 0.5, -1.5, "NHWC")
    np.testing.assert_array_equal(yl, np.moveaxis(y, 1, -1))
    # 2-D [N, C]: channel axis 1 is the last axis under either layout
    x2 = x[:, :, 0, 0].copy()
    want = slow_multithreshold(x2, thr, 2.0, 1.0, 1)
    np.testing.assert_array_equal(multithreshold(x2, thr, 2.0, 1.0), want)
    np.testing.assert_array_equal(multithreshold(x2, thr, 2.0, 1.0, "NC"), want)
    # one shared row of thresholds
    g = thr[:1]
    np.testing.assert_array_equal(multithreshold(x, g), slow_multithreshold(x, g, 1.0, 0.0, 1))


def test_multithreshold_compare_is_greater_equal():
    thr = F32([[0.0, 1.0, 2.0]])
    y = multithreshold(F32([[-0.5], [0.0], [0.99], [1.0], [2.0], [9.0], [np.nan]]), thr)
    assert y.ravel().tolist() == [0, 1, 1, 2, 3, 3, 0]
    # unsorted thresholds are counted, not searched
    y = multithreshold(F32([[1.5]]), F32([[2.0, 0.0, 1.0]]))
    assert y.tolist() == [[2.0]]


def test_multithreshold_bad_parameters():
    x = np.zeros((1, 3, 2, 2), F32)
    with pytest.raises(ImportInputError, match="^thresholds: "):
        multithreshold(x, np.zeros((2, 4), F32))
    with pytest.raises(ImportInputError, match="^thresholds: "):
        multithreshold(x, np.zeros(4, F32))
    with pytest.raises(ImportInputError, match="^thresholds: "):
        multithreshold(x, np.zeros((3, 4), F32), data_layout="NHWC")  # 2 channels there
    with pytest.raises(ImportInputError, match="^data_layout: "):
        multithreshold(x, np.zeros((3, 4), F32), data_layout="")
    with pytest.raises(ImportInputError, match="^x: "):
        multithreshold(np.zeros(3, F32), np.zeros((3, 4), F32))


# --------------------------------------------------------------------------------------------
# float_quant


def e4m3_values():
    """Every finite non-negative OCP E4M3FN value, decoded from its bit fields."""
    out = []
    for code in range(0x7F):  # 0x7F (S.1111.111) is NaN
        exp, man = code >> 3, code & 7
        out.append(man / 8 * 2.0 ** -6 if exp == 0 else (1 + man / 8) * 2.0 ** (exp - 7))
    return np.array(sorted(out))


def test_float_quant_e4m3_every_value_and_midpoint():
    vals = e4m3_values()
    assert vals[-1] == 448.0 and vals[1] == 2.0 ** -9
    allv = np.concatenate([-vals[::-1], vals]).astype(F32)
    for s in (F32(1), F32(0.125), F32(4)):
        np.testing.assert_array_equal(float_quant(allv * s, s, 4, 3, 7, 448.0), allv * s)
    # midpoints round to the neighbour with the even mantissa (code), ROUND = half to even
    mids = ((vals[:-1] + vals[1:]) / 2).astype(F32)
    even = np.where(np.arange(len(vals) - 1) % 2 == 0, vals[:-1], vals[1:]).astype(F32)
    np.testing.assert_array_equal(float_quant(mids, F32(1), 4, 3, 7, 448.0), even)
    np.testing.assert_array_equal(float_quant(-mids, F32(1), 4, 3, 7, 448.0), -even)
    # saturation at +-448, tiny values to zero
    y = float_quant(F32([449, 1e6, 1e38, -500, 2.0 ** -11, -(2.0 ** -11)]),
                    F32(1), 4, 3, 7, 448.0)
    assert y.tolist() == [448, 448, 448, -448, 0, 0]


FORMATS = [(4, 3, 7, 448.0), (5, 2, 15, 57344.0), (2, 1, 1, None), (3, 2, 3, None),
           (4, 3, 7, None), (2, 3, 1, None), (4, 3, 7, 100.0), (3, 0, 3, None)]


@pytest.mark.parametrize("mode", MODES)
def test_float_quant_against_slow_reference(mode):
    # multiples of 2^-7 with at most 12 significant bits: far enough from powers of two that
    # float32 log2 gives the exact binade
    x = (np.arange(-2500, 2501, 3, dtype=np.float64) / 128).astype(F32)
    for e, m, bias, max_val in FORMATS:
        for s in (F32(1), F32(0.5), F32(1 / 16)):
            y = float_quant(x * s, s, F32(e), F32(m), F32(bias), None if max_val is None
                            else F32(max_val), rounding_mode=mode)
            want = np.array([slow_float_quant(v, e, m, bias, max_val, mode) for v in x], F32) * s
            np.testing.assert_array_equal(y, want, err_msg=str((e, m, bias, max_val, float(s))))


def test_float_quant_docs_and_qonnx_test_values():
    # tests/custom_op/test_floatquant.py in qonnx: FP6 E2M3 max 7.5, E3M2 max 28, FP4 E2M1 max 6
    one = F32([1.0])
    assert float_quant(F32([1.5]), one, 2, 3)[0] == 1.5
    assert float_quant(F32([3.25]), one, 2, 3)[0] == 3.25
    assert float_quant(F32([8.0]), one, 2, 3)[0] == 7.5
    assert float_quant(F32([28.2]), one, 3, 2)[0] == 28.0
    assert float_quant(F32([6.1]), one, 2, 1)[0] == 6.0
    assert float_quant(np.zeros((2, 2)), one, 2, 3).tolist() == [[0, 0], [0, 0]]


def test_float_quant_non_saturating_and_specials():
    x = F32([500.0, -500.0, 3.0, np.inf, np.nan])
    y = float_quant(x, F32(1), 4, 3, 7, 448.0, has_inf=True, saturation=False)
    assert y[:3].tolist() == [np.inf, -np.inf, 3.0] and np.isnan(y[3:]).all()
    y = float_quant(x, F32(1), 4, 3, 7, 448.0, has_nan=True, saturation=False)
    assert np.isnan(y[:2]).all() and y[2] == 3.0 and np.isnan(y[3:]).all()
    # saturating: an infinite input becomes NaN (inf / inf in the exponent step), as in qonnx
    y = float_quant(x, F32(1), 4, 3, 7, 448.0)
    assert y[:3].tolist() == [448.0, -448.0, 3.0] and np.isnan(y[3:]).all()
    # float64 input: computed in float64, cast to float32 like FloatQuant.execute_node
    y = float_quant(np.array([1.0 / 3]), 1.0, 4, 3, 7, 448.0)
    assert y.dtype == F32 and y.tolist() == [0.34375]


def test_float_quant_bad_parameters():
    x = F32([1.0])
    cases = [
        (dict(scale=F32(0)), "scale"),
        (dict(exponent_bitwidth=0), "exponent_bitwidth"),
        (dict(exponent_bitwidth=3.5), "exponent_bitwidth"),
        (dict(mantissa_bitwidth=-1), "mantissa_bitwidth"),
        (dict(exponent_bias=0.5), "exponent_bias"),
        (dict(max_val=0.0), "max_val"),
        (dict(max_val=np.nan), "max_val"),
        (dict(rounding_mode="nope"), "rounding_mode"),
        (dict(saturation=False), "saturation"),
    ]
    for kwargs, field in cases:
        args = dict(x=x, scale=F32(1), exponent_bitwidth=4, mantissa_bitwidth=3, exponent_bias=7,
                    max_val=448.0)
        args.update(kwargs)
        with pytest.raises(ImportInputError) as err:
            float_quant(**args)
        assert str(err.value).startswith(field + ": "), (kwargs, str(err.value))


def test_float_quant_format():
    assert float_quant_format(4, 3, 7, 448.0, False, True, True) == "e4m3"
    assert float_quant_format(F32(4), F32(3), F32(7), F32(448), 0, 1, 1) == "e4m3"
    assert float_quant_format(4, 3, 7, 448.0, False, False, False) == "e4m3"
    assert float_quant_format(4, 3, 7, 448.0, True, True, True) is None  # not E4M3FN
    assert float_quant_format(4, 3, 7, 480.0, False, True, True) is None
    assert float_quant_format(4, 3, 7, None, False, True, True) is None  # max would be 480
    assert float_quant_format(4, 3, 8, 448.0, False, True, True) is None
    assert float_quant_format(5, 2, 15, 57344.0, True, True, True) == "e5m2"
    assert float_quant_format(5, 2, 15, 57344.0, False, False, True) == "e5m2"
    assert float_quant_format(5, 2, 15, 114688.0, True, True, True) is None
    assert float_quant_format(5, 2, None, 57344.0, True, True, True) == "e5m2"  # default bias
    assert float_quant_format(2, 1, 1, 6.0, False, False, True) is None
    assert float_quant_format(np.array([4, 4]), 3, 7, 448.0) is None


def _fp8_model():
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper
    path = os.path.join(FP8_DIR, "qonnx_act_weight_fp8.onnx")  # committed: a missing file fails
    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return onnx, model, inits


def test_float_quant_matches_brevitas_fp8_export():
    onnx, model, inits = _fp8_model()
    x = np.load(os.path.join(FP8_DIR, "test_data", "input.npy"))
    act = np.load(os.path.join(FP8_DIR, "test_data", "activation.npz"))
    nodes = [n for n in model.graph.node if n.op_type == "FloatQuant"]
    assert len(nodes) == 2
    data = {"x.1": (x, act["input_quant"]), "weight": (inits["weight"], act["weight_quant"])}
    for node in nodes:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        scale, e, m, bias, max_val = (inits[name] for name in node.input[1:6])
        src, want = data[node.input[0]]
        y = float_quant(src, scale, e, m, bias, max_val, attrs["has_inf"], attrs["has_nan"],
                        attrs["has_subnormal"], attrs["rounding_mode"].decode(),
                        attrs["saturation"])
        assert y.dtype == F32 and y.shape == want.shape
        np.testing.assert_array_equal(y, want)  # bit-exact with Brevitas
        assert float_quant_format(e, m, bias, max_val, attrs["has_inf"], attrs["has_nan"],
                                  attrs["has_subnormal"]) == "e4m3"
        # every output is an e4m3 value times the scale
        grid = np.concatenate([-e4m3_values(), e4m3_values()]) * float(scale)
        assert np.isin(y.astype(np.float64), grid.astype(F32).astype(np.float64)).all()
