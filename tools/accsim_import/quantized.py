"""What the executor knows about a tensor that came out of a quantizer.

A float tensor ``y`` produced by a quantizer (QONNX Quant, BipolarQuant, FloatQuant, ONNX
DequantizeLinear, ...) carries a ``Quantized`` record: its integer (or FP8) codes with
``y == (codes - zero_point) * scale`` in the graph's own float arithmetic. Ops that only move
values (Transpose, Reshape, nearest Resize, MaxPool, ...) carry the record along; a dot product
whose two operands both have one becomes an integer layer of the trace.

    q = Quantized(codes, scale=np.float64(0.5), zero_point=np.int64(0), lo=-7, hi=7,
                  bits=4, signed=True, kind="int", origin="Quant_18")
    q.channel_values(q.scale, shape, axis=0)   # per-channel scales, or None if they vary otherwise
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass
class Quantized:
    codes: np.ndarray        # int64 for integer kinds; float64 values/scale for FP8 kinds
    scale: np.ndarray        # float64, broadcastable to codes
    zero_point: np.ndarray   # int64 (or float64 if the quantizer's was not integral), broadcastable
    lo: int                  # the quantizer's code range (narrow range included)
    hi: int
    bits: int                # declared width (bipolar: 1)
    signed: bool
    kind: str                # "int", "bipolar", or an FP8 format name ("e4m3", "e5m2")
    origin: str              # the node that quantized it

    @property
    def is_float(self) -> bool:
        return self.kind not in ("int", "bipolar")

    def with_codes(self, codes: np.ndarray, scale=None, zero_point=None) -> "Quantized":
        return replace(self, codes=codes,
                       scale=self.scale if scale is None else scale,
                       zero_point=self.zero_point if zero_point is None else zero_point)

    def scalar(self, values) -> float | None:
        """The single value of a per-tensor ``scale`` or ``zero_point``, else None."""
        v = np.asarray(values)
        if v.size == 1:
            return v.reshape(()).item()
        flat = v.reshape(-1)
        return flat[0].item() if np.all(flat == flat[0]) else None

    @staticmethod
    def channel_values(values, shape: tuple, axis: int) -> np.ndarray | None:
        """``values`` (broadcastable to ``shape``) as one value per index of ``axis``, or None
        when they vary along another axis."""
        v = np.asarray(values)
        if v.ndim > len(shape):
            if v.size == 1:
                v = v.reshape(())
            else:
                return None
        v = v.reshape((1,) * (len(shape) - v.ndim) + v.shape)
        axis = axis % len(shape)
        for ax in range(v.ndim):
            if ax != axis and v.shape[ax] > 1:
                first = np.take(v, [0], axis=ax)
                if not np.all(v == first):
                    return None
                v = first
        return np.broadcast_to(v.reshape(-1), (shape[axis],)).copy()


def int_width(lo: int, hi: int) -> tuple[int, bool]:
    """(bits, signed) of the narrowest operand declaration holding [lo, hi]."""
    if lo >= 0:
        return max(1, int(hi).bit_length()), False
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits, True
