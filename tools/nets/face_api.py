"""face-api's tiny face detector and SSD-MobileNetV1, rebuilt in PyTorch from the TF.js weights
of npm @vladmandic/face-api (MIT), following the package's own TypeScript (src/tinyYolov2,
src/ssdMobilenetv1): TF layouts converted to PyTorch's, TF 'same' padding made explicit, the
SSD's depthwise batch norms folded into the convolutions."""
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from accsim_export import PaddedConv2d, tf_same_padding

from .tfjs import load_weights


def _conv_weight(w):  # TF [kh, kw, in, out] -> [out, in, kh, kw]
    return torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))


def _depthwise_weight(w):  # TF [kh, kw, C, 1] -> [C, 1, kh, kw]
    return torch.from_numpy(np.ascontiguousarray(w.transpose(2, 3, 0, 1)))


def _conv(weight, bias=None, **kw) -> nn.Conv2d:
    out_ch, in_per_group, kh, kw_ = weight.shape
    groups = kw.pop("groups", 1)
    conv = nn.Conv2d(in_per_group * groups, out_ch, (kh, kw_), groups=groups, bias=bias is not None, **kw)
    with torch.no_grad():
        conv.weight.copy_(weight)
        if bias is not None:
            conv.bias.copy_(torch.as_tensor(bias))
    return conv


def square_image(path: str, size: int, box=None, centre: bool = False) -> np.ndarray:
    """The photo (or its crop box = (left, top, right, bottom)) padded to a square with black,
    at the top-left as face-api's toBatchTensor(size, false) does (or centred), resized
    bilinearly to size x size. Returns HxWx3 float32 in 0..255."""
    img = Image.open(path).convert("RGB")
    if box is not None:
        img = img.crop(box)
    w, h = img.size
    side = max(w, h)
    sq = Image.new("RGB", (side, side), (0, 0, 0))
    sq.paste(img, ((side - w) // 2, (side - h) // 2) if centre else (0, 0))
    return np.asarray(sq.resize((size, size), Image.BILINEAR), dtype=np.float32)


# ---- tiny face detector (TinyYolov2 with separable convs) -------------------------------------

TINY_FACE_MEAN_RGB = (117.001, 114.697, 97.404)
TINY_FACE_ANCHORS = ((1.603231, 2.094468), (6.041143, 7.080126), (2.882459, 3.518061),
                     (4.266906, 5.178857), (9.041765, 10.66308))


def _leaky(x):
    return F.leaky_relu(x, 0.1)


def _maxpool_same(x, stride):
    """TF maxPool 2x2 'same': pad bottom/right only, with -inf."""
    size = x.shape[2]
    out = -(-size // stride)
    pad = max((out - 1) * stride + 2 - size, 0)
    return F.max_pool2d(F.pad(x, (0, pad, 0, pad), value=float("-inf")), 2, stride)


class TinyFaceDetector(nn.Module):
    """Input [B, 3, S, S]: RGB minus TINY_FACE_MEAN_RGB, over 255. Output [B, 25, S/32, S/32]:
    per cell 5 anchors x (x, y, w, h, score). Layers are named as in the weights: conv0,
    conv1_dw, conv1_pw, ..., conv5_pw, conv8."""

    def __init__(self, model_dir: str):
        super().__init__()
        W = load_weights(os.path.join(model_dir, "tiny_face_detector_model-weights_manifest.json"))
        self.conv0 = _conv(_conv_weight(W["conv0/filters"]), W["conv0/bias"])
        for i in range(1, 6):
            dw = _depthwise_weight(W[f"conv{i}/depthwise_filter"])
            self.add_module(f"conv{i}_dw", _conv(dw, None, padding=1, groups=dw.shape[0]))
            self.add_module(f"conv{i}_pw", _conv(_conv_weight(W[f"conv{i}/pointwise_filter"]), W[f"conv{i}/bias"]))
        self.conv8 = _conv(_conv_weight(W["conv8/filters"]), W["conv8/bias"])

    def forward(self, x):
        out = _leaky(self.conv0(x))
        for i in range(1, 6):
            out = _maxpool_same(out, 2)
            out = _leaky(getattr(self, f"conv{i}_pw")(getattr(self, f"conv{i}_dw")(out)))
        out = _maxpool_same(out, 1)
        return self.conv8(out)

    @staticmethod
    def preprocess(image: np.ndarray) -> torch.Tensor:
        x = (image - np.array(TINY_FACE_MEAN_RGB, np.float32)) / 255.0
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]

    @staticmethod
    def detections(out: torch.Tensor, threshold: float = 0.5):
        """[(score, (x, y, w, h) as fractions of the input)] sorted by score, before NMS."""
        g = out[0].permute(1, 2, 0).reshape(out.shape[2], out.shape[3], 5, 5).double().numpy()
        sig = lambda z: 1 / (1 + np.exp(-z))
        n = g.shape[0]
        dets = []
        for r in range(n):
            for c in range(g.shape[1]):
                for a, (aw, ah) in enumerate(TINY_FACE_ANCHORS):
                    score = sig(g[r, c, a, 4])
                    if score > threshold:
                        cx, cy = (c + sig(g[r, c, a, 0])) / n, (r + sig(g[r, c, a, 1])) / n
                        bw, bh = np.exp(g[r, c, a, 2]) * aw / n, np.exp(g[r, c, a, 3]) * ah / n
                        dets.append((float(score), (cx - bw / 2, cy - bh / 2, bw, bh)))
        return sorted(dets, reverse=True)


def non_max_suppression(dets, iou: float = 0.4):
    def overlap(a, b):
        ax, ay, aw, ah = a
        bx, by, bw, bh = b
        iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
        ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
        inter = iw * ih
        return inter / (aw * ah + bw * bh - inter)
    kept = []
    for d in dets:
        if all(overlap(d[1], k[1]) < iou for k in kept):
            kept.append(d)
    return kept


# ---- SSD-MobileNetV1 ---------------------------------------------------------------------------

_BN_EPSILON = 0.0010000000474974513


def _same_conv(weight, bias, stride: int, in_size: int, groups: int = 1):
    """A conv with TF 'same' padding for this input size: nn.Conv2d when symmetric, else
    PaddedConv2d. Returns (module, output size)."""
    k = weight.shape[2]
    before, after = tf_same_padding(in_size, k, stride)
    if before == after:
        return _conv(weight, bias, stride=stride, padding=before, groups=groups), -(-in_size // stride)
    conv = _conv(weight, bias, stride=stride, groups=groups)
    return PaddedConv2d(conv, [before, before, after, after]), -(-in_size // stride)


def _folded_depthwise(W, prefix: str):
    """face-api's depthwiseConvLayer is depthwise conv + batch norm: folded into weight and bias."""
    w = _depthwise_weight(W[prefix + "depthwise_weights"]).double()
    gamma = torch.from_numpy(W[prefix + "BatchNorm/gamma"]).double()
    beta = torch.from_numpy(W[prefix + "BatchNorm/beta"]).double()
    mean = torch.from_numpy(W[prefix + "BatchNorm/moving_mean"]).double()
    var = torch.from_numpy(W[prefix + "BatchNorm/moving_variance"]).double()
    factor = gamma / torch.sqrt(var + _BN_EPSILON)
    return (w * factor.reshape(-1, 1, 1, 1)).float(), (beta - mean * factor).float()


class SsdMobilenetV1(nn.Module):
    """Input [B, 3, S, S]: RGB / 127.5 - 1 (face-api uses S = 512); the TF 'same' paddings are
    fixed for S. Output: (class logits [B, priors, 3], box encodings [B, priors, 4]); the face
    score is sigmoid(logits[..., 1]). Every conv is followed by ReLU6 except the box heads.
    Layers: conv0, conv1_dw, conv1_pw, ..., conv13_pw (MobileNetV1), pred0..pred7 (SSD's extra
    feature layers), box0_encoding, box0_classes, ..., box5_classes."""

    def __init__(self, model_dir: str, input_size: int = 512):
        super().__init__()
        W = load_weights(os.path.join(model_dir, "ssd_mobilenetv1_model-weights_manifest.json"))
        self.priors = W["Output/extra_dim"].reshape(-1, 4) if input_size == 512 else None
        mb = "MobilenetV1/"
        self.conv0, size = _same_conv(_conv_weight(W[mb + "Conv2d_0_pointwise/weights"]),
                                      W[mb + "Conv2d_0_pointwise/convolution_bn_offset"], 2, input_size)
        for i in range(1, 14):
            weight, bias = _folded_depthwise(W, f"{mb}Conv2d_{i}_depthwise/")
            module, size = _same_conv(weight, bias, 2 if i in (2, 4, 6, 12) else 1, size, groups=weight.shape[0])
            self.add_module(f"conv{i}_dw", module)
            module, size = _same_conv(_conv_weight(W[f"{mb}Conv2d_{i}_pointwise/weights"]),
                                      W[f"{mb}Conv2d_{i}_pointwise/convolution_bn_offset"], 1, size)
            self.add_module(f"conv{i}_pw", module)
        for i in range(8):
            module, size = _same_conv(_conv_weight(W[f"Prediction/Conv2d_{i}_pointwise/weights"]),
                                      W[f"Prediction/Conv2d_{i}_pointwise/convolution_bn_offset"], 1 + i % 2, size)
            self.add_module(f"pred{i}", module)
        for i in range(6):
            p = f"Prediction/BoxPredictor_{i}/"
            self.add_module(f"box{i}_encoding", _conv(_conv_weight(W[p + "BoxEncodingPredictor/weights"]),
                                                      W[p + "BoxEncodingPredictor/biases"]))
            self.add_module(f"box{i}_classes", _conv(_conv_weight(W[p + "ClassPredictor/weights"]),
                                                     W[p + "ClassPredictor/biases"]))

    def forward(self, x):
        relu6 = lambda v: torch.clamp(v, 0, 6)
        out = relu6(self.conv0(x))
        conv11 = None
        for i in range(1, 14):
            out = relu6(getattr(self, f"conv{i}_pw")(relu6(getattr(self, f"conv{i}_dw")(out))))
            if i == 11:
                conv11 = out
        feats = [conv11, out]
        e = out
        for i in range(8):
            e = relu6(getattr(self, f"pred{i}")(e))
            if i % 2 == 1:
                feats.append(e)
        classes, boxes = [], []
        for i, f in enumerate(feats):
            b = f.shape[0]
            # TF tensors are NHWC: priors run over (row, column, anchor).
            boxes.append(getattr(self, f"box{i}_encoding")(f).permute(0, 2, 3, 1).reshape(b, -1, 4))
            classes.append(getattr(self, f"box{i}_classes")(f).permute(0, 2, 3, 1).reshape(b, -1, 3))
        return torch.cat(classes, 1), torch.cat(boxes, 1)

    @staticmethod
    def preprocess(image: np.ndarray) -> torch.Tensor:
        x = image / 127.5 - 1.0
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32))[None]

    def detections(self, classes, boxes, threshold: float = 0.5):
        """[(score, (x, y, w, h) as fractions)] for input size 512 (the priors are for 512)."""
        scores = torch.sigmoid(classes[0, :, 1]).double().numpy()
        enc = boxes[0].double().numpy()
        p = self.priors.astype(np.float64)
        size = p[:, 2:] - p[:, :2]
        centre = p[:, :2] + size / 2
        half = np.exp(enc[:, 2:] / 5) * size / 2
        mid = enc[:, :2] / 10 * size + centre
        lo, hi = mid - half, mid + half  # (y, x) corners
        out = [(float(scores[i]), (lo[i, 1], lo[i, 0], hi[i, 1] - lo[i, 1], hi[i, 0] - lo[i, 0]))
               for i in np.flatnonzero(scores > threshold)]
        return sorted(out, reverse=True)
