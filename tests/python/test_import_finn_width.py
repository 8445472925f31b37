#!/usr/bin/python3
"""FINN's accumulator width (tools/accsim_import/finn_width.py) against references built here:
every input vector of a tiny layer enumerated, FINN's float formula and QONNX's range function
retyped literally, the closed-form bound FINN's own test checks against, and the corner cases
(boundaries, UINT0, bipolar, XNOR popcount, runtime-writeable weights, threshold clipping).

    /usr/bin/python3 -m pytest -q tests/python/test_import_finn_width.py
"""
import itertools
import math
import os
import sys
import zlib

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from accsim_import.finn_width import datatype_range, finn_accumulator_width, finn_dtype_bits  # noqa: E402


# ---------------------------------------------------------------- references

def brute_range(w, values):
    """Exact (min, max) over all channels and all input vectors drawn from ``values``."""
    w = np.asarray(w, dtype=np.int64)
    xs = np.array(list(itertools.product(values, repeat=w.shape[1])), dtype=np.int64)
    acc = xs @ w.T  # [n_inputs, C]
    return int(acc.min()), int(acc.max()), acc, xs


def smallest_type(lo, hi):
    """Fewest bits of UINTn (when lo >= 0) or INTn holding [lo, hi], by search."""
    for n in range(0, 200):
        if lo >= 0:
            if hi <= 2 ** n - 1:
                return n, False
        elif n >= 1 and -(2 ** (n - 1)) <= lo and hi <= 2 ** (n - 1) - 1:
            return n, True
    raise AssertionError


def finn_float_bits(acc_min, acc_max):
    """The width lines of minimize_accumulator_width, as FINN writes them (float log2)."""
    if acc_min >= 0:
        return math.ceil(np.log2(acc_max + 1)), False
    return math.ceil(np.log2(max(-acc_min, 1 + acc_max)) + 1), True


def qonnx_range(matrix_mw_mh, vmin, vmax):
    """QONNX calculate_matvec_accumulator_range retyped: matrix (MW, MH), float container."""
    m = np.asarray(matrix_mw_mh, dtype=np.float32)
    max_vectors = np.where(m > 0, vmax, vmin)
    min_vectors = np.where(m > 0, vmin, vmax)
    return (m * min_vectors).sum(axis=0).min(), (m * max_vectors).sum(axis=0).max()


INPUTS = {  # name -> (values enumerated, min, max, bitwidth, signed) as QONNX DataType has them
    "INT3": (range(-4, 4), -4, 3, 3, True),
    "UINT3": (range(0, 8), 0, 7, 3, False),
    "INT2": (range(-2, 2), -2, 1, 2, True),
    "UINT2": (range(0, 4), 0, 3, 2, False),
    "BIPOLAR": ((-1, 1), -1, 1, 1, True),
    "TERNARY": ((-1, 0, 1), -1, 1, 2, True),
    "BINARY": ((0, 1), 0, 1, 1, False),
}


# ---------------------------------------------------------------- datatype_range

def test_datatype_range_matches_qonnx_types():
    assert datatype_range(8, True) == (-128, 127)
    assert datatype_range(8, False) == (0, 255)
    assert datatype_range(8, True, narrow=True) == (-127, 127)
    assert datatype_range(8, False, narrow=True) == (0, 254)
    assert datatype_range(1, False) == (0, 1)          # BINARY
    assert datatype_range(1, True) == (-1, 0)          # INT1, as DataType["INT1"]
    assert datatype_range(1, True, bipolar=True) == (-1, 1)
    assert datatype_range(3, True) == (-4, 3)
    assert datatype_range(32, True) == (-2 ** 31, 2 ** 31 - 1)
    with pytest.raises(ValueError):
        datatype_range(0, False)


# ---------------------------------------------------------------- exact against enumeration

@pytest.mark.parametrize("idt", sorted(INPUTS))
@pytest.mark.parametrize("seed", range(12))
def test_range_and_width_equal_enumeration(idt, seed):
    values, vmin, vmax, _, _ = INPUTS[idt]
    rng = np.random.default_rng(seed)
    c, k = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    wlo = 0 if seed % 4 == 0 else -8   # every fourth layer has only non-negative weights
    w = rng.integers(wlo, 8, size=(c, k))
    r = finn_accumulator_width(w, vmin, vmax)
    lo, hi, _, _ = brute_range(w, values)
    # inputs are independent, so FINN's per-channel extreme is attained: its range is exact
    assert (r["acc_min"], r["acc_max"]) == (lo, hi)
    assert (r["bits"], r["signed"]) == smallest_type(lo, hi)
    assert r["dtype"] == ("INT" if r["signed"] else "UINT") + str(r["bits"])


@pytest.mark.parametrize("seed", range(40))
def test_integer_width_equals_finn_float_formula(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        a, b = sorted(int(v) for v in rng.integers(-(2 ** 40), 2 ** 40, size=2) >> int(rng.integers(0, 40)))
        if seed % 2:
            a = abs(a) // 3
            b = max(a, b)
        if (a, b) == (0, 0):
            continue
        assert finn_dtype_bits(a, b) == finn_float_bits(a, b)


@pytest.mark.parametrize("seed", range(10))
def test_layout_matches_qonnx_function(seed):
    """Ours takes [out, K]; QONNX gets FINN's (MW, MH) = (K, out) matrix: same range."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, size=(64, 32))
    lo, hi = datatype_range(8, seed % 2 == 0)
    r = finn_accumulator_width(w, lo, hi)
    qmin, qmax = qonnx_range(w.T, lo, hi)
    assert (r["acc_min"], r["acc_max"]) == (int(qmin), int(qmax))


# ---------------------------------------------------------------- boundaries

@pytest.mark.parametrize("n", [1, 2, 7, 8, 16, 31, 32, 33])
def test_unsigned_boundary(n):
    r = finn_accumulator_width([[1]], 0, 2 ** n - 1)
    assert (r["bits"], r["signed"], r["acc_max"]) == (n, False, 2 ** n - 1)
    r = finn_accumulator_width([[1]], 0, 2 ** n)
    assert (r["bits"], r["signed"]) == (n + 1, False)


@pytest.mark.parametrize("n", [1, 2, 8, 16, 17, 32])
def test_signed_boundary(n):
    lo, hi = -(2 ** (n - 1)), 2 ** (n - 1) - 1
    assert finn_accumulator_width([[1]], lo, hi)["bits"] == n
    assert finn_accumulator_width([[1]], lo - 1, hi)["bits"] == n + 1   # acc_min below -2^(n-1)
    assert finn_accumulator_width([[1]], lo, hi + 1)["bits"] == n + 1   # acc_max = 2^(n-1)
    assert finn_accumulator_width([[1]], -1, hi)["bits"] == n           # any negative -> INT
    r = finn_accumulator_width([[-1]], 0, -lo)                          # negative weight, UINT input
    assert (r["acc_min"], r["acc_max"], r["bits"], r["signed"]) == (lo, 0, n, True)


def test_int8_by_int8_corner():
    # -128 * -128 = 16384 = 2^14 needs INT16; 127 weights stop at INT15
    r = finn_accumulator_width([[-128]], -128, 127)
    assert (r["acc_min"], r["acc_max"], r["dtype"]) == (-16256, 16384, "INT16")
    assert finn_accumulator_width([[127]], -128, 127)["dtype"] == "INT15"


def test_known_unsigned_sizes():
    lo, hi = datatype_range(8, False)
    assert finn_accumulator_width(np.ones((3, 255)), lo, hi)["dtype"] == "UINT16"   # 65025
    assert finn_accumulator_width(np.ones((3, 257)), lo, hi)["dtype"] == "UINT16"   # 65535
    assert finn_accumulator_width(np.ones((3, 258)), lo, hi)["dtype"] == "UINT17"   # 65790


def test_unsigned_vs_signed():
    w = np.array([[1, 2, 3], [0, 4, 1]])
    assert finn_accumulator_width(w, 0, 15)["signed"] is False
    assert finn_accumulator_width(w, -8, 7)["signed"] is True        # signed input
    w[1, 0] = -1
    r = finn_accumulator_width(w, 0, 15)
    assert r["signed"] is True and r["acc_min"] == -15               # one negative weight
    # the largest channel maximum and the smallest channel minimum may come from different channels
    r = finn_accumulator_width([[5, 5], [-1, 0]], 0, 3)
    assert (r["acc_min"], r["acc_max"], r["dtype"]) == (-3, 30, "INT6")


def test_zero_range_is_uint0():
    r = finn_accumulator_width(np.zeros((4, 9)), -128, 127)
    assert (r["bits"], r["signed"], r["dtype"]) == (0, False, "UINT0")
    assert r["bits_last_node_no_activation"] is None   # FINN's roundup asserts on 0


@pytest.mark.parametrize("bits,expect", [(1, 8), (7, 8), (8, 8), (9, 16), (17, 24), (32, 32), (33, 40)])
def test_last_node_rounds_to_multiple_of_8(bits, expect):
    r = finn_accumulator_width([[1]], 0, 2 ** bits - 1)
    assert r["bits"] == bits and r["bits_last_node_no_activation"] == expect
    r = finn_accumulator_width([[1]], -(2 ** (bits - 1)), 0)
    assert r["bits"] == bits and r["bits_last_node_no_activation"] == expect


# ---------------------------------------------------------------- bipolar and XNOR

@pytest.mark.parametrize("seed", range(8))
def test_bipolar_input(seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(-4, 5, size=(3, 4))
    r = finn_accumulator_width(w, *datatype_range(1, True, bipolar=True))
    lo, hi, _, _ = brute_range(w, (-1, 1))
    assert (r["acc_min"], r["acc_max"]) == (lo, hi)
    l1 = np.abs(w).sum(axis=1)
    assert (r["acc_min"], r["acc_max"]) == (-int(l1.max()), int(l1.max()))


@pytest.mark.parametrize("seed", range(8))
def test_binary_xnor_mode(seed):
    rng = np.random.default_rng(seed)
    c, k = 3, int(rng.integers(1, 6))
    wbin = rng.integers(0, 2, size=(c, k))
    r = finn_accumulator_width(wbin, 0, 1, binary_xnor_mode=True)
    # FINN's range: bipolar weights 2w-1 on BINARY inputs
    lo, hi, _, xs = brute_range(2 * wbin - 1, (0, 1))
    assert (r["acc_min"], r["acc_max"]) == (lo, hi)
    # the hardware counts matches, which reach K
    popcount = (xs[:, None, :] == wbin[None, :, :]).sum(axis=2)
    assert r["popcount_max"] == int(popcount.max()) == k
    top = 2 ** (r["bits"] - 1) - 1 if r["signed"] else 2 ** r["bits"] - 1
    assert r["popcount_fits"] == (k <= top)


def test_binary_xnor_mode_can_undersize_popcount():
    r = finn_accumulator_width([[1, 1, 0, 0]], 0, 1, binary_xnor_mode=True)
    assert (r["acc_min"], r["acc_max"], r["dtype"]) == (-2, 2, "INT3")
    assert r["popcount_fits"] is False     # popcount 4 > INT3's 3
    r = finn_accumulator_width([[1, 1, 1, 1]], 0, 1, binary_xnor_mode=True)
    assert r["dtype"] == "UINT3" and r["popcount_fits"] is True
    with pytest.raises(ValueError):
        finn_accumulator_width([[1, -1]], 0, 1, binary_xnor_mode=True)
    with pytest.raises(ValueError):
        finn_accumulator_width([[1, 0]], -1, 1, binary_xnor_mode=True)


# ---------------------------------------------------------------- thresholds

def test_thresholds_never_widen():
    w = np.array([[3, -2, 1], [1, 1, 1]])
    base = finn_accumulator_width(w, -4, 3)
    for t in ([[-5, 0, 5]], [[-10 ** 6, 10 ** 6]], np.zeros((2, 3)), [[base["acc_min"], base["acc_max"]]]):
        r = finn_accumulator_width(w, -4, 3, thresholds=np.asarray(t, dtype=np.float32))
        assert (r["bits"], r["signed"], r["acc_min"], r["acc_max"]) == \
            (base["bits"], base["signed"], base["acc_min"], base["acc_max"])
    r = finn_accumulator_width(w, -4, 3, thresholds=[[-10 ** 6, 10 ** 6]])
    assert r["thresholds_clipped"] is True and r["thresholds_integer"] is True
    r = finn_accumulator_width(w, -4, 3, thresholds=[[0, 5]])
    assert r["thresholds_clipped"] is False
    r = finn_accumulator_width(w, -4, 3, thresholds=[[0.5, 5]])
    assert r["thresholds_integer"] is False      # FINN asserts here
    r = finn_accumulator_width(w, -4, 3, thresholds=[[0.5, 10 ** 6]])
    assert r["thresholds_integer"] is False      # clipping keeps 0.5


def multithreshold(acc, t):
    """Steps fired: count of thresholds t[c] with t <= acc (finn-hlslib less_equal)."""
    t = np.broadcast_to(t, (acc.shape[1], t.shape[1]))
    return (acc[:, :, None] >= t[None, :, :]).sum(axis=2)


@pytest.mark.parametrize("seed", range(30))
def test_threshold_clip_changes_output_against_enumeration(seed):
    rng = np.random.default_rng(seed)
    c, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    w = rng.integers(-3, 4, size=(c, k))
    lo, hi, acc, _ = brute_range(w, range(-2, 2))
    rows = 1 if seed % 3 == 0 else c
    t = np.sort(rng.integers(lo - 3, hi + 4, size=(rows, 3)), axis=1).astype(np.float32)
    r = finn_accumulator_width(w, -2, 1, thresholds=t)
    clipped = np.clip(t, r["acc_min"], r["acc_max"]) if r["thresholds_clipped"] else t
    assert r["thresholds_clipped"] == bool((t < lo).any() or (t > hi).any())
    differs = bool((multithreshold(acc, t) != multithreshold(acc, clipped)).any())
    assert r["threshold_clip_changes_output"] == differs


def test_threshold_shape_checked():
    with pytest.raises(ValueError):
        finn_accumulator_width(np.ones((4, 3)), 0, 3, thresholds=np.zeros((3, 2)))
    with pytest.raises(ValueError):
        finn_accumulator_width(np.ones((4, 3)), 0, 3, thresholds=[[np.nan]])


# ---------------------------------------------------------------- runtime-writeable weights

def test_runtime_weights_miss_min_times_min():
    r = finn_accumulator_width([[0]], -128, 127, runtime_weight_range=(-128, 127))
    assert (r["acc_min"], r["acc_max"], r["dtype"]) == (-16256, 16129, "INT15")
    assert (r["worst_acc_max"], r["worst_bits"]) == (16384, 16)
    # the worst case over every weight and input value really is 16384
    ws, xs = np.arange(-128, 128), np.arange(-128, 128)
    assert int((ws[:, None] * xs[None, :]).max()) == r["worst_acc_max"]


@pytest.mark.parametrize("k", [1, 9, 32, 288])
def test_runtime_weights_rederived(k):
    for (xlo, xhi), (wlo, whi) in itertools.product(
            [datatype_range(8, True), datatype_range(8, False), datatype_range(3, True), (-1, 1)],
            [datatype_range(8, True), datatype_range(4, True), datatype_range(4, False)]):
        r = finn_accumulator_width(np.zeros((5, k)), xlo, xhi, runtime_weight_range=(wlo, whi))
        ends = [a * b for a in (wlo, whi) for b in (xlo, xhi)]
        lower = sorted(k * wlo * x for x in (xlo, xhi))
        upper = sorted(k * whi * x for x in (xlo, xhi))
        assert r["acc_min"] == min(lower[0], upper[0]) == k * min(ends)
        assert r["acc_max"] == upper[1]                      # as FINN v0.10.1 writes it
        assert r["worst_acc_max"] == k * max(ends)
        assert (r["worst_bits"], r["worst_signed"]) == smallest_type(k * min(ends), k * max(ends))
        if xlo >= 0 or wlo >= 0:
            assert r["bits"] == r["worst_bits"]              # the slip needs signed x and w


# ---------------------------------------------------------------- FINN's own test, re-derived

def colbert_bound(l1_max, ibits, isigned):
    """The closed-form bound of Colbert et al. (2023) FINN's test_minimize_accumulator_width
    asserts its result against: ceil(beta + log2(1 + 2^-beta) + 1)."""
    beta = math.log2(l1_max) + ibits - float(isigned)
    return math.ceil(beta + math.log2(1 + 2 ** -beta) + 1.0)


WEIGHTS = {"INT8": (-128, 127), "INT7": (-64, 63), "INT3": (-4, 3), "TERNARY": (-1, 1)}
FINN_INPUTS = {"INT8": (-128, 127, 8, True), "UINT8": (0, 255, 8, False), "INT3": (-4, 3, 3, True),
               "UINT3": (0, 7, 3, False), "BIPOLAR": (-1, 1, 1, True), "TERNARY": (-1, 1, 2, True)}


@pytest.mark.parametrize("wdt", sorted(WEIGHTS))
@pytest.mark.parametrize("idt", sorted(FINN_INPUTS))
@pytest.mark.parametrize("depthwise", [False, True])
def test_within_closed_form_bound(wdt, idt, depthwise):
    """FINN's toy model (first MobileNetV1 pair): VVAU of 32 channels x 3x3, MVAU 32 -> 64."""
    rng = np.random.default_rng(zlib.crc32(f"{wdt}/{idt}/{depthwise}".encode()))
    wlo, whi = WEIGHTS[wdt]
    xlo, xhi, ibits, isigned = FINN_INPUTS[idt]
    shape = (32, 1, 3, 3) if depthwise else (64, 32)
    for _ in range(5):
        w = rng.integers(wlo, whi + 1, size=shape)
        r = finn_accumulator_width(w, xlo, xhi, depthwise=depthwise)
        assert r["op"] == ("VVAU" if depthwise else "MVAU")
        flat = w.reshape(shape[0], -1)
        if np.abs(flat).sum(axis=1).max() > 0:
            assert r["bits"] <= colbert_bound(np.abs(flat).sum(axis=1).max(), ibits, isigned)
        assert r["bits_last_node_no_activation"] % 8 == 0
        # runtime-writeable: the data-type bound with alpha = log2 K + bits(x) + bits(w) - 1 - signed(x)
        rw = finn_accumulator_width(w, xlo, xhi, depthwise=depthwise, runtime_weight_range=(wlo, whi))
        kk = flat.shape[1]
        wbits = 2 if wdt == "TERNARY" else int(wdt[3:])
        alpha = math.log2(kk) + ibits + wbits - 1.0 - float(isigned)
        assert rw["bits"] <= math.ceil(alpha + math.log2(1 + 2 ** -alpha) + 1.0)


def test_independent_of_thresholds_and_under_20_bits():
    """From FINN's dev tests: INT8 x INT8, MW=4, MH=8 stays well under 20 bits, with or without
    thresholds in [-10000, 10000]."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        w = rng.integers(-128, 128, size=(8, 4))
        t = np.sort(rng.integers(-10000, 10000, size=(8, 7)), axis=1).astype(np.float32)
        a = finn_accumulator_width(w, -128, 127)
        b = finn_accumulator_width(w, -128, 127, thresholds=t)
        assert a["dtype"] == b["dtype"] and a["bits"] < 20


# ---------------------------------------------------------------- depthwise and input handling

def test_depthwise_flattening_and_labels():
    rng = np.random.default_rng(3)
    w4 = rng.integers(-8, 8, size=(16, 1, 3, 3))
    a = finn_accumulator_width(w4, 0, 15, depthwise=True)
    b = finn_accumulator_width(w4.reshape(16, 9), 0, 15, depthwise=True)
    c = finn_accumulator_width(w4.reshape(16, 9), 0, 15)
    assert a == b
    assert {k: v for k, v in a.items() if k not in ("op", "rule")} == \
        {k: v for k, v in c.items() if k not in ("op", "rule")}
    assert a["op"] == "VVAU" and a["rule"].startswith("VVAU")
    # VVAU in FINN reshapes (C, 1, kH, kW) -> (C, kH*kW) and transposes for QONNX
    qmin, qmax = qonnx_range(w4.reshape(16, 9).T, 0, 15)
    assert (a["acc_min"], a["acc_max"]) == (int(qmin), int(qmax))


def test_float_container_and_big_values_exact():
    w = np.array([[127.0, -128.0, 3.0]], dtype=np.float32)
    assert finn_accumulator_width(w, -128, 127)["acc_max"] == 127 * 127 + 128 * 128 + 3 * 127
    big = 2 ** 40
    r = finn_accumulator_width(np.full((2, 1024), big, dtype=np.int64), -(2 ** 31), 2 ** 31 - 1)
    assert r["acc_max"] == 1024 * big * (2 ** 31 - 1) and r["acc_min"] == -1024 * big * 2 ** 31
    assert (r["bits"], r["signed"]) == smallest_type(r["acc_min"], r["acc_max"])


def test_bad_inputs():
    with pytest.raises(ValueError):
        finn_accumulator_width([[0.5]], 0, 1)
    with pytest.raises(ValueError):
        finn_accumulator_width([[1]], 3, 2)
    with pytest.raises(ValueError):
        finn_accumulator_width([1, 2], 0, 1)
    with pytest.raises(ValueError):
        finn_accumulator_width([[1]], 0, 1, runtime_weight_range=(2, 1))
