#!/usr/bin/python3
"""Writes an LLM-shaped trace: one decoder block of a 1B-class model, W4A8, 512 tokens.

    tools/make_llm_block.py [--out DIR] [--tokens N] [--seed S]

    (default: build/llm-block.trace, 512 tokens, seed 2026; about 20 s and 160 MB)

The shapes are those of a Llama-style decoder block with hidden size 2048, MLP size 8192 and 16
heads of 128: q/k/v/o projections (2048 -> 2048), gate and up (2048 -> 8192), down (8192 ->
2048) as linear layers, and per head the two attention matmuls, QK^T (K = 128) and AV (K = the
tokens). About 34 G multiply-accumulates at 512 tokens.

The numbers are synthetic, drawn from a fixed seed, with the statistics that matter for
accumulators (no weights of a real 1B model can be trained on this machine in minutes, and none
may be downloaded):
- the residual stream is heavy-tailed (Student t, 5 degrees of freedom) with six outlier
  channels 20-100x larger than the rest, as real LLMs have; the RMS-normalised inputs of q/k/v
  and gate/up inherit them;
- weights are Gaussian (std 0.02, each output channel's spread varying by up to 2x), quantized
  to 4-bit signed codes with one scale per output channel (symmetric);
- activations entering a linear layer are quantized to 8-bit unsigned codes with one scale and
  one zero point per tensor (asymmetric, AXE's setting); the zero point's term
  -zero_point * sum(weights of the channel) is folded into the bias;
- Q, K and V are quantized to 8-bit signed codes (symmetric), the causal softmax
  probabilities to 8-bit unsigned codes (scale 1/255);
- the float path between layers (attention, SiLU gating, residual adds) runs on the dequantized
  integer results, so each layer sees what the quantized block before it produced.
Every layer records its exact integer outputs (computed in float64, exact below 2^53), so an
audit checks them bit for bit.
"""
import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "traces", "python"))
from accsim_trace import TraceWriter  # noqa: E402

HIDDEN, MLP, HEADS = 2048, 8192, 16
HEAD_DIM = HIDDEN // HEADS
OUTLIERS = 6


def weights(rng, out_features, in_features):
    """4-bit signed codes [out, in] and their per-channel scales."""
    spread = 0.02 * rng.uniform(0.7, 1.4, size=(out_features, 1))
    w = rng.standard_normal((out_features, in_features)).astype(np.float32) * spread
    scale = np.abs(w).max(axis=1) / 7.0
    codes = np.clip(np.rint(w / scale[:, None]), -8, 7).astype(np.int8)
    return codes, scale.astype(np.float32)


def quantize_asymmetric(x):
    """8-bit unsigned codes of x with one scale and zero point for the tensor."""
    lo, hi = float(min(x.min(), 0.0)), float(max(x.max(), 0.0))
    scale = (hi - lo) / 255.0 or 1.0
    zero_point = int(np.clip(np.rint(-lo / scale), 0, 255))
    codes = np.clip(np.rint(x / scale) + zero_point, 0, 255).astype(np.uint8)
    return codes, scale, zero_point


def quantize_symmetric(x):
    """8-bit signed codes of x with one scale for the tensor."""
    scale = float(np.abs(x).max()) / 127.0 or 1.0
    return np.clip(np.rint(x / scale), -127, 127).astype(np.int8), scale


def exact_matmul(a, b):
    """a @ b of integer codes, exact (float64 holds every sum below 2^53)."""
    return np.matmul(a.astype(np.float64), b.astype(np.float64))


def rms_norm(x, gain):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-6) * gain


class Block:
    def __init__(self, writer):
        self.w = writer

    def linear(self, name, x, codes_w, scale_w):
        """A W4A8 linear layer on float activations x [tokens, in]; returns its float output."""
        codes_x, scale_x, zp = quantize_asymmetric(x)
        acc = exact_matmul(codes_x, codes_w.T)
        bias = -zp * codes_w.astype(np.int64).sum(axis=1)
        out = (acc + bias).astype(np.int64)
        self.w.linear(name, codes_x, codes_w, input_bits=8, input_signed=False, weight_bits=4,
                      weight_signed=True, input_zero_point=zp, input_scale=scale_x,
                      weight_scale=scale_w, bias=bias, output=out)
        return out.astype(np.float32) * (scale_x * scale_w[None, :])

    def matmul(self, name, lhs, lhs_signed, lhs_scale, rhs, rhs_scale):
        """An 8-bit x 8-bit attention matmul of codes [heads, M, K] x [heads, K, N]."""
        out = exact_matmul(lhs, rhs).astype(np.int64)
        self.w.matmul(name, lhs, rhs, lhs_bits=8, lhs_signed=lhs_signed, rhs_bits=8,
                      rhs_signed=True, lhs_scale=lhs_scale, rhs_scale=rhs_scale, output=out)
        return out.astype(np.float32) * (lhs_scale * rhs_scale)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "llm-block.trace"))
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args(argv)
    if a.tokens < 1:
        ap.error("--tokens must be at least 1")
    t0 = time.time()
    rng = np.random.default_rng(a.seed)
    T = a.tokens

    # The residual stream entering the block: heavy tails and a few huge channels.
    resid = rng.standard_t(5, size=(T, HIDDEN)).astype(np.float32)
    outliers = rng.choice(HIDDEN, size=OUTLIERS, replace=False)
    resid[:, outliers] *= rng.uniform(20, 100, size=OUTLIERS).astype(np.float32)
    gain1 = rng.normal(1.0, 0.1, size=HIDDEN).astype(np.float32)
    gain2 = rng.normal(1.0, 0.1, size=HIDDEN).astype(np.float32)

    meta = {"generator": "tools/make_llm_block.py", "seed": a.seed, "tokens": T,
            "hidden": HIDDEN, "mlp": MLP, "heads": HEADS, "outlier_channels": sorted(int(c) for c in outliers),
            "quantization": "W4A8: 4-bit symmetric per-channel weights, 8-bit asymmetric per-tensor "
                            "activations (zero point folded into the bias)"}
    source = (f"synthetic Llama-style decoder block (hidden {HIDDEN}, MLP {MLP}, {HEADS} heads), "
              f"{T} tokens, seed {a.seed}; heavy-tailed activations with {OUTLIERS} outlier channels")
    with TraceWriter(a.out, model="llm-block-1b", source=source, meta=meta) as w:
        b = Block(w)
        x = rms_norm(resid, gain1)
        q = b.linear("attn.q_proj", x, *weights(rng, HIDDEN, HIDDEN))
        k = b.linear("attn.k_proj", x, *weights(rng, HIDDEN, HIDDEN))
        v = b.linear("attn.v_proj", x, *weights(rng, HIDDEN, HIDDEN))

        # Attention, all heads in one matmul layer each: [heads, T, d] x [heads, d, T], then
        # [heads, T, T] x [heads, T, d].
        heads = lambda t: t.reshape(T, HEADS, HEAD_DIM).transpose(1, 0, 2)  # noqa: E731
        qc, qs = quantize_symmetric(heads(q))
        kc, ks = quantize_symmetric(heads(k))
        scores = b.matmul("attn.qk", qc, True, qs, np.ascontiguousarray(kc.transpose(0, 2, 1)), ks)
        scores = scores / np.sqrt(HEAD_DIM) + np.triu(np.full((T, T), -np.inf, np.float32), 1)
        p = np.exp(scores - scores.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        pc = np.clip(np.rint(p * 255), 0, 255).astype(np.uint8)
        vc, vs = quantize_symmetric(heads(v))
        ctx = b.matmul("attn.av", pc, False, 1 / 255, vc, vs)
        attn = ctx.transpose(1, 0, 2).reshape(T, HIDDEN)
        o = b.linear("attn.o_proj", attn, *weights(rng, HIDDEN, HIDDEN))

        resid = resid + o
        x = rms_norm(resid, gain2)
        gate = b.linear("mlp.gate_proj", x, *weights(rng, MLP, HIDDEN))
        up = b.linear("mlp.up_proj", x, *weights(rng, MLP, HIDDEN))
        act = gate / (1 + np.exp(-gate)) * up
        b.linear("mlp.down_proj", act, *weights(rng, HIDDEN, MLP))
    size = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    print(f"wrote {a.out} ({size / 1e6:.0f} MB, {time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
