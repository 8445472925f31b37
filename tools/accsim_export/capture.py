"""Finding the layers a trace can hold, and hooking them.

Captured: nn.Conv2d (zeros padding; any stride, padding, dilation, groups), PaddedConv2d,
nn.Linear and Matmul. Everything else that multiplies a learned weight matrix by an
activation is refused by name (UnsupportedLayerError) rather than skipped: a trace that
silently lacks a layer would make an audit look safer than the model is.
"""
import re

from torch import nn

from .modules import Matmul, PaddedConv2d


class UnsupportedLayerError(ValueError):
    """A module the exporter cannot turn into trace layers."""


# Modules that compute dot products the trace format cannot express (yet), with advice.
_UNSUPPORTED = {
    nn.Conv1d: "Conv1d: reshape to a Conv2d with a 1-pixel dimension",
    nn.Conv3d: "Conv3d",
    nn.ConvTranspose1d: "transposed convolution",
    nn.ConvTranspose2d: "transposed convolution",
    nn.ConvTranspose3d: "transposed convolution",
    nn.MultiheadAttention: "nn.MultiheadAttention hides its matmuls: write attention with nn.Linear "
                           "and accsim_export.Matmul for Q K^T and A V",
    nn.RNNBase: "recurrent layers (RNN, LSTM, GRU)",
    nn.Bilinear: "Bilinear",
    nn.Transformer: "nn.Transformer hides its matmuls: write attention with nn.Linear and accsim_export.Matmul",
    nn.TransformerEncoderLayer: "nn.TransformerEncoderLayer hides its matmuls: write attention with nn.Linear "
                                "and accsim_export.Matmul",
    nn.TransformerDecoderLayer: "nn.TransformerDecoderLayer hides its matmuls",
}

# Modules with weights that do not multiply-accumulate across an input vector.
_ELEMENTWISE = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
                nn.InstanceNorm1d, nn.InstanceNorm2d, nn.PReLU, nn.Embedding, nn.EmbeddingBag)


def layer_kind(module) -> str | None:
    if isinstance(module, (PaddedConv2d, nn.Conv2d)):
        return "conv2d"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, Matmul):
        return "matmul"
    return None


def find_layers(model: nn.Module) -> dict:
    """name -> (module, kind) for every capturable layer; raises UnsupportedLayerError."""
    found = {}
    wrapped = set()
    for name, m in model.named_modules():
        if isinstance(m, PaddedConv2d):
            wrapped.add(id(m.conv))
    for name, m in model.named_modules():
        label = name or "(the model itself)"
        if id(m) in wrapped:
            continue
        for cls, why in _UNSUPPORTED.items():
            if isinstance(m, cls):
                raise UnsupportedLayerError(f"{label}: {type(m).__name__} is not supported ({why})")
        kind = layer_kind(m)
        if kind == "conv2d" and isinstance(m, nn.Conv2d) and m.padding_mode != "zeros":
            raise UnsupportedLayerError(
                f"{label}: Conv2d with padding_mode={m.padding_mode!r} is not supported (only zero padding)")
        if kind is not None:
            found[name] = (m, kind)
            continue
        if isinstance(m, _ELEMENTWISE) or list(m.children()):
            continue
        weight = getattr(m, "weight", None)
        if isinstance(weight, nn.Parameter) and weight.dim() >= 2:
            raise UnsupportedLayerError(
                f"{label}: {type(m).__name__} has a {weight.dim()}-D weight but is not a layer the exporter "
                f"knows (Conv2d, Linear, accsim_export.Matmul, accsim_export.PaddedConv2d)")
    if not found:
        raise UnsupportedLayerError("the model has no Conv2d, Linear or accsim_export.Matmul layer to export")
    return found


def conv_module(m) -> nn.Conv2d:
    return m.conv if isinstance(m, PaddedConv2d) else m


def conv_padding(m) -> list[int]:
    """[top, left, bottom, right] zero padding of a conv layer."""
    if isinstance(m, PaddedConv2d):
        return list(m.padding)
    # _reversed_padding_repeated_twice is [left, right, top, bottom], also for 'same'.
    left, right, top, bottom = (int(p) for p in m._reversed_padding_repeated_twice)
    return [top, left, bottom, right]


def select(names, pattern: str | None) -> list:
    if not pattern:
        return list(names)
    regex = re.compile(pattern)
    chosen = [n for n in names if regex.search(n)]
    if not chosen:
        raise ValueError(f"--layers {pattern!r} matches no layer (layers: {', '.join(names)})")
    return chosen
