#!/usr/bin/python3
"""DeepSeek-V3's FP8 accumulation experiment (arXiv 2412.19437, section 3.3.2), redone bit-exactly.

Random matrices (standard normal, seeded) of K = 4096 are quantized to FP8 E4M3 with one scale per
tensor (amax -> 448, round to nearest even), multiplied through Hopper's FP8 wgmma accumulator
(e8m13, 32 products per step, 13 fraction bits, round toward zero) for the whole dot product, and
with the partial sum promoted into an fp32 register every 128 products (DeepSeek's N_C = 128).
Errors are against the exact product of the quantized matrices, so they are the accumulator's
alone: per output (max and mean of |value - exact| / |exact|), normwise (||V - E|| / ||E||,
Frobenius) and max/max (max |value - exact| / max |exact|). Prints a table; --rows/--cols/--k
change the shape.

    /usr/bin/python3 bench/fp8_promotion.py [--rows 64] [--cols 64] [--k 4096] [--seed 2026]
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "build", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "traces", "python"))
import accsim  # noqa: E402


def to_e4m3(v):
    """float64 -> E4M3FN codes (round to nearest even, saturate at 448). Exhaustive table."""
    codes = np.arange(256, dtype=np.uint32)
    sign = (codes >> 7) & 1
    exp = (codes >> 3) & 15
    man = codes & 7
    val = np.where(exp == 0, man / 8.0 * 2.0 ** -6, (1 + man / 8.0) * 2.0 ** (exp.astype(float) - 7))
    val = np.where(sign == 1, -val, val)
    ok = ~((exp == 15) & (man == 7))  # NaN patterns
    pos = np.sort(np.unique(val[ok & (sign == 0)]))
    a = np.minimum(np.abs(v), 448.0)
    i = np.clip(np.searchsorted(pos, a), 1, len(pos) - 1)
    lo, hi = pos[i - 1], pos[i]
    pick_hi = (a - lo > hi - a) | ((a - lo == hi - a) & (np.arange(len(pos))[i] % 2 == 0))
    mag = np.where(pick_hi, hi, lo)
    lut = {float(val[c]): c for c in range(128) if ok[c]}
    out = np.array([lut[float(m)] for m in mag.ravel()], dtype=np.uint8).reshape(v.shape)
    return out | (np.signbit(v).astype(np.uint8) << 7) * (mag != 0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--cols", type=int, default=64)
    p.add_argument("--k", type=int, default=4096)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    x = rng.standard_normal((a.rows, a.k))
    w = rng.standard_normal((a.cols, a.k))
    xq = to_e4m3(x * 448 / np.abs(x).max())
    wq = to_e4m3(w * 448 / np.abs(w).max())
    specs = [
        ("H100 FP8 wgmma, e8m13 for the whole K", "e8m13:g32:f13:rz"),
        ("promoted to fp32 every 128 (DeepSeek-V3)", "128xe8m13:g32:f13:rz,e8m23"),
        ("Blackwell FP8 (25 fraction bits, fp32)", "e8m23:g32:f25:rz"),
        ("exact products, fp32 FMA chain", "e8m23"),
    ]
    print(f"FP8 E4M3 GEMM, {a.rows} x {a.cols} outputs, K = {a.k}, seed {a.seed}\n")
    print(f"{'accumulator':45s} {'spec':30s} {'max rel':>9s} {'mean rel':>9s} "
          f"{'normwise':>9s} {'max/max':>9s} {'seconds':>8s}")
    for name, spec in specs:
        t = time.perf_counter()
        r = accsim.replay(xq, wq, spec, x_format="e4m3", w_format="e4m3", threads=a.threads)
        dt = time.perf_counter() - t
        v, e = r["values"], r["exact"]
        normwise = np.linalg.norm(v - e) / np.linalg.norm(e)
        scale_rel = np.abs(v - e).max() / np.abs(e).max()
        f = r["float"]
        print(f"{name:45s} {spec:30s} {100 * f['max_rel_error']:9.3g}% "
              f"{100 * f['mean_rel_error']:9.3g}% {100 * normwise:9.3g}% {100 * scale_rel:9.3g}% "
              f"{dt:8.2f}")


if __name__ == "__main__":
    main()
