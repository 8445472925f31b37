"""Overflow in the loop for an imported model: every integer layer's dot products go through an
accsim accumulator (accsim.replay), and what the register holds, wrapped or saturated, becomes the
layer's output and flows through the rest of the graph.

    loop = AccumulatorLoop("16")
    ex = execute(graph, feeds, loop=loop)          # the graph's outputs with 16-bit accumulators
    loop.totals                                    # {"events": ..., "outputs_corrupted": ...}

The values replace the exact integer result before it is rescaled (scale x values + a float
bias) or, for QLinearConv / QLinearMatMul, before requantization. FP8 layers keep their exact
result (noted once).
"""
from __future__ import annotations

import os
import sys

import numpy as np

from .inputs import InputFileError


def load_accsim():
    """accsim's Python module: from sys.path, else from this source tree's build/python. (With
    tools/ on sys.path, ``import accsim`` can find the C++ sources' folder tools/accsim/ as an
    empty namespace package: that is not the module.)"""
    try:
        import accsim
        if hasattr(accsim, "replay"):
            return accsim
    except ImportError:
        pass
    sys.modules.pop("accsim", None)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.normpath(os.path.join(here, "..", "..", "build", "python")))
    try:
        import accsim
        if not hasattr(accsim, "replay"):
            raise ImportError("not the module")
    except ImportError:
        raise InputFileError("command line", "--acc-grid: needs accsim's Python module (build it: tools/build)") from None
    return accsim


class AccumulatorLoop:
    def __init__(self, acc: str, threads: int = 0, check: bool = True):
        self.acc = acc
        self.threads = threads
        self.accsim = load_accsim()
        self.totals = {"events": 0, "outputs_corrupted": 0}
        self.layers: dict[str, dict] = {}
        self.skipped: list[str] = []
        if not check:
            return
        try:  # a bad spec is the user's error, found before the graph runs
            self.accsim.replay(np.zeros((1, 1), np.int8), np.zeros((1, 1), np.int8), acc, threads=threads,
                               details=False)
        except self.accsim.InputError as exc:
            raise InputFileError("command line", f"--acc-grid: {exc}") from None

    def _replay(self, x: np.ndarray, w: np.ndarray, rec, bias, groups: int = 1) -> np.ndarray:
        a, b = rec.a, rec.b
        r = self.accsim.replay(np.ascontiguousarray(x, dtype=np.int32), np.ascontiguousarray(w, dtype=np.int32),
                               self.acc, bias=bias, x_bits=a.bits, x_signed=a.signed, w_bits=b.bits,
                               w_signed=b.signed, threads=self.threads, groups=groups, details=False)
        entry = self.layers.setdefault(rec.name, {"events": 0, "outputs_corrupted": 0})
        for key in ("events", "outputs_corrupted"):
            n = int(r["overflow"].get(key) or 0)
            entry[key] += n
            self.totals[key] += n
        return np.asarray(r["values"], dtype=np.int64)

    def values(self, rec) -> np.ndarray | None:
        """The accumulator's final registers in the shape of ``rec.output`` (None: FP8 layer)."""
        if rec.a.format is not None:
            self.skipped.append(rec.name)
            return None
        bias = None if rec.bias is None else np.asarray(rec.bias, dtype=np.int64)
        if rec.op == "linear":
            k = rec.b.codes.shape[1]
            out = self._replay(rec.a.codes.reshape(-1, k), rec.b.codes, rec, bias)
            return out.reshape(rec.output.shape)
        if rec.op == "conv2d":
            from .dot_layers import patches
            p = rec.conv2d
            geo = {"strides": p["stride"], "pads": p["padding"], "dilations": p["dilation"], "groups": p["groups"]}
            w = rec.b.codes
            cols = patches(rec.a.codes.astype(np.int32), w.shape[2], w.shape[3], geo, rec.a.zero_point)
            b_, c, kh, kw, oh, ow = cols.shape
            x = cols.transpose(0, 4, 5, 1, 2, 3).reshape(b_ * oh * ow, c * kh * kw)
            out = self._replay(x, w.reshape(w.shape[0], -1), rec, bias, groups=p["groups"])
            return out.reshape(b_, oh, ow, w.shape[0]).transpose(0, 3, 1, 2)
        lhs, rhs = rec.a.codes, rec.b.codes
        batch = np.broadcast_shapes(lhs.shape[:-2], rhs.shape[:-2])
        lhs = np.broadcast_to(lhs, batch + lhs.shape[-2:])
        rhs = np.broadcast_to(rhs, batch + rhs.shape[-2:])
        out = np.empty(batch + (lhs.shape[-2], rhs.shape[-1]), dtype=np.int64)
        for idx in np.ndindex(*batch):
            out[idx] = self._replay(lhs[idx], rhs[idx].T, rec, bias)
        return out

    def float_output(self, rec, float_out: np.ndarray) -> np.ndarray:
        """The layer's float output rebuilt from the accumulator: scale x values (+ float bias)."""
        values = self.values(rec)
        if values is None:
            return float_out
        wrong = values != rec.output
        if not wrong.any():
            return float_out  # nothing overflowed into the result: the model's own arithmetic
        y = values * rec.acc_scale
        if rec.float_bias is not None:
            y = y + rec.float_bias
        # Outputs the accumulator got right keep the graph's float values, bit for bit.
        return np.where(wrong, y.astype(float_out.dtype), float_out)
