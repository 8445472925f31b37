"""accsim's float datapaths against the independent exact-rational reference (float_reference.py,
written from datapath/FLOAT.md): random and adversarial dot products through every float preset's
accumulator, promotion into fp32, block scales (F32 and E8M0), integer tiles handed to a float
stage, the exact result, and bad input."""
import random
from fractions import Fraction

import numpy as np
import pytest

import accsim
import float_reference as ref

# (formats, stage spec of the preset's accumulator)
PRESETS = [
    ("fp16", "e8m23:g4:f23:rz"),     # V100
    ("fp16", "e8m23:g8:f24:rz"),     # A100 (k = 16 as two halves of 8)
    ("bf16", "e8m23:g8:f24:rz"),
    ("fp16", "e8m23:g16:f25:rz"),    # H100 wgmma
    ("bf16", "e8m23:g16:f25:rz"),
    ("fp16", "e5m10:g16:f25:rne"),   # H100 with an fp16 accumulator
    ("e4m3", "e8m13:g32:f13:rz"),    # H100 FP8
    ("e5m2", "e8m13:g32:f13:rz"),
    ("e4m3", "e8m13:g16:f13:rz"),    # Ada FP8 (halves)
    ("e4m3", "e8m23:g32:f25:rz"),    # B200 FP8
    ("fp32", "e8m23"),               # CPU FMA chain
    ("tf32", "e8m23:g4:f24:rz"),
    ("fp16", "e6m9:g3:rne"),         # an odd register, no truncation
]
CODE_DTYPE = {"e4m3": np.uint8, "e5m2": np.uint8, "fp16": np.uint16, "bf16": np.uint16,
              "fp32": np.uint32, "tf32": np.uint32}
BITS = {"e4m3": 8, "e5m2": 8, "fp16": 16, "bf16": 16, "fp32": 32, "tf32": 32}


def random_codes(rng, fmt, shape, specials):
    """Codes with wide exponent spreads, subnormals, cancellation and (optionally) inf/NaN."""
    bits = BITS[fmt]
    n = int(np.prod(shape))
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.08:
            c = rng.randrange(0, 1 << min(bits, 16)) & ((1 << (bits - 1)) - 1) >> (bits // 2)
            c |= rng.randrange(2) << (bits - 1)          # subnormals and tiny values
        elif r < 0.12:
            c = rng.randrange(2) << (bits - 1)           # +-0
        else:
            c = rng.randrange(0, 1 << bits)
        v = ref.decode(c, fmt)
        if not specials and (ref.is_nan(v) or ref.is_inf(v)):
            c = 0
        out.append(c)
    return np.array(out, dtype=np.uint64).reshape(shape)


def as_array(codes, fmt):
    return codes.astype(CODE_DTYPE[fmt])


def same(got, want):
    """A float64 from accsim against a reference value (Fraction or special)."""
    if ref.is_nan(want):
        return np.isnan(got)
    if want == ref.POS_INF:
        return got == np.inf
    if want == ref.NEG_INF:
        return got == -np.inf
    return not np.isnan(got) and Fraction(float(got)) == ref.as_fraction(want) and not (
        got == 0 and np.signbit(got))


def exact_value(a, b, fa, fb, scales=None):
    total = Fraction(0)
    for i, (x, w) in enumerate(zip(a, b)):
        vx, vw = ref.decode(int(x), fa), ref.decode(int(w), fb)
        if isinstance(vx, str) or isinstance(vw, str):
            if ref.NEG_ZERO in (vx, vw) and not ({vx, vw} & {ref.NAN, ref.POS_INF, ref.NEG_INF}):
                continue
            return None
        p = vx * vw
        if scales:
            p *= scales(i)
        total += p
    return total


@pytest.mark.parametrize("fmt,spec", PRESETS)
def test_every_output_equals_the_exact_reference(fmt, spec):
    rng = random.Random(f"{fmt}{spec}")
    s = ref.parse_stage(spec)
    for trial in range(24):
        k = rng.choice([1, 2, 5, 31, 32, 33, 64, 100])
        x = random_codes(rng, fmt, (3, k), specials=trial % 6 == 5)
        w = random_codes(rng, fmt, (2, k), specials=trial % 6 == 5)
        kw = {} if fmt in ("fp16", "fp32") and False else {"x_format": fmt, "w_format": fmt}
        r = accsim.replay(as_array(x, fmt), as_array(w, fmt), spec, **kw)
        for i in range(3):
            for j in range(2):
                want = ref.dot([int(c) for c in x[i]], [int(c) for c in w[j]], fmt, fmt,
                               s["acc"], s["G"], s["F"], s["mode"])
                assert same(r["values"][i, j], want), (trial, i, j, r["values"][i, j], want)
                e = exact_value(x[i], w[j], fmt, fmt)
                if e is not None:
                    assert r["exact"][i, j] == float(e)


def promoted(a, b, fmt, first, length, scales=None, block=None):
    """The reference of `LENxFIRST,e8m23`: tiles through FIRST, each promoted by an fp32 FMA
    (times round_fp32(sx * sw) where block scales are given)."""
    s = ref.parse_stage(first)
    acc = Fraction(0)
    for t0 in range(0, len(a), length):
        t = ref.dot(a[t0:t0 + length], b[t0:t0 + length], fmt, fmt, s["acc"], s["G"], s["F"],
                    s["mode"])
        store = "e%dm%d" % s["acc"]
        code = ref.encode(t, store)
        if scales:
            sx, sw = scales(t0 // block)
            scale = ref.round_to(sx * sw, 8, 23, "rne")
        else:
            scale = Fraction(1)
        acc = ref.step([code], [ref.encode(scale, "fp32")], store, "fp32", acc, (8, 23), None,
                       "rne")
    return acc


def test_promotion_every_128_equals_the_reference():
    rng = random.Random(5)
    for k in (128, 300, 512):
        x = random_codes(rng, "e4m3", (2, k), specials=False)
        w = random_codes(rng, "e4m3", (2, k), specials=False)
        r = accsim.replay(as_array(x, "e4m3"), as_array(w, "e4m3"), "128xe8m13:g32:f13:rz,e8m23",
                          x_format="e4m3", w_format="e4m3")
        for i in range(2):
            for j in range(2):
                want = promoted([int(c) for c in x[i]], [int(c) for c in w[j]], "e4m3",
                                "e8m13:g32:f13:rz", 128)
                assert same(r["values"][i, j], want)


def test_block_scales_f32_and_e8m0_equal_the_reference():
    rng = random.Random(9)
    k, block = 256, 128
    x = random_codes(rng, "e4m3", (2, k), specials=False)
    w = random_codes(rng, "e4m3", (2, k), specials=False)
    xs = np.array([[rng.uniform(1e-3, 4) for _ in range(2)] for _ in range(2)], np.float32)
    ws = np.array([[rng.uniform(1e-3, 4) for _ in range(2)] for _ in range(2)], np.float32)
    r = accsim.replay(as_array(x, "e4m3"), as_array(w, "e4m3"), "128xe8m13:g32:f13:rz,e8m23",
                      x_format="e4m3", w_format="e4m3", block=block, x_block_scale=xs,
                      w_block_scale=ws)
    for i in range(2):
        for j in range(2):
            def sc(b, i=i, j=j):
                return Fraction(float(xs[i, b])), Fraction(float(ws[j, b]))
            want = promoted([int(c) for c in x[i]], [int(c) for c in w[j]], "e4m3",
                            "e8m13:g32:f13:rz", 128, sc, block)
            assert same(r["values"][i, j], want)
            e = exact_value(x[i], w[j], "e4m3", "e4m3",
                            lambda t, i=i, j=j: Fraction(float(xs[i, t // block]))
                            * Fraction(float(ws[j, t // block])))
            assert r["exact"][i, j] == float(e)
    # E8M0 scales on a single stage scale each product's exponent inside the steps.
    xe = np.array([[127 + 3, 127 - 2]] * 2, np.uint8)
    we = np.array([[127, 127 + 1]] * 2, np.uint8)
    r = accsim.replay(as_array(x, "e4m3"), as_array(w, "e4m3"), "e8m23:g32:f25:rz",
                      x_format="e4m3", w_format="e4m3", block=block, x_block_scale=xe,
                      w_block_scale=we)
    unscaled_hi = accsim.replay(as_array(x[:, :128], "e4m3"), as_array(w[:, :128], "e4m3"),
                                "e8m23", x_format="e4m3", w_format="e4m3")
    lo = sum(Fraction(float(ref.as_fraction(ref.decode(int(a), "e4m3")))) *
             ref.as_fraction(ref.decode(int(b), "e4m3")) for a, b in zip(x[0, :128], w[0, :128]))
    assert unscaled_hi["exact"][0, 0] == float(lo)
    assert r["exact"][0, 0] == float(
        lo * 8 + sum(ref.as_fraction(ref.decode(int(a), "e4m3")) *
                     ref.as_fraction(ref.decode(int(b), "e4m3"))
                     for a, b in zip(x[0, 128:], w[0, 128:])) * Fraction(1, 4) * 2)


def test_integer_tiles_handed_to_fp32():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(4, 200), dtype=np.int8)
    w = rng.integers(-128, 128, size=(3, 200), dtype=np.int8)
    r = accsim.replay(x, w, "16x12,e8m23")
    for i in range(4):
        for j in range(3):
            acc = Fraction(0)
            for t0 in range(0, 200, 16):
                reg = 0
                for a, b in zip(x[i, t0:t0 + 16], w[j, t0:t0 + 16]):
                    reg = (reg + int(a) * int(b) + 2048) % 4096 - 2048  # 12-bit wrap
                acc = ref.round_to(acc + reg, 8, 23, "rne")
            assert r["values"][i, j] == float(acc)
            assert r["exact"][i, j] == float(int(x[i].astype(np.int64) @ w[j].astype(np.int64)))
    assert r["overflow"]["events"] > 0
    assert r["float"]["inexact_outputs"] == int(r["corrupted"].sum())


def test_promotion_shrinks_the_error_of_long_fp8_dot_products():
    rng = np.random.default_rng(2026)
    x = (rng.standard_normal((8, 4096)) * 40).astype(np.float16)
    w = (rng.standard_normal((8, 4096)) * 40).astype(np.float16)
    # fp16 values as e4m3 codes by rounding through the reference (few values, exact RNE).
    def e4m3(a):
        table = {}
        out = np.zeros(a.shape, np.uint8)
        for idx, v in np.ndenumerate(a):
            v = float(v)
            if v not in table:
                table[v] = ref.encode(ref.round_to(Fraction(v), 4, 3, "rne"), "e4m3") \
                    if abs(v) < 448 else (0x7e | (0x80 if v < 0 else 0))
            out[idx] = table[v]
        return out
    xq, wq = e4m3(x), e4m3(w)
    plain = accsim.replay(xq, wq, "e8m13:g32:f13:rz", x_format="e4m3", w_format="e4m3")
    promo = accsim.replay(xq, wq, "128xe8m13:g32:f13:rz,e8m23", x_format="e4m3",
                          w_format="e4m3")
    assert (plain["exact"] == promo["exact"]).all()
    assert promo["float"]["mean_rel_error"] < plain["float"]["mean_rel_error"] / 4
    assert plain["float"]["swamped"] > promo["float"]["swamped"]


@pytest.mark.parametrize("kwargs,message", [
    (dict(acc="e8m23", x_format="e4m3", w_format="e4m4"), "unknown float format"),
    (dict(acc="e8m23", x_format="fp16", w_format="fp16", bias=np.zeros(2, np.int64)),
     "adds no bias"),
    (dict(acc="16", x_format="e4m3", w_format="e4m3"), "float stages"),
    (dict(acc="128x16,e8m23", x_format="e4m3", w_format="e4m3"), "float stages from the first"),
    (dict(acc="e8m23:g0"), "group"),
    (dict(acc="e8m23:f101"), "fraction bits"),
    (dict(acc="e12m3"), "exponent bits"),
    (dict(acc="e8m23:q4"), "unknown flag"),
    (dict(acc="4xe8m23,32"), "cannot follow a float stage"),
    (dict(acc="e8m23", x_format="e4m3", w_format="e4m3", block=4,
          x_block_scale=np.ones((2, 2), np.float32)), "powers of two"),
    (dict(acc="3xe8m13,e8m23", x_format="e4m3", w_format="e4m3", block=4,
          x_block_scale=np.ones((2, 2), np.float32)), "inside one block"),
    (dict(acc="4xe8m13,e8m23", x_format="e4m3", w_format="e4m3", block=4,
          x_block_scale=np.full((2, 2), -1, np.float32)), "positive finite"),
])
def test_bad_float_input_is_a_clear_error(kwargs, message):
    x = np.full((2, 8), 0x38, np.uint8)
    w = np.full((2, 8), 0x38, np.uint8)
    acc = kwargs.pop("acc")
    with pytest.raises(accsim.InputError, match=message):
        accsim.replay(x, w, acc, **kwargs)
