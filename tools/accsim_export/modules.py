"""Modules a model uses so that the exporter can see what plain PyTorch hides.

- ``Matmul``: an activation x activation product (attention's Q K^T and A V). A bare
  ``torch.matmul`` in a forward() cannot be hooked; this module can.
- ``PaddedConv2d``: a Conv2d with explicit [top, left, bottom, right] zero padding, e.g.
  TensorFlow's 'same' padding with stride 2, which pads more at the bottom and right than
  ``nn.Conv2d`` can express. The trace records the padding in the layer, not in the data.
"""
import torch
import torch.nn.functional as F
from torch import nn


class Matmul(nn.Module):
    """y = a @ b for activations a [..., M, K] and b [..., K, N]; captured as a matmul layer."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)


class PaddedConv2d(nn.Module):
    """Zero padding [top, left, bottom, right] followed by ``conv`` (which must not pad itself)."""

    def __init__(self, conv: nn.Conv2d, padding):
        super().__init__()
        if not isinstance(conv, nn.Conv2d):
            raise TypeError("PaddedConv2d wraps an nn.Conv2d")
        if any(p != 0 for p in conv.padding) or isinstance(conv.padding, str):
            raise ValueError("PaddedConv2d: the wrapped conv must have padding 0")
        padding = [int(p) for p in padding]
        if len(padding) != 4 or min(padding) < 0:
            raise ValueError("PaddedConv2d: padding is [top, left, bottom, right], each >= 0")
        self.conv = conv
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, left, bottom, right = self.padding
        return self.conv(F.pad(x, (left, right, top, bottom)))


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int = 1):
    """TensorFlow's 'same' padding along one axis: (before, after); the extra pixel goes after."""
    out = -(-size // stride)
    extent = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2
