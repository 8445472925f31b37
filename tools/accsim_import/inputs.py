"""Input tensors for an import: .npy files or ONNX TensorProto (.pb) files, checked against
the model's declared inputs.

    feeds = gather_inputs(graph, ["digit.npy"])           # one graph input: files are a batch
    feeds = gather_inputs(graph, ["x=a.pb", "y=b.npy"])    # several: NAME=FILE

Several files for one input are a batch: they are concatenated along axis 0, which is
therefore free; every other fixed dimension, and the element type, must match the model.
"""
from __future__ import annotations

import os

import numpy as np

from .graph import ELEM_DTYPES, Graph, GraphInput, parse_strictly, tensor_to_array
from .node import ImportInputError


class InputFileError(ImportInputError):
    """An ImportInputError about one input file (the CLI names that file, not the model)."""

    def __init__(self, path: str, text: str):
        super().__init__(text)
        self.file = path


def read_array(path: str) -> np.ndarray:
    """A .npy file or a TensorProto file (anything else is tried as a TensorProto)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise InputFileError(path, f"file: cannot read: {exc.strerror}") from None
    if data.startswith(b"\x93NUMPY"):
        try:
            import io
            return np.load(io.BytesIO(data), allow_pickle=False)
        except Exception as exc:  # a damaged header or payload
            raise InputFileError(path, f"file: not a valid .npy file: {exc}") from None
    import onnx
    from google.protobuf.message import DecodeError

    proto = onnx.TensorProto()
    try:
        parse_strictly(proto, data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InputFileError(path, f"file: neither .npy nor an ONNX TensorProto ({exc})") from None
    if not proto.dims and not proto.raw_data and not proto.float_data and not proto.int32_data:
        raise InputFileError(path, "file: neither .npy nor an ONNX TensorProto (no tensor data)")
    try:
        return tensor_to_array(proto, "tensor")
    except ImportInputError as exc:
        raise InputFileError(path, str(exc)) from None


def check_array(path: str, gi: GraphInput, a: np.ndarray, free_batch: bool = True,
                strict_shape: bool = True) -> None:
    want = ELEM_DTYPES.get(gi.elem_type)
    if want is None or a.dtype != np.dtype(want):
        raise InputFileError(path, f'dtype: {a.dtype} where the model input "{gi.name}" is {gi.dtype_name}')
    if gi.dims and a.ndim != len(gi.dims):
        raise InputFileError(path, f"shape: {list(a.shape)} where the model input \"{gi.name}\" is "
                                   f"{_dims_text(gi.dims)} ({len(gi.dims)} dimensions)")
    if strict_shape:
        for d, (have, want_dim) in enumerate(zip(a.shape, gi.dims)):
            if want_dim is not None and want_dim > 0 and have != want_dim and not (free_batch and d == 0):
                raise InputFileError(path, f"shape: {list(a.shape)} where the model input \"{gi.name}\" is "
                                           f"{_dims_text(gi.dims)} (dimension {d})")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise InputFileError(path, "values: not all finite (NaN or infinity)")


def _dims_text(dims) -> str:
    return "[" + ", ".join("?" if d is None or d == 0 else str(d) for d in dims) + "]"


def gather_inputs(graph: Graph, items: list, strict_shape: bool = True) -> dict:
    """``items``: paths, ``NAME=PATH`` strings or numpy arrays (arrays: for the only input)."""
    if not graph.inputs:
        raise ImportInputError("graph: no inputs to feed")
    by_name = {gi.name: gi for gi in graph.inputs}
    parts: dict[str, list] = {}
    for item in items:
        if isinstance(item, np.ndarray):
            name, path, array = None, "<array>", item
        else:
            text = os.fspath(item)
            name, path = None, text
            if "=" in text and not os.path.exists(text):
                name, path = text.split("=", 1)
                if name not in by_name:
                    raise InputFileError(path, f'input: the model has no input "{name}" '
                                               f"(it has {', '.join(by_name)})")
            array = read_array(path)
        if name is None:
            if len(graph.inputs) != 1:
                raise InputFileError(path, f"input: the model has {len(graph.inputs)} inputs "
                                           f"({', '.join(by_name)}): give each as NAME=FILE")
            name = graph.inputs[0].name
        check_array(path, by_name[name], array, strict_shape=strict_shape)
        parts.setdefault(name, []).append((path, array))
    counts = {name: len(got) for name, got in parts.items()}
    if len(set(counts.values())) > 1:
        raise ImportInputError("input: a batch needs as many files for every model input; got " +
                               ", ".join(f"{n}: {c}" for n, c in counts.items()))
    feeds = {}
    for gi in graph.inputs:
        got = parts.get(gi.name)
        if not got:
            raise ImportInputError(f'input: no value for the model input "{gi.name}"')
        first = got[0][1]
        for path, a in got[1:]:
            if a.shape[1:] != first.shape[1:]:
                raise InputFileError(path, f"shape: {list(a.shape)} does not stack with {list(first.shape)} "
                                           "along the batch axis")
        feeds[gi.name] = np.concatenate([a for _, a in got], axis=0) if len(got) > 1 else first
    return feeds
