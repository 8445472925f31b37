"""FP8 export: every captured layer's operands quantized to e4m3 or e5m2, with the exact
float64 results of its dot products (traces/FORMAT.md, "Float operands and block scales").

Scaling (``ExportConfig.float_scaling``), each scale chosen so that the amax of what it covers
maps to the format's largest finite value (448 for e4m3, 57344 for e5m2), as DeepSeek-V3 and
Transformer Engine do; values are then rounded to nearest even, saturating:

- ``tensor``: one scale per weight and one per activation tensor (the activation's amax over
  the calibration batches: static scaling);
- ``channel``: weights per output channel, activations per tensor;
- ``block`` (DeepSeek-V3): linear layers' activations in 1 x B tiles along K (per row/token,
  computed from the values themselves, as DeepSeek does online) and weights in B x B blocks,
  with F32 scales recorded as ``block_scale`` so that accsim applies them where the
  accumulator promotes its tiles. accsim models block scales on linear layers only: conv2d
  layers get per-channel weights and per-tensor activations instead, and so do matmul layers'
  operands (both per tensor, in every mode).

Per-tensor and per-channel scales are metadata (``scale``): the trace's dot products are those
of the FP8 codes' values, and its F64 outputs their exact sums. Block-scaled layers' outputs
include their scales. Float layers carry no bias: the framework adds it after accumulating,
and so does the forward pass here. The network runs with every captured layer's weights and
inputs replaced by their FP8-quantized values (dequantized), so each layer sees the
quantization of the layers before it.
"""
import numpy as np
import torch

from .capture import conv_module, conv_padding
from .trace_io import FLOAT_FORMATS, decode_float, exact_conv2d, exact_linear, exact_matmul, round_to_float

FLOAT_FORMATS_EXPORTED = ("e4m3", "e5m2")
FLOAT_SCALINGS = ("tensor", "channel", "block")


def _scale(amax, fmax: float) -> np.ndarray:
    """amax / fmax as float32 values (what a trace stores), 1 where amax is 0."""
    amax = np.asarray(amax, dtype=np.float64)
    s = np.where(amax > 0, amax / fmax, 1.0).astype(np.float32)
    return np.where(s > 0, s, np.float32(np.finfo(np.float32).tiny))  # amax tiny enough to underflow


def quantize_values(v, scale, fmt: str):
    """(codes, dequantized values) of v / scale in ``fmt`` (RNE, saturating)."""
    codes = round_to_float(np.asarray(v, dtype=np.float64) / np.asarray(scale, dtype=np.float64), fmt)
    return codes, decode_float(codes, fmt) * np.asarray(scale, dtype=np.float64)


def _blocks_along_k(x: np.ndarray, block: int, fmax: float):
    """Scales of 1 x block tiles along the last axis: [..., ceil(K/block)], and their expansion
    back to x's shape."""
    k = x.shape[-1]
    n = -(-k // block)
    padded = np.zeros(x.shape[:-1] + (n * block,))
    padded[..., :k] = np.abs(x)
    s = _scale(padded.reshape(x.shape[:-1] + (n, block)).max(axis=-1), fmax)
    return s, np.repeat(s, block, axis=-1)[..., :k]


class Fp8Weight:
    """A layer's FP8 weight: codes, scales (per tensor, per channel, or per block), dequantized."""

    def __init__(self, w: np.ndarray, fmt: str, scaling: str, block: int):
        fmax = FLOAT_FORMATS[fmt].max_finite
        self.scaling = scaling
        flat = w.reshape(w.shape[0], -1)
        if scaling == "tensor":
            self.scale = _scale(np.abs(flat).max(), fmax).reshape(1)
            full = np.broadcast_to(self.scale[0], w.shape)
        elif scaling == "channel":
            self.scale = _scale(np.abs(flat).max(axis=1), fmax)
            full = np.broadcast_to(self.scale.reshape((-1,) + (1,) * (w.ndim - 1)), w.shape)
        else:  # block x block blocks of a [out, in] weight
            out, k = w.shape
            rows = -(-out // block)
            pad = np.zeros((rows * block, -(-k // block) * block))
            pad[:out, :k] = np.abs(w)
            self.scale = _scale(pad.reshape(rows, block, -1, block).max(axis=(1, 3)), fmax)
            full = np.repeat(np.repeat(self.scale, block, axis=0), block, axis=1)[:out, :k]
        self.codes, self.dequantized = quantize_values(w, full, fmt)

    @property
    def per_channel(self):
        """The ``scale`` metadata: a number or one per channel (tensor / channel scaling)."""
        return float(self.scale[0]) if self.scale.size == 1 else self.scale


class Fp8Layer:
    """The FP8 state of one captured layer during the quantized run and the write."""

    def __init__(self, layer, fmt: str, scaling: str, block: int):
        self.fmt, self.block = fmt, block
        kind = layer.kind
        # block scales are modelled on linear layers only
        self.scaling = scaling if kind == "linear" or scaling != "block" else "channel"
        if kind == "matmul":
            self.scaling = "tensor"
        self.weight = None
        if kind != "matmul":
            conv = conv_module(layer.module) if kind == "conv2d" else layer.module
            self.weight = Fp8Weight(conv.weight.detach().double().numpy(), fmt,
                                    "channel" if self.scaling == "channel" else self.scaling, block)
        fmax = FLOAT_FORMATS[fmt].max_finite
        # static per-tensor activation scales from the calibration ranges
        self.act_scale = [float(_scale(max(abs(lo), abs(hi)), fmax)) for lo, hi in layer.ranges]
        self.codes = [[] for _ in layer.ranges]      # per operand, per batch
        self.block_scales = []                        # per batch: the input's tile scales (block)

    def quantize_input(self, i: int, x: np.ndarray) -> np.ndarray:
        """Codes of operand i of one call; returns its dequantized values."""
        fmax = FLOAT_FORMATS[self.fmt].max_finite
        if i == 0 and self.scaling == "block":
            s, full = _blocks_along_k(x, self.block, fmax)
            self.block_scales.append(s)
        else:
            full = self.act_scale[i]
        codes, deq = quantize_values(x, full, self.fmt)
        self.codes[i].append(codes)
        return deq


def quantized_run(model, batches, layers, fp8: dict, run):
    """Runs the model with FP8 weights and FP8-quantized layer inputs (dequantized); keeps the codes."""
    saved = {}
    for name, layer in layers.items():
        layer.quant_out = []
        q = fp8[name]
        if q.weight is None:
            continue
        conv = conv_module(layer.module) if layer.kind == "conv2d" else layer.module
        saved[name] = (conv, conv.weight.data.clone())
        conv.weight.data = torch.from_numpy(q.weight.dequantized).to(conv.weight.dtype)

    def pre(layer, args):
        layer.calls += 1
        new = list(args)
        q = fp8[layer.name]
        for i in range(len(q.codes)):
            deq = q.quantize_input(i, args[i].detach().double().numpy())
            new[i] = torch.from_numpy(deq).to(args[i].dtype)
        return tuple(new)

    def post(layer, out):
        layer.quant_out.append(out.detach().double().numpy())

    try:
        return run(model, batches, layers, pre, post)
    finally:
        for conv, weight in saved.values():
            conv.weight.data = weight


def exact_output(layer, q: Fp8Layer):
    """(the exact F64 result of the layer's FP8 operands, its real-valued result with scales and
    bias as the framework applies them, the operand codes, the input's block scales or None)."""
    x = np.concatenate(q.codes[0], axis=0)
    xv = decode_float(x, q.fmt)
    if layer.kind == "matmul":
        y = np.concatenate(q.codes[1], axis=0)
        exact = exact_matmul(xv, decode_float(y, q.fmt))
        return exact, exact * q.act_scale[0] * q.act_scale[1], (x, y), None
    w = q.weight
    wv = decode_float(w.codes, q.fmt)
    conv = conv_module(layer.module) if layer.kind == "conv2d" else layer.module
    bias = None if conv.bias is None else conv.bias.detach().double().numpy()
    if layer.kind == "linear":
        if q.scaling == "block":
            sx = np.concatenate(q.block_scales, axis=0)
            exact = exact_linear(xv, wv, sx, w.scale, block=q.block, block_channels=q.block)
            real = exact.copy()
            return exact, real + (0 if bias is None else bias), (x,), sx
        exact = exact_linear(xv, wv)
        real = exact * q.act_scale[0] * (w.scale if w.scale.size > 1 else w.scale[0])
        return exact, real + (0 if bias is None else bias), (x,), None
    p = dict(stride=list(conv.stride), padding=conv_padding(layer.module), dilation=list(conv.dilation),
             groups=conv.groups)
    exact = exact_conv2d(xv, wv, **p)
    unit = q.act_scale[0] * (w.scale.reshape(-1, 1, 1) if w.scale.size > 1 else w.scale[0])
    real = exact * unit + (0 if bias is None else bias.reshape(-1, 1, 1))
    return exact, real, (x,), None


def write_layer(w, layer, q: Fp8Layer, exact, operands, x_block_scale, lmeta):
    """One FP8 layer into a TraceWriter."""
    fmt = q.fmt
    if layer.kind == "matmul":
        w.matmul(layer.name, operands[0], operands[1], lhs_format=fmt, rhs_format=fmt, lhs_scale=q.act_scale[0],
                 rhs_scale=q.act_scale[1], output=exact, meta=lmeta)
        return
    kw = dict(input_format=fmt, weight_format=fmt, output=exact, meta=lmeta)
    if layer.kind == "linear":
        if q.scaling == "block":
            w.linear(layer.name, operands[0], q.weight.codes, input_block_scale=x_block_scale,
                     weight_block_scale=q.weight.scale, block=q.block, weight_block_channels=q.block, **kw)
        else:
            w.linear(layer.name, operands[0], q.weight.codes, input_scale=q.act_scale[0],
                     weight_scale=q.weight.per_channel, **kw)
        return
    conv = conv_module(layer.module)
    w.conv2d(layer.name, operands[0], q.weight.codes, stride=list(conv.stride), padding=conv_padding(layer.module),
             dilation=list(conv.dilation), groups=conv.groups, input_scale=q.act_scale[0],
             weight_scale=q.weight.per_channel, **kw)
