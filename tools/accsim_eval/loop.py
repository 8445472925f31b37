"""The quantized network with accsim's accumulators in the loop.

    q = quantize(model, calibration, ExportConfig(weight_bits=8, act_bits=8))  # accsim_export
    run = LoopModel(model, q, acc="16")                # every layer on a 16-bit wrapping register
    logits = run(images)                         # the network's output, corrupted as hardware would
    run.stats["conv2"].outputs_corrupted         # what overflow did, layer by layer
    exact = LoopModel(model, q, acc=None)(images)     # the exactly quantized network (int64 sums)

Every layer the exporter captured (Conv2d, Linear, Matmul) stops computing in float: its input
is quantized to the exporter's codes, its integer dot products (bias included, at accumulator
scale) are computed either exactly (acc None: a GEMM independent of accsim, in float32, float64
or int64, whichever is exact for the layer's bound) or through `accsim.replay` under the
accumulator given, and the
integer results, times the input and weight scales, become the layer's output. Everything else
(activations, pooling, normalization, softmax) runs in float on those outputs, so a corrupted
sum travels through requantization to every later layer and to the network's output. With an
accumulator wide enough for every sum, the network's output equals the exact run bit for bit.

`overrides` sets an accumulator per layer: [(regex, spec or None), ...], the first whose
regex matches the layer's name (re.search) wins; layers no pattern matches take `acc`.

Float stages take the integer codes after integer tiles ("32x32,e8m23": exact 32-term integer
tiles accumulated in FP32); the bias is then added after the accumulation, in float64, as float
layers carry none.
"""
import re
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from accsim_export.capture import conv_module, conv_padding

_EXACT_LIMIT = float(1 << 53)       # float64 GEMMs are exact below this
_EXACT_LIMIT_F32 = float(1 << 24)   # float32 ones below this


@dataclass
class LayerStats:
    """What one layer's accumulator did over every call of a LoopModel."""
    acc: str | None
    outputs: int = 0
    outputs_corrupted: int = 0
    events: int = 0                              # overflow events, all stages
    calls: int = 0
    seconds: float = 0.0
    observed_bits: list = field(default_factory=list)   # per stage, the widest partial sum

    def as_dict(self) -> dict:
        return {"acc": self.acc, "outputs": self.outputs, "outputs_corrupted": self.outputs_corrupted,
                "events": self.events, "observed_bits": self.observed_bits, "seconds": round(self.seconds, 4)}


def _operand_dtype(bits: int, signed: bool):
    if bits <= 8:
        return np.int8 if signed else np.uint8
    return np.int16 if signed else np.uint16


def _has_float_stage(spec: str) -> bool:
    return any(re.match(r"^(\d+x)?e\d+m\d+", s) for s in spec.split(","))


def exact_gemm(x: np.ndarray, w: np.ndarray, groups: int = 1) -> np.ndarray:
    """sum_k x[r, g*K + k] * w[c, k] for channel c of group g, exactly, as int64.

    A float GEMM is exact while every partial sum, in any order, stays within its significand
    (2^24 for float32, 2^53 for float64): K max|x| max|w| bounds them all, and picks the
    narrowest exact one (an int64 GEMM beyond)."""
    rows, channels, k = x.shape[0], w.shape[0], w.shape[1]
    per = channels // groups
    out = np.empty((rows, channels), dtype=np.int64)
    for g in range(groups):
        xg = x[:, g * k:(g + 1) * k]
        wg = w[g * per:(g + 1) * per]
        bound = float(np.abs(xg).max(initial=0)) * float(np.abs(wg).max(initial=0)) * k
        if bound < _EXACT_LIMIT_F32:
            out[:, g * per:(g + 1) * per] = xg.astype(np.float32) @ wg.astype(np.float32).T
        elif bound < _EXACT_LIMIT:
            out[:, g * per:(g + 1) * per] = xg.astype(np.float64) @ wg.astype(np.float64).T
        else:
            out[:, g * per:(g + 1) * per] = xg.astype(np.int64) @ wg.astype(np.int64).T
    return out


def im2col(x: np.ndarray, kernel, stride, padding, dilation, pad_value) -> tuple:
    """[N, C, H, W] codes -> ([N*Ho*Wo, C*kh*kw] rows, (Ho, Wo)); columns in the weight's
    (C, kh, kw) order, so a group's columns are one contiguous run; padding [t, l, b, r]
    filled with pad_value (the input's zero point)."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    top, left, bottom, right = padding
    xp = np.full((n, c, h + top + bottom, w + left + right), pad_value, dtype=x.dtype)
    xp[:, :, top:top + h, left:left + w] = x
    ho = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    wo = (w + left + right - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((n, ho, wo, c, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
            cols[:, :, :, :, i, j] = patch.transpose(0, 2, 3, 1)
    return cols.reshape(n * ho * wo, c * kh * kw), (ho, wo)


class LoopModel:
    """Runs a QuantizedModel's network with its dot products computed by accsim (see above)."""

    def __init__(self, model, qmodel, acc: str | None = None, overrides=None, threads: int = 0):
        self.model = model
        self.q = qmodel
        self.threads = threads
        self.specs = {}
        pats = [(re.compile(p), None if s is None else str(s)) for p, s in (overrides or [])]
        for name in qmodel.order:
            spec = None if acc is None else str(acc)
            for pat, s in pats:
                if pat.search(name):
                    spec = s
                    break
            self.specs[name] = spec
        self.stats = {name: LayerStats(self.specs[name]) for name in qmodel.order}

    # ---- running the network --------------------------------------------------------------

    def __call__(self, *inputs):
        layers = self.q.layers
        saved = {}
        try:
            for name in self.q.order:
                layer = layers[name]
                module = layer.module
                saved[name] = module.__dict__.get("forward")
                module.forward = (lambda *args, _l=layer: self._layer_forward(_l, args))
            with torch.no_grad():
                return self.model(*inputs)
        finally:
            for name, f in saved.items():
                module = layers[name].module
                if f is None:
                    del module.forward
                else:
                    module.forward = f

    def _layer_forward(self, layer, args):
        t0 = time.perf_counter()
        st = self.stats[layer.name]
        dtype = args[0].dtype
        # Codes in their narrowest integer type: im2col copies them K times over.
        codes = [act.quantize(a.detach().double().numpy()).astype(_operand_dtype(act.bits, act.signed))
                 for act, a in zip(layer.act, args)]
        if layer.kind == "linear":
            y = self._linear(layer, codes[0], st)
        elif layer.kind == "conv2d":
            y = self._conv2d(layer, codes[0], st)
        else:
            y = self._matmul(layer, codes[0], codes[1], st)
        st.calls += 1
        st.seconds += time.perf_counter() - t0
        return torch.from_numpy(y).to(dtype)

    def _linear(self, layer, x, st):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])
        w = layer.wq.codes
        y = self._gemm(layer, x2, w, layer.bias_int, 1, st)
        unit = layer.act[0].scale * layer.wq.scale
        return (y * unit).reshape(*lead, w.shape[0])

    def _conv2d(self, layer, x, st):
        conv = conv_module(layer.module)
        w = layer.wq.codes
        cols, (ho, wo) = im2col(x, w.shape[2:], conv.stride, conv_padding(layer.module), conv.dilation,
                                layer.act[0].zero_point)
        y = self._gemm(layer, cols, w.reshape(w.shape[0], -1), layer.bias_int, conv.groups, st)
        unit = layer.act[0].scale * layer.wq.scale
        n = x.shape[0]
        return (y * unit).reshape(n, ho, wo, w.shape[0]).transpose(0, 3, 1, 2)

    def _matmul(self, layer, a, b, st):
        # a [..., M, K] @ b [..., K, N]: one grouped GEMM, one group per leading index.
        lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])   # torch.matmul broadcasts them
        a = np.broadcast_to(a, lead + a.shape[-2:])
        b = np.broadcast_to(b, lead + b.shape[-2:])
        m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
        groups = int(np.prod(lead)) if lead else 1
        a3 = a.reshape(groups, m, k)
        b3 = b.reshape(groups, k, n)
        x = a3.transpose(1, 0, 2).reshape(m, groups * k)        # x[m, g*K + k] = a[g, m, k]
        w = b3.transpose(0, 2, 1).reshape(groups * n, k)         # w[g*N + n, k] = b[g, k, n]
        y = self._gemm(layer, x, w, None, groups, st)            # [M, G*N]
        unit = layer.act[0].scale * layer.act[1].scale
        return (y.reshape(m, groups, n).transpose(1, 0, 2) * unit).reshape(*lead, m, n)

    # ---- one (grouped) GEMM through the layer's accumulator ---------------------------------

    def _gemm(self, layer, x, w, bias, groups, st):
        spec = self.specs[layer.name]
        xa, wa = layer.act[0], layer.act[-1] if layer.kind == "matmul" else None
        x_bits, x_signed = xa.bits, xa.signed
        if wa is not None:
            w_bits, w_signed = wa.bits, wa.signed
        else:
            w_bits, w_signed = self.q.config.weight_bits, True
        st.outputs += x.shape[0] * w.shape[0]
        if spec is None:
            y = exact_gemm(x, w, groups)
            return y + bias if bias is not None else y
        import accsim
        xs = np.ascontiguousarray(x, dtype=_operand_dtype(x_bits, x_signed))
        ws = np.ascontiguousarray(w, dtype=_operand_dtype(w_bits, w_signed))
        if _has_float_stage(spec):
            return self._float_gemm(xs, ws, bias, groups, spec, st)
        out = accsim.replay(xs, ws, spec, bias=bias, x_bits=x_bits, x_signed=x_signed, w_bits=w_bits,
                            w_signed=w_signed, threads=self.threads, groups=groups, details=False)
        st.outputs_corrupted += int(out["overflow"]["outputs_corrupted"])
        st.events += int(out["overflow"]["events"])
        st.observed_bits = [max(a, b) for a, b in zip(st.observed_bits, out["observed_bits"])] \
            if st.observed_bits else list(out["observed_bits"])
        return out["values"]

    def _float_gemm(self, x, w, bias, groups, spec, st):
        import accsim
        k = w.shape[1]
        per = w.shape[0] // groups
        y = np.empty((x.shape[0], w.shape[0]), dtype=np.float64)
        for g in range(groups):
            out = accsim.replay(np.ascontiguousarray(x[:, g * k:(g + 1) * k]), w[g * per:(g + 1) * per], spec,
                                threads=self.threads)
            y[:, g * per:(g + 1) * per] = out["values"]
            st.outputs_corrupted += int((out["values"] != out["exact"]).sum())
            st.events += int(out["events"].sum())
        return y + bias if bias is not None else y
