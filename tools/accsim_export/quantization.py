"""Quantization math of the exporter, in numpy (float64 in, int64 codes out).

Weights: per output channel (axis 0), symmetric, M bits, codes in [-(2^(M-1)-1), 2^(M-1)-1].
Activations: per tensor, N bits; unsigned with zero point 0 when the calibration data is
non-negative (after ReLU-like ops), otherwise signed: symmetric (zero point 0) or asymmetric
(a zero point chosen so that [min, max] fills the signed range).
Bias: at accumulator scale, b_int = round(b / (s_x s_w)) - zero_point * sum(q), so the
datapath multiplies the stored codes and the zero-point correction rides in the bias.

Rounding: "nearest" rounds half to even (as torch.round and numpy.round do); "toward_zero"
truncates, which can only shrink |q| and so can never break an L1 budget.
"""
from dataclasses import dataclass

import numpy as np

ROUNDING_MODES = ("nearest", "toward_zero")
ACTIVATION_MODES = ("symmetric", "asymmetric")


def round_codes(v, mode: str) -> np.ndarray:
    if mode == "nearest":
        return np.round(v)
    if mode == "toward_zero":
        return np.trunc(v)
    raise ValueError(f"rounding must be one of {ROUNDING_MODES}, got {mode!r}")


@dataclass
class ActQuant:
    """Per-tensor activation quantization: real = scale * (code - zero_point)."""
    bits: int
    signed: bool
    scale: float
    zero_point: int = 0

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def quantize(self, x) -> np.ndarray:
        codes = np.round(np.asarray(x, dtype=np.float64) / self.scale) + self.zero_point
        return np.clip(codes, self.lo, self.hi).astype(np.int64)

    def dequantize(self, codes) -> np.ndarray:
        return self.scale * (np.asarray(codes, dtype=np.float64) - self.zero_point)


def activation_quant(lo: float, hi: float, bits: int, mode: str = "symmetric") -> ActQuant:
    """Parameters for a tensor whose calibration values lie in [lo, hi]."""
    if mode not in ACTIVATION_MODES:
        raise ValueError(f"activation mode must be one of {ACTIVATION_MODES}, got {mode!r}")
    if not 2 <= bits <= 16:
        raise ValueError(f"activation bits must be in [2, 16], got {bits}")
    lo, hi = float(lo), float(hi)
    if lo >= 0:
        return ActQuant(bits, False, hi / ((1 << bits) - 1) if hi > 0 else 1.0, 0)
    if mode == "symmetric":
        m = max(-lo, hi)
        return ActQuant(bits, True, m / ((1 << (bits - 1)) - 1), 0)
    hi = max(hi, 0.0)
    scale = (hi - lo) / ((1 << bits) - 1)
    zero_point = int(np.clip(round(-lo / scale) - (1 << (bits - 1)), -(1 << (bits - 1)), (1 << (bits - 1)) - 1))
    return ActQuant(bits, True, scale, zero_point)


@dataclass
class WeightQuant:
    codes: np.ndarray  # int64, the weight's shape
    scale: np.ndarray  # float64, one per output channel

    def dequantize(self) -> np.ndarray:
        shape = (-1,) + (1,) * (self.codes.ndim - 1)
        return self.codes.astype(np.float64) * self.scale.reshape(shape)

    def l1(self) -> np.ndarray:
        return np.abs(self.codes.reshape(self.codes.shape[0], -1)).sum(axis=1)


def quantize_weights(w, bits: int, rounding: str = "nearest", min_scale=None) -> WeightQuant:
    """Per-output-channel symmetric quantization of w (axis 0 = output channel).

    ``min_scale``: a per-channel lower bound on the scale (the accumulator-aware option
    raises scales to shrink the integer weights).
    """
    if not 2 <= bits <= 16:
        raise ValueError(f"weight bits must be in [2, 16], got {bits}")
    w = np.asarray(w, dtype=np.float64)
    flat = w.reshape(w.shape[0], -1)
    qmax = (1 << (bits - 1)) - 1
    peak = np.abs(flat).max(axis=1)
    scale = np.where(peak > 0, peak / qmax, 1.0)
    if min_scale is not None:
        scale = np.maximum(scale, np.asarray(min_scale, dtype=np.float64))
    codes = np.clip(round_codes(flat / scale[:, None], rounding), -qmax, qmax).astype(np.int64)
    return WeightQuant(codes.reshape(w.shape), scale)


def bias_scale_floor(bias, s_x: float, bias_bits: int = 32):
    """Per channel, the smallest weight scale at which the bias still fits ``bias_bits`` at
    accumulator scale (s_x * s_w). A channel whose weights are all near zero would otherwise
    get a tiny scale and a bias far beyond 32 bits; raising its scale costs that channel
    precision it does not use."""
    if bias is None:
        return None
    limit = (1 << (bias_bits - 1)) - 1
    # Half of the range: the zero-point term -zero_point * sum(q) needs room beside the bias.
    return np.abs(np.asarray(bias, dtype=np.float64)).reshape(-1) / (s_x * (limit // 2))


def fold_bias(bias, s_x: float, wq: WeightQuant, zero_point: int, bias_bits: int = 32, name: str = "") -> np.ndarray:
    """The bias at accumulator scale with the input zero-point correction folded in."""
    channels = wq.codes.shape[0]
    b = np.zeros(channels) if bias is None else np.asarray(bias, dtype=np.float64).reshape(channels)
    b_int = np.round(b / (s_x * wq.scale)).astype(np.int64)
    if zero_point:
        b_int = b_int - zero_point * wq.codes.reshape(channels, -1).sum(axis=1)
    lo, hi = -(1 << (bias_bits - 1)), (1 << (bias_bits - 1)) - 1
    if b_int.min(initial=0) < lo or b_int.max(initial=0) > hi:
        raise ValueError(f"{name}: the bias at accumulator scale does not fit {bias_bits} bits "
                         f"(range [{b_int.min()}, {b_int.max()}])")
    return b_int


def a2q_l1_budget(acc_bits: int, act: ActQuant) -> int:
    """The largest ||q||_1 that A2Q's bound allows in a P-bit accumulator for these inputs:
    ||q||_1 * 2^(N - signed(x)) <= 2^(P-1) - 1 (accsim's a2q_bits then equals at most P)."""
    return ((1 << (acc_bits - 1)) - 1) >> (act.bits - int(act.signed))


def accumulator_aware_weights(w, bias, bits: int, act: ActQuant, acc_bits: int, bias_bits: int = 32):
    """Per-channel quantization whose every partial sum, bias included, fits ``acc_bits``.

    Per channel c the scale is raised until ||q_c||_1 * X + |b_c| <= 2^(P-1) - 1, where X is
    the largest input magnitude (2^(N - signed(x)), plus |zero point|, which the bias folding
    multiplies by sum(q)), and weights are rounded toward zero as A2Q does. Since
    ||trunc(w/s)||_1 <= ||w||_1 / s and |round(b / (s_x s))| <= |b| / (s_x s) + 1/2, the scale
    (||w||_1 X + |b| / s_x) / (R - 1/2) suffices; the loop only guards float rounding.
    Returns (WeightQuant, folded integer bias).
    """
    w = np.asarray(w, dtype=np.float64)
    channels = w.shape[0]
    flat = np.abs(w.reshape(channels, -1))
    r = (1 << (acc_bits - 1)) - 1
    x_mag = (1 << (act.bits - int(act.signed))) + abs(act.zero_point)
    b = np.zeros(channels) if bias is None else np.abs(np.asarray(bias, dtype=np.float64).reshape(channels))
    if r <= 1:
        raise ValueError(f"an accumulator of {acc_bits} bits cannot hold any product")
    need = (flat.sum(axis=1) * x_mag + b / act.scale) / (r - 0.5)
    min_scale = need
    for _ in range(64):
        wq = quantize_weights(w, bits, "toward_zero", min_scale=min_scale)
        b_int = fold_bias(bias, act.scale, wq, act.zero_point, bias_bits)
        # The datapath adds sum(q * code) + b_int with |code| <= 2^(N - signed(x)).
        worst = wq.l1() * (1 << (act.bits - int(act.signed))) + np.abs(b_int)
        over = worst > r
        if not over.any():
            return wq, b_int
        min_scale = np.where(over, wq.scale * 1.001, wq.scale)
    raise RuntimeError("accumulator-aware quantization did not converge")
