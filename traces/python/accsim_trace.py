#!/usr/bin/python3
"""Reader, writer and reference semantics for accsim trace format v1.

A trace is a directory holding ``manifest.json`` and one safetensors file (or several)
with the integer codes of some layers of a quantized network; ``traces/FORMAT.md`` is
the specification. This module needs numpy only (run it with ``/usr/bin/python3``).

Levels, from low to high:

* ``read_safetensors`` / ``write_safetensors``: the safetensors container, parsed and
  written here (no third-party safetensors package);
* ``read_trace`` / ``write_trace``: a manifest dict plus a name -> ndarray dict;
  ``validate_trace`` checks a trace against every rule of FORMAT.md;
* ``TraceWriter``: records layers one call at a time, checks every code against its
  declared bit range and stores each tensor in the narrowest allowed dtype;
* ``ref_linear`` / ``ref_conv2d`` / ``ref_matmul``: the exact integer results FORMAT.md
  defines, in int64, used for ``output="compute"`` and by the checks.

Command line (``/usr/bin/python3 accsim_trace.py CMD ...``)::

    dump TRACE            layers, ops, shapes, bit widths and value ranges
    check TRACE           every rule of FORMAT.md, and recorded outputs vs the reference
    copy SRC DST          read SRC and write it again to DST through this module's writer
    compare A B           exit 0 if the traces are equal, else print the first difference
    selftest-write DST    write a small deterministic trace covering the format

Exit status: 0 success; 1 ``compare`` found a difference or ``check`` found a problem;
2 bad usage or an unreadable / malformed input.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np

FORMAT_NAME = "accsim-trace"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
DEFAULT_TENSORS_FILE = "tensors.safetensors"

#: safetensors dtype name -> numpy dtype (little-endian on disk).
SAFETENSORS_DTYPES = {
    "I8": np.dtype("<i1"),
    "U8": np.dtype("<u1"),
    "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
    "F32": np.dtype("<f4"),
}
# numpy "kind + itemsize" -> safetensors dtype name (byte order is handled on write).
_NUMPY_TO_SAFETENSORS = {dt.kind + str(dt.itemsize): name for name, dt in SAFETENSORS_DTYPES.items()}

#: dtypes allowed for operand codes, for bias, for output (FORMAT.md, "tensors.safetensors").
CODE_DTYPES = ("I8", "U8", "I16", "U16", "I32")
BIAS_DTYPES = CODE_DTYPES + ("I64",)
OUTPUT_DTYPES = ("I32", "I64")

OPS = ("linear", "conv2d", "matmul")
OPERANDS = {"linear": ("input", "weight"), "conv2d": ("input", "weight"), "matmul": ("lhs", "rhs")}
#: operands whose scale tensor may hold one value per output channel. FORMAT.md says
#: "(weights)"; matmul's rhs is the weight-like operand (its columns are the channels), as
#: accsim's C++ reader also treats it.
PER_CHANNEL_ROLES = ("weight", "rhs")

_TOP_KEYS_REQUIRED = ("format", "version", "model", "tensors", "layers")
_TOP_KEYS = _TOP_KEYS_REQUIRED + ("source", "meta")
_LAYER_KEYS_COMMON = ("name", "op", "bias", "output", "meta")
_OPERAND_KEYS = ("tensor", "bits", "signed", "zero_point", "scale")
_BIAS_KEYS = ("tensor", "bits")
_OUTPUT_KEYS = ("tensor",)
_CONV_KEYS = ("stride", "padding", "dilation", "groups")
_SAFETENSORS_ENTRY_KEYS = ("dtype", "shape", "data_offsets")

_MAX_HEADER_BYTES = 100 * 1024 * 1024  # the limit the reference safetensors library uses
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1


# --------------------------------------------------------------------------------------
# small helpers


def _is_int(value) -> bool:
    """True for Python / numpy integers, false for bools (JSON true is not a number)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and not isinstance(
        value, (bool, np.bool_)
    )


def operand_range(bits: int, signed: bool) -> tuple[int, int]:
    """The value range [lo, hi] of a ``bits``-wide operand (FORMAT.md, "Operands")."""
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def signed_range(bits: int) -> tuple[int, int]:
    """The range of a ``bits``-wide two's-complement integer (used for bias)."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _first_outside(a: np.ndarray, lo: int, hi: int):
    """(index tuple, value) of the first element of ``a`` outside [lo, hi], or None."""
    if a.size == 0:
        return None
    bad = np.flatnonzero((a < lo) | (a > hi))
    if bad.size == 0:
        return None
    index = tuple(int(i) for i in np.unravel_index(int(bad[0]), a.shape))
    return index, a.reshape(-1)[bad[0]].item()


def _describe_range(bits: int, signed: bool) -> str:
    lo, hi = operand_range(bits, signed)
    return f"the {bits}-bit {'signed' if signed else 'unsigned'} range [{lo}, {hi}]"


def _to_int64(name: str, value, what: str = "values") -> np.ndarray:
    """``value`` as an int64 array; integral floats are accepted, anything lossy is not."""
    a = np.asarray(value)
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    if a.dtype.kind == "i":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "u":
        if a.size and a.max() > _INT64_MAX:
            raise ValueError(f"{name}: {what} exceed the int64 range")
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        if a.size and not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: {what} must be finite integers, found NaN or infinity")
        if a.size and not np.all(a == np.round(a)):
            index = tuple(int(i) for i in np.argwhere(a != np.round(a))[0])
            raise ValueError(f"{name}: {what} must be integers, found {a[index]!r} at index {index}")
        if a.size and np.max(np.abs(a)) >= 2.0**63:
            raise ValueError(f"{name}: {what} exceed the int64 range")
        return a.astype(np.int64)
    raise ValueError(f"{name}: expected an integer array, got dtype {a.dtype}")


def _shape_str(shape) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


# --------------------------------------------------------------------------------------
# safetensors


def safetensors_dtype(array: np.ndarray) -> str:
    """The safetensors dtype name of a numpy array, or ValueError if it is not allowed."""
    dt = np.asarray(array).dtype
    name = _NUMPY_TO_SAFETENSORS.get(dt.kind + str(dt.itemsize))
    if name is None:
        allowed = ", ".join(SAFETENSORS_DTYPES)
        raise ValueError(f"numpy dtype {dt} has no allowed safetensors dtype (allowed: {allowed})")
    return name


def _load_json(text: str, where: str):
    """Parse JSON, rejecting duplicate object keys and the non-standard NaN / Infinity."""

    def no_duplicates(pairs):
        obj = {}
        for key, value in pairs:
            if key in obj:
                raise ValueError(f"{where}: duplicate key {key!r}")
            obj[key] = value
        return obj

    def no_constants(name):
        raise ValueError(f"{where}: {name} is not valid JSON")

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: invalid JSON: {exc}") from None


def parse_safetensors(buf: bytes, where: str = "<safetensors>", with_metadata: bool = False):
    """Parse a safetensors image held in memory; see ``read_safetensors``."""
    size = len(buf)
    if size < 8:
        raise ValueError(f"{where}: file is {size} bytes, too short for the 8-byte header length")
    header_len = int.from_bytes(buf[:8], "little")
    if header_len < 2 or header_len > _MAX_HEADER_BYTES:
        raise ValueError(f"{where}: header length {header_len} is out of range")
    if 8 + header_len > size:
        raise ValueError(
            f"{where}: header length {header_len} runs past the end of the file ({size} bytes)"
        )
    try:
        header_text = buf[8 : 8 + header_len].decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where}: header is not UTF-8") from None
    header = _load_json(header_text, f"{where}: header")
    if not isinstance(header, dict):
        raise ValueError(f"{where}: header must be a JSON object")

    data_start = 8 + header_len
    data_len = size - data_start
    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise ValueError(f"{where}: __metadata__ must be an object of strings")

    tensors = {}
    extents = []
    for name, entry in header.items():
        at = f"{where}: tensor {name!r}"
        if not name:
            raise ValueError(f"{where}: empty tensor name")
        if not isinstance(entry, dict):
            raise ValueError(f"{at}: entry must be an object")
        unknown = sorted(set(entry) - set(_SAFETENSORS_ENTRY_KEYS))
        if unknown:
            raise ValueError(f"{at}: unknown key {unknown[0]!r}")
        missing = [k for k in _SAFETENSORS_ENTRY_KEYS if k not in entry]
        if missing:
            raise ValueError(f"{at}: missing {missing[0]!r}")
        dtype_name = entry["dtype"]
        if dtype_name not in SAFETENSORS_DTYPES:
            raise ValueError(
                f"{at}: dtype {dtype_name!r} is not allowed (allowed: {', '.join(SAFETENSORS_DTYPES)})"
            )
        shape = entry["shape"]
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            raise ValueError(f"{at}: shape must be a list of non-negative integers")
        offsets = entry["data_offsets"]
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) and o >= 0 for o in offsets)
        ):
            raise ValueError(f"{at}: data_offsets must be [begin, end], non-negative integers")
        begin, end = offsets
        if begin > end or end > data_len:
            raise ValueError(
                f"{at}: data_offsets [{begin}, {end}] lie outside the data section ({data_len} bytes)"
            )
        dtype = SAFETENSORS_DTYPES[dtype_name]
        count = math.prod(shape)
        if end - begin != count * dtype.itemsize:
            raise ValueError(
                f"{at}: data_offsets span {end - begin} bytes but {dtype_name} {_shape_str(shape)} "
                f"needs {count * dtype.itemsize}"
            )
        array = np.frombuffer(buf, dtype=dtype, count=count, offset=data_start + begin)
        tensors[name] = array.reshape(shape).astype(dtype.newbyteorder("="), copy=True)
        if end > begin:
            extents.append((begin, end, name))

    extents.sort()
    for (_, prev_end, prev_name), (begin, _, name) in zip(extents, extents[1:]):
        if begin < prev_end:
            raise ValueError(f"{where}: tensors {prev_name!r} and {name!r} overlap")
    return (tensors, metadata or {}) if with_metadata else tensors


def read_safetensors(path, with_metadata: bool = False):
    """Read a safetensors file: a dict name -> ndarray (native byte order, C order).

    Validates the header length, the JSON header, every dtype (only the ones accsim
    allows: I8 U8 I16 U16 I32 I64 F32), shape, data offset and size, and that no two
    tensors overlap; raises ValueError naming the file and the tensor. With
    ``with_metadata`` returns ``(tensors, metadata)``.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        buf = f.read()
    return parse_safetensors(buf, where=path, with_metadata=with_metadata)


def encode_safetensors(tensors: dict, metadata: dict | None = None) -> bytes:
    """The bytes of a safetensors file holding ``tensors``; see ``write_safetensors``."""
    prepared = []
    for index, (name, value) in enumerate(tensors.items()):
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"invalid tensor name {name!r}")
        a = np.asarray(value)
        try:
            dtype_name = safetensors_dtype(a)
        except ValueError as exc:
            raise ValueError(f"tensor {name!r}: {exc}") from None
        data = np.ascontiguousarray(a.astype(SAFETENSORS_DTYPES[dtype_name], copy=False)).tobytes()
        prepared.append((-a.dtype.itemsize, index, name, dtype_name, list(a.shape), data))
    # Widest dtypes first: with the header padded to 8 bytes every tensor is then
    # naturally aligned, with no gaps (the layout the reference library writes too).
    prepared.sort(key=lambda p: (p[0], p[1]))

    header = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("safetensors metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    offset = 0
    for _, _, name, dtype_name, shape, data in prepared:
        header[name] = {"dtype": dtype_name, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    parts = [len(header_bytes).to_bytes(8, "little"), header_bytes]
    parts.extend(p[5] for p in prepared)
    return b"".join(parts)


def _write_file_atomically(path: str, data: bytes) -> None:
    """Write through a temporary file in the same directory, then rename over ``path``."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_safetensors(path, tensors: dict, metadata: dict | None = None) -> None:
    """Write ``tensors`` (name -> array) as a safetensors file.

    Each array must already have an allowed dtype (int8, uint8, int16, uint16, int32,
    int64, float32); nothing is converted silently. Data is little-endian, C order,
    contiguous; the JSON header is padded with spaces to a multiple of 8 bytes.
    ``metadata`` (strings only) goes into ``__metadata__``.
    """
    _write_file_atomically(os.fspath(path), encode_safetensors(tensors, metadata))


# --------------------------------------------------------------------------------------
# geometry of the three ops


def normalize_pair(value, what: str, minimum: int) -> list[int]:
    """An int or [h, w] -> [h, w], each >= minimum."""
    if _is_int(value):
        pair = [int(value), int(value)]
    elif isinstance(value, (list, tuple, np.ndarray)) and len(value) == 2 and all(_is_int(v) for v in value):
        pair = [int(v) for v in value]
    else:
        raise ValueError(f"{what} must be an integer or [h, w], got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value!r}")
    return pair


def normalize_padding(value) -> list[int]:
    """An int, [h, w] or [top, left, bottom, right] -> [top, left, bottom, right]."""
    if _is_int(value):
        pad = [int(value)] * 4
    elif isinstance(value, (list, tuple, np.ndarray)) and len(value) in (2, 4) and all(_is_int(v) for v in value):
        pad = [int(v) for v in value]
        if len(pad) == 2:
            pad = [pad[0], pad[1], pad[0], pad[1]]
    else:
        raise ValueError(f"padding must be an integer, [h, w] or [top, left, bottom, right], got {value!r}")
    if min(pad) < 0:
        raise ValueError(f"padding must be >= 0, got {value!r}")
    return pad


def normalize_conv2d_params(stride=1, padding=0, dilation=1, groups=1) -> dict:
    """The explicit form written to manifests: stride [h,w], padding [t,l,b,r], dilation [h,w]."""
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"groups must be an integer >= 1, got {groups!r}")
    return {
        "stride": normalize_pair(stride, "stride", 1),
        "padding": normalize_padding(padding),
        "dilation": normalize_pair(dilation, "dilation", 1),
        "groups": int(groups),
    }


@dataclass(frozen=True)
class Geometry:
    """What one layer computes: output shape, number of channels and dot length K."""

    output_shape: tuple
    channels: int
    dot_length: int

    @property
    def outputs(self) -> int:
        return math.prod(self.output_shape)

    @property
    def macs(self) -> int:
        return self.outputs * self.dot_length


def linear_geometry(input_shape, weight_shape) -> Geometry:
    if len(weight_shape) != 2:
        raise ValueError(f"linear weight must be [out, in], got shape {_shape_str(weight_shape)}")
    if len(input_shape) < 1 or input_shape[-1] != weight_shape[1]:
        raise ValueError(
            f"linear input {_shape_str(input_shape)} must end in in = {weight_shape[1]} "
            f"(weight {_shape_str(weight_shape)})"
        )
    out = int(weight_shape[0])
    return Geometry(tuple(int(d) for d in input_shape[:-1]) + (out,), out, int(weight_shape[1]))


def conv2d_geometry(input_shape, weight_shape, params: dict) -> Geometry:
    """Shapes of a conv2d with normalized ``params`` (see ``normalize_conv2d_params``)."""
    if len(input_shape) != 4:
        raise ValueError(f"conv2d input must be [B, C_in, H, W], got shape {_shape_str(input_shape)}")
    if len(weight_shape) != 4:
        raise ValueError(
            f"conv2d weight must be [C_out, C_in/groups, kH, kW], got shape {_shape_str(weight_shape)}"
        )
    batch, c_in, height, width = (int(d) for d in input_shape)
    c_out, c_group, k_h, k_w = (int(d) for d in weight_shape)
    groups = params["groups"]
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups = {groups} must divide C_in = {c_in} and C_out = {c_out}")
    if c_group != c_in // groups:
        raise ValueError(
            f"weight {_shape_str(weight_shape)} needs C_in/groups = {c_in // groups} in dimension 1 "
            f"(input {_shape_str(input_shape)}, groups {groups})"
        )
    if min(k_h, k_w) < 1:
        raise ValueError(f"conv2d kernel must be at least 1x1, got {k_h}x{k_w}")
    (s_h, s_w), (d_h, d_w) = params["stride"], params["dilation"]
    top, left, bottom, right = params["padding"]
    o_h = (height + top + bottom - d_h * (k_h - 1) - 1) // s_h + 1
    o_w = (width + left + right - d_w * (k_w - 1) - 1) // s_w + 1
    if o_h < 1 or o_w < 1:
        raise ValueError(
            f"conv2d output would be {o_h}x{o_w}: the dilated kernel is larger than the padded input"
        )
    return Geometry((batch, c_out, o_h, o_w), c_out, c_group * k_h * k_w)


def matmul_geometry(lhs_shape, rhs_shape) -> Geometry:
    if len(lhs_shape) < 2 or len(rhs_shape) < 2:
        raise ValueError(
            f"matmul operands must be [..., M, K] and [..., K, N], got {_shape_str(lhs_shape)} "
            f"and {_shape_str(rhs_shape)}"
        )
    if lhs_shape[-1] != rhs_shape[-2]:
        raise ValueError(f"matmul K differs: lhs {_shape_str(lhs_shape)}, rhs {_shape_str(rhs_shape)}")
    try:
        batch = np.broadcast_shapes(tuple(lhs_shape[:-2]), tuple(rhs_shape[:-2]))
    except ValueError:
        raise ValueError(
            f"matmul batch dimensions do not broadcast: lhs {_shape_str(lhs_shape)}, rhs {_shape_str(rhs_shape)}"
        ) from None
    n = int(rhs_shape[-1])
    shape = tuple(int(d) for d in batch) + (int(lhs_shape[-2]), n)
    return Geometry(shape, n, int(lhs_shape[-1]))


def layer_geometry(op: str, a_shape, b_shape, conv_params: dict | None = None) -> Geometry:
    """Geometry of a layer from its two operand shapes (input/weight or lhs/rhs)."""
    if op == "linear":
        return linear_geometry(a_shape, b_shape)
    if op == "conv2d":
        return conv2d_geometry(a_shape, b_shape, conv_params or normalize_conv2d_params())
    if op == "matmul":
        return matmul_geometry(a_shape, b_shape)
    raise ValueError(f"unknown op {op!r} (valid: {', '.join(OPS)})")


# --------------------------------------------------------------------------------------
# reference integer semantics (FORMAT.md, "Shapes and what a dot product is")
#
# All arithmetic is int64 numpy, which is exact as long as every result fits int64 (a
# trace's output is I32 or I64, so one that does not fit cannot be recorded anyway).
# np.matmul on int64 arrays uses integer arithmetic, never floating point.


def _add_bias(y: np.ndarray, bias, channel_axis: int, channels: int) -> np.ndarray:
    if bias is None:
        return y
    b = _to_int64("bias", bias)
    if b.shape != (channels,):
        raise ValueError(f"bias must have shape [{channels}] (one per channel), got {_shape_str(b.shape)}")
    shape = [1] * y.ndim
    shape[channel_axis] = channels
    return y + b.reshape(shape)


def ref_linear(x, w, bias=None) -> np.ndarray:
    """y[..., o] = sum_i w[o, i] * x[..., i] (+ bias[o]); x is [..., in], w is [out, in]."""
    x, w = _to_int64("input", x), _to_int64("weight", w)
    geo = linear_geometry(x.shape, w.shape)
    y = np.matmul(x, w.T)
    return _add_bias(y, bias, y.ndim - 1, geo.channels)


def conv2d_patches(x, kernel_size, stride=1, padding=0, dilation=1, pad_value=0) -> np.ndarray:
    """The receptive fields of a conv2d: an int64 array [B, C_in, kH, kW, OH, OW].

    ``patches[b, c, i, j, oh, ow]`` is the input value that kernel tap (i, j) of channel c
    meets at output position (oh, ow): padded positions hold ``pad_value``.
    """
    x = _to_int64("input", x)
    params = normalize_conv2d_params(stride, padding, dilation, 1)
    k_h, k_w = normalize_pair(kernel_size, "kernel_size", 1)
    geo = conv2d_geometry(x.shape, (1, x.shape[1], k_h, k_w), params)
    batch, channels, height, width = x.shape
    o_h, o_w = geo.output_shape[2:]
    top, left, bottom, right = params["padding"]
    (s_h, s_w), (d_h, d_w) = params["stride"], params["dilation"]
    padded = np.full((batch, channels, height + top + bottom, width + left + right), pad_value, dtype=np.int64)
    padded[:, :, top : top + height, left : left + width] = x
    patches = np.empty((batch, channels, k_h, k_w, o_h, o_w), dtype=np.int64)
    for i in range(k_h):
        for j in range(k_w):
            rows = slice(i * d_h, i * d_h + s_h * (o_h - 1) + 1, s_h)
            cols = slice(j * d_w, j * d_w + s_w * (o_w - 1) + 1, s_w)
            patches[:, :, i, j] = padded[:, :, rows, cols]
    return patches


def ref_conv2d(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1, pad_value=0) -> np.ndarray:
    """PyTorch-style grouped conv2d (cross-correlation) in exact int64 arithmetic.

    x is [B, C_in, H, W], w is [C_out, C_in/groups, kH, kW]; output channel c belongs to
    group c // (C_out/groups) and sees input channels of that group only. ``padding`` is
    an int, [h, w] or [top, left, bottom, right]; padded positions hold ``pad_value``
    (the input's zero point). Returns [B, C_out, OH, OW].
    """
    x, w = _to_int64("input", x), _to_int64("weight", w)
    params = normalize_conv2d_params(stride, padding, dilation, groups)
    geo = conv2d_geometry(x.shape, w.shape, params)
    batch, c_out, o_h, o_w = geo.output_shape
    c_group, k_h, k_w = w.shape[1:]
    patches = conv2d_patches(x, (k_h, k_w), params["stride"], params["padding"], params["dilation"], pad_value)
    # [B, G, C_in/G * kH * kW, OH * OW]: the K axis runs over (c, kh, kw), like weight.flatten(1)
    columns = patches.reshape(batch, groups, c_group * k_h * k_w, o_h * o_w)
    kernels = w.reshape(1, groups, c_out // groups, c_group * k_h * k_w)
    y = np.matmul(kernels, columns).reshape(batch, c_out, o_h, o_w)
    return _add_bias(y, bias, 1, c_out)


def ref_matmul(lhs, rhs, bias=None) -> np.ndarray:
    """lhs [..., M, K] x rhs [..., K, N] with numpy batch broadcasting (+ bias[n])."""
    lhs, rhs = _to_int64("lhs", lhs), _to_int64("rhs", rhs)
    geo = matmul_geometry(lhs.shape, rhs.shape)
    y = np.matmul(lhs, rhs)
    return _add_bias(y, bias, y.ndim - 1, geo.channels)


def reference_output(layer: dict, tensors: dict) -> np.ndarray:
    """The exact integer output of a manifest layer (dot products + bias), int64."""
    op = layer["op"]
    a_role, b_role = OPERANDS[op]
    a = tensors[layer[a_role]["tensor"]]
    b = tensors[layer[b_role]["tensor"]]
    bias = tensors[layer["bias"]["tensor"]] if "bias" in layer else None
    if op == "linear":
        return ref_linear(a, b, bias)
    if op == "matmul":
        return ref_matmul(a, b, bias)
    params = normalize_conv2d_params(**layer.get("conv2d", {}))
    return ref_conv2d(a, b, bias, pad_value=layer["input"].get("zero_point", 0), **params)


# --------------------------------------------------------------------------------------
# traces


@dataclass
class Trace:
    """A trace in memory: the manifest as parsed JSON and all its tensors by name."""

    manifest: dict
    tensors: dict
    path: str | None = None
    #: tensor name -> the safetensors file (relative to the trace directory) it came from
    placement: dict = field(default_factory=dict)

    @property
    def layers(self) -> list:
        return self.manifest["layers"]

    def layer(self, name: str) -> dict:
        for layer in self.layers:
            if layer.get("name") == name:
                return layer
        raise KeyError(name)

    @property
    def manifest_path(self) -> str:
        return os.path.join(self.path, MANIFEST_FILE) if self.path else MANIFEST_FILE


def tensor_files(manifest: dict) -> list[str]:
    """The safetensors file names a manifest lists (``tensors`` is a string or a list)."""
    files = manifest.get("tensors")
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
        raise ValueError("/tensors: must be a file name or a non-empty list of file names")
    if len(set(files)) != len(files):
        raise ValueError("/tensors: a file is listed twice")
    for name in files:
        if os.path.isabs(name) or ".." in name.replace("\\", "/").split("/"):
            raise ValueError(f"/tensors: {name!r} must be a path inside the trace directory")
    return files


def referenced_tensors(manifest: dict):
    """Yield (JSON pointer, tensor name) for every tensor a manifest refers to."""
    for i, layer in enumerate(manifest.get("layers") or []):
        if not isinstance(layer, dict):
            continue
        for role in ("input", "weight", "lhs", "rhs", "bias", "output"):
            entry = layer.get(role)
            if not isinstance(entry, dict):
                continue
            if "tensor" in entry:
                yield f"/layers/{i}/{role}/tensor", entry["tensor"]
            if isinstance(entry.get("scale"), str):
                yield f"/layers/{i}/{role}/scale", entry["scale"]


def _check_basic(manifest, tensor_names, where: str) -> None:
    """The checks ``read_trace`` and ``write_trace`` always make; ValueError on failure."""
    if not isinstance(manifest, dict):
        raise ValueError(f"{where}: the manifest must be a JSON object")
    if manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{where}: /format: expected {FORMAT_NAME!r}, got {manifest.get('format')!r}")
    version = manifest.get("version")
    if not _is_int(version) or version != FORMAT_VERSION:
        raise ValueError(f"{where}: /version: expected {FORMAT_VERSION}, got {version!r}")
    try:
        tensor_files(manifest)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    layers = manifest.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"{where}: /layers: must be a non-empty list")
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise ValueError(f"{where}: /layers/{i}: must be an object")
    for pointer, name in referenced_tensors(manifest):
        if not isinstance(name, str) or name not in tensor_names:
            raise ValueError(f"{where}: {pointer}: no tensor named {name!r}")


def read_trace(path, validate: bool = False) -> Trace:
    """Read a trace directory (``manifest.json`` plus the safetensors file(s) it names).

    Always checks the format name and version, that the listed files parse, that tensor
    names are unique across files and that every tensor the manifest refers to exists.
    With ``validate`` also checks every other rule of FORMAT.md (see ``validate_trace``).
    Raises ValueError (OSError for a missing file).
    """
    path = os.fspath(path)
    manifest_path = os.path.join(path, MANIFEST_FILE)
    with open(manifest_path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{manifest_path}: not UTF-8") from None
    manifest = _load_json(text, manifest_path)
    if not isinstance(manifest, dict):
        raise ValueError(f"{manifest_path}: the manifest must be a JSON object")
    try:
        files = tensor_files(manifest)
    except ValueError as exc:
        raise ValueError(f"{manifest_path}: {exc}") from None

    tensors, placement = {}, {}
    for file_name in files:
        for name, array in read_safetensors(os.path.join(path, file_name)).items():
            if name in tensors:
                raise ValueError(f"{os.path.join(path, file_name)}: {name}: also in {placement[name]}")
            tensors[name] = array
            placement[name] = file_name
    _check_basic(manifest, tensors, manifest_path)
    trace = Trace(manifest=manifest, tensors=tensors, path=path, placement=placement)
    if validate:
        problems = validate_trace(trace)
        if problems:
            raise ValueError(problems[0])
    return trace


def write_trace(path, manifest: dict, tensors: dict, placement: dict | None = None, validate: bool = False) -> None:
    """Write a trace directory: ``manifest.json`` (indent 2) and its safetensors file(s).

    Every tensor goes into the first file ``manifest["tensors"]`` names, unless
    ``placement`` (tensor name -> file name, as ``Trace.placement``) says otherwise.
    Tensors are written with the dtype they have. Makes the checks of ``read_trace``
    first, and with ``validate`` those of ``validate_trace`` too; raises ValueError.
    Existing files of the same names are replaced; other files are left alone.
    """
    path = os.fspath(path)
    where = os.path.join(path, MANIFEST_FILE)
    _check_basic(manifest, tensors, where)
    if validate:
        problems = validate_trace(Trace(manifest, tensors, path))
        if problems:
            raise ValueError(problems[0])
    files = tensor_files(manifest)
    by_file = {name: {} for name in files}
    for name, array in tensors.items():
        file_name = (placement or {}).get(name, files[0])
        if file_name not in by_file:
            raise ValueError(f"tensor {name!r} is placed in {file_name!r}, which the manifest does not list")
        by_file[file_name][name] = array
    os.makedirs(path, exist_ok=True)
    for file_name, group in by_file.items():
        full = os.path.join(path, file_name)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        write_safetensors(full, group)
    text = json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    _write_file_atomically(where, text.encode("utf-8"))


# --------------------------------------------------------------------------------------
# full validation


class _Problems:
    def __init__(self, where: str):
        self.where = where
        self.items: list[str] = []

    def add(self, field_: str, message: str) -> None:
        self.items.append(f"{self.where}: {field_}: {message}")

    def unknown_keys(self, obj: dict, allowed, pointer: str) -> None:
        for key in obj:
            if key not in allowed:
                self.add(pointer, f"unknown key {key!r} (valid: {', '.join(allowed)})")


def _validate_scale(p: _Problems, pointer: str, scale, tensors: dict, per_channel: int | None) -> None:
    if _is_number(scale):
        if not (math.isfinite(scale) and scale > 0):
            p.add(pointer, f"must be a positive number, got {scale!r}")
        return
    if not isinstance(scale, str):
        p.add(pointer, "must be a positive number or the name of an F32 tensor")
        return
    if scale not in tensors:
        return  # reported by the reference check
    a = tensors[scale]
    if safetensors_dtype(a) != "F32":
        p.add(scale, f"a scale tensor must be F32, got {safetensors_dtype(a)}")
        return
    allowed = {1} if per_channel is None else {1, per_channel}
    if a.size not in allowed:
        wanted = "one value" if per_channel is None else f"one value or one per output channel ({per_channel})"
        p.add(scale, f"has {a.size} values, expected {wanted}")
    if a.size and not np.all(np.isfinite(a) & (a > 0)):
        p.add(scale, "every scale must be positive and finite")


def _validate_operand(p: _Problems, pointer: str, entry, tensors: dict):
    """Check an operand entry and its codes; returns the array, or None if unusable."""
    if not isinstance(entry, dict):
        p.add(pointer, "must be an object")
        return None
    p.unknown_keys(entry, _OPERAND_KEYS, pointer)
    for key in ("tensor", "bits", "signed"):
        if key not in entry:
            p.add(pointer, f"missing {key!r}")
    bits, signed = entry.get("bits"), entry.get("signed")
    ok = True
    if "bits" in entry and not (_is_int(bits) and 1 <= bits <= 16):
        p.add(pointer + "/bits", f"expected an integer in [1, 16], got {bits!r}")
        ok = False
    if "signed" in entry and not isinstance(signed, bool):
        p.add(pointer + "/signed", f"expected true or false, got {signed!r}")
        ok = False
    ok = ok and "bits" in entry and "signed" in entry
    if ok and "zero_point" in entry:
        zp = entry["zero_point"]
        lo, hi = operand_range(bits, signed)
        if not (_is_int(zp) and lo <= zp <= hi):
            p.add(pointer + "/zero_point", f"expected an integer in [{lo}, {hi}], got {zp!r}")
    name = entry.get("tensor")
    if not isinstance(name, str) or name not in tensors:
        return None
    a = tensors[name]
    dtype_name = safetensors_dtype(a)
    if dtype_name not in CODE_DTYPES:
        p.add(name, f"operand codes must be {', '.join(CODE_DTYPES)}, got {dtype_name}")
        return None
    if a.size == 0:
        p.add(name, "is empty")
        return None
    if ok:
        lo, hi = operand_range(bits, signed)
        outside = _first_outside(a, lo, hi)
        if outside:
            p.add(name, f"value {outside[1]} at index {list(outside[0])} is outside {_describe_range(bits, signed)}")
    return a


def validate_trace(trace: Trace, verify_outputs: bool = False) -> list[str]:
    """Every rule of FORMAT.md checked on a trace; a list of problems (empty if valid).

    Each problem reads ``<manifest path>: <JSON pointer or tensor name>: <what is wrong>``.
    With ``verify_outputs`` each recorded output is also compared with the reference
    result (``reference_output``), as accsim does when it replays the trace.
    """
    p = _Problems(trace.manifest_path)
    m, tensors = trace.manifest, trace.tensors
    try:
        _check_basic(m, tensors, trace.manifest_path)
    except ValueError as exc:
        return [str(exc)]
    p.unknown_keys(m, _TOP_KEYS, "")
    for key in _TOP_KEYS_REQUIRED:
        if key not in m:
            p.add("", f"missing {key!r}")
    if not isinstance(m.get("model"), str):
        p.add("/model", "must be a string")
    if "source" in m and not isinstance(m["source"], str):
        p.add("/source", "must be a string")
    if "meta" in m and not isinstance(m["meta"], dict):
        p.add("/meta", "must be an object")

    names = set()
    for i, layer in enumerate(m["layers"]):
        at = f"/layers/{i}"
        name, op = layer.get("name"), layer.get("op")
        if not isinstance(name, str) or not name:
            p.add(at + "/name", "must be a non-empty string")
        elif name in names:
            p.add(at + "/name", f"duplicate layer name {name!r}")
        names.add(name)
        if op not in OPS:
            p.add(at + "/op", f"expected one of {', '.join(OPS)}, got {op!r}")
            continue
        a_role, b_role = OPERANDS[op]
        allowed = _LAYER_KEYS_COMMON + (a_role, b_role) + (("conv2d",) if op == "conv2d" else ())
        p.unknown_keys(layer, allowed, at)
        if "meta" in layer and not isinstance(layer["meta"], dict):
            p.add(at + "/meta", "must be an object")
        arrays = {}
        for role in (a_role, b_role):
            if role not in layer:
                p.add(at, f"missing {role!r}")
            else:
                arrays[role] = _validate_operand(p, f"{at}/{role}", layer[role], tensors)

        params = None
        if op == "conv2d":
            conv = layer.get("conv2d", {})
            if not isinstance(conv, dict):
                p.add(at + "/conv2d", "must be an object")
                conv = {}
            p.unknown_keys(conv, _CONV_KEYS, at + "/conv2d")
            try:
                params = normalize_conv2d_params(**{k: v for k, v in conv.items() if k in _CONV_KEYS})
            except ValueError as exc:
                p.add(at + "/conv2d", str(exc))
                continue
        if arrays.get(a_role) is None or arrays.get(b_role) is None:
            continue
        try:
            geo = layer_geometry(op, arrays[a_role].shape, arrays[b_role].shape, params)
        except ValueError as exc:
            p.add(at, str(exc))
            continue

        for role in (a_role, b_role):
            if isinstance(layer[role], dict) and "scale" in layer[role]:
                per_channel = geo.channels if role in PER_CHANNEL_ROLES else None
                _validate_scale(p, f"{at}/{role}/scale", layer[role]["scale"], tensors, per_channel)

        bias_ok = True
        if "bias" in layer:
            bias = layer["bias"]
            bias_ok = False
            if not isinstance(bias, dict):
                p.add(at + "/bias", "must be an object")
            else:
                p.unknown_keys(bias, _BIAS_KEYS, at + "/bias")
                bits = bias.get("bits", 32)
                if not (_is_int(bits) and 1 <= bits <= 64):
                    p.add(at + "/bias/bits", f"expected an integer in [1, 64], got {bits!r}")
                elif "tensor" not in bias:
                    p.add(at + "/bias", "missing 'tensor'")
                else:
                    b = tensors[bias["tensor"]]
                    dtype_name = safetensors_dtype(b)
                    if dtype_name not in BIAS_DTYPES:
                        p.add(bias["tensor"], f"bias must be {', '.join(BIAS_DTYPES)}, got {dtype_name}")
                    elif b.shape != (geo.channels,):
                        p.add(bias["tensor"],
                              f"shape {_shape_str(b.shape)}, expected [{geo.channels}] (one per channel)")
                    else:
                        outside = _first_outside(b, *signed_range(bits))
                        if outside:
                            p.add(
                                bias["tensor"],
                                f"value {outside[1]} at index {list(outside[0])} does not fit {bits} signed bits",
                            )
                        else:
                            bias_ok = True

        if "output" in layer:
            out = layer["output"]
            if not isinstance(out, dict):
                p.add(at + "/output", "must be an object")
                continue
            p.unknown_keys(out, _OUTPUT_KEYS, at + "/output")
            if "tensor" not in out:
                p.add(at + "/output", "missing 'tensor'")
                continue
            y = tensors[out["tensor"]]
            dtype_name = safetensors_dtype(y)
            if dtype_name not in OUTPUT_DTYPES:
                p.add(out["tensor"], f"output must be I32 or I64, got {dtype_name}")
            elif y.shape != geo.output_shape:
                p.add(out["tensor"], f"shape {_shape_str(y.shape)}, expected {_shape_str(geo.output_shape)}")
            elif verify_outputs and bias_ok and not p.items:
                expected = reference_output(layer, tensors)
                differ = np.flatnonzero(expected.reshape(-1) != y.reshape(-1).astype(np.int64))
                if differ.size:
                    k = int(differ[0])
                    index = [int(v) for v in np.unravel_index(k, y.shape)]
                    p.add(
                        out["tensor"],
                        f"recorded {y.reshape(-1)[k]} at index {index} but the exact result is "
                        f"{expected.reshape(-1)[k]} ({differ.size} of {y.size} values differ)",
                    )
    return p.items


# --------------------------------------------------------------------------------------
# the high-level writer


def _code_dtype(bits: int, signed: bool) -> np.dtype:
    """The narrowest allowed dtype for ``bits``-wide codes (bits <= 16)."""
    if bits <= 8:
        return np.dtype(np.int8 if signed else np.uint8)
    return np.dtype(np.int16 if signed else np.uint16)


def _check_bits(what: str, bits, signed) -> None:
    if not (_is_int(bits) and 1 <= bits <= 16):
        raise ValueError(f"{what}: bits must be an integer in [1, 16], got {bits!r}")
    if not isinstance(signed, (bool, np.bool_)):
        raise ValueError(f"{what}: signed must be True or False, got {signed!r}")


def encode_codes(name: str, values, bits: int, signed: bool) -> np.ndarray:
    """Check integer codes against their declared range and store them narrowly.

    Returns ``values`` as I8/U8 (bits <= 8) or I16/U16 (bits <= 16), signed or not as
    declared. Raises ValueError naming ``name``, the index and the value of the first
    code outside the range.
    """
    _check_bits(name, bits, signed)
    a = _to_int64(name, values)
    if a.size == 0:
        raise ValueError(f"{name}: is empty")
    lo, hi = operand_range(bits, bool(signed))
    outside = _first_outside(a, lo, hi)
    if outside:
        raise ValueError(
            f"{name}: value {outside[1]} at index {outside[0]} is outside {_describe_range(bits, bool(signed))}"
        )
    return a.astype(_code_dtype(bits, bool(signed)))


def _narrow_output(name: str, y: np.ndarray) -> np.ndarray:
    if y.size == 0 or (y.min() >= _INT32_MIN and y.max() <= _INT32_MAX):
        return y.astype(np.int32)
    return y.astype(np.int64)


class TraceWriter:
    """Build a trace one layer at a time; written when closed (or the ``with`` block ends).

    >>> with TraceWriter("net.trace", model="net") as w:            # doctest: +SKIP
    ...     w.linear("fc", x, q, input_bits=8, input_signed=False,
    ...              weight_bits=8, weight_signed=True, output="compute")

    Every code is checked against its declared range and stored in the narrowest allowed
    dtype; a bad argument raises ValueError naming the tensor at the call that made it.
    Tensors are named ``<layer>.input``, ``.weight``, ``.lhs``, ``.rhs``, ``.bias``,
    ``.output`` and ``.<operand>_scale``. Scales: a number goes inline into the manifest,
    an array becomes an F32 tensor (one value, or for ``weight`` and ``rhs`` one per output
    channel: C_out, out or N).
    ``output``: None omits it, ``"compute"`` records the exact result of ``ref_*``, an
    integer array records what your framework computed (stored I32 when it fits,
    else I64; int32 and int64 arrays are stored as given).
    """

    def __init__(self, path, model: str, source: str = "", meta: dict | None = None,
                 tensors_file: str = DEFAULT_TENSORS_FILE):
        if not isinstance(model, str):
            raise ValueError("model must be a string")
        if meta is not None and not isinstance(meta, dict):
            raise ValueError("meta must be a dict")
        self.path = os.fspath(path)
        self.manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "model": model}
        if source:
            self.manifest["source"] = str(source)
        self.manifest["tensors"] = tensors_file
        self.manifest["layers"] = []
        if meta is not None:
            self.manifest["meta"] = meta
        self.tensors: dict[str, np.ndarray] = {}
        self.closed = False

    # -- context manager ------------------------------------------------------------

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()

    def close(self) -> str:
        """Validate and write the trace (once); returns its directory."""
        if not self.closed:
            if not self.manifest["layers"]:
                raise ValueError(f"{self.path}: a trace needs at least one layer")
            write_trace(self.path, self.manifest, self.tensors, validate=True)
            self.closed = True
        return self.path

    # -- layers ---------------------------------------------------------------------

    def linear(self, name, input, weight, *, input_bits, input_signed, weight_bits, weight_signed,
               input_zero_point=0, input_scale=None, weight_scale=None, bias=None, bias_bits=32,
               output=None, meta=None) -> dict:
        """A linear layer: weight [out, in], input [..., in]; returns its manifest entry."""
        self._begin(name)
        x = encode_codes(f"{name}.input", input, input_bits, input_signed)
        w = encode_codes(f"{name}.weight", weight, weight_bits, weight_signed)
        try:
            geo = linear_geometry(x.shape, w.shape)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        return self._finish(
            name, "linear", geo,
            operands=[("input", x, input_bits, input_signed, input_zero_point, input_scale),
                      ("weight", w, weight_bits, weight_signed, None, weight_scale)],
            bias=bias, bias_bits=bias_bits, output=output, meta=meta,
            compute=lambda b: ref_linear(x, w, b),
        )

    def conv2d(self, name, input, weight, *, input_bits, input_signed, weight_bits, weight_signed,
               input_zero_point=0, input_scale=None, weight_scale=None, bias=None, bias_bits=32,
               output=None, stride=1, padding=0, dilation=1, groups=1, meta=None) -> dict:
        """A conv2d layer: weight [C_out, C_in/groups, kH, kW], input [B, C_in, H, W].

        ``padding`` is an int, [h, w] or [top, left, bottom, right]; padded positions hold
        ``input_zero_point``. Parameters are recorded in explicit list form.
        """
        self._begin(name)
        x = encode_codes(f"{name}.input", input, input_bits, input_signed)
        w = encode_codes(f"{name}.weight", weight, weight_bits, weight_signed)
        try:
            params = normalize_conv2d_params(stride, padding, dilation, groups)
            geo = conv2d_geometry(x.shape, w.shape, params)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        zp = self._zero_point(f"{name}.input", input_zero_point, input_bits, input_signed)
        return self._finish(
            name, "conv2d", geo,
            operands=[("input", x, input_bits, input_signed, zp, input_scale),
                      ("weight", w, weight_bits, weight_signed, None, weight_scale)],
            bias=bias, bias_bits=bias_bits, output=output, meta=meta, conv2d=params,
            compute=lambda b: ref_conv2d(x, w, b, pad_value=zp, **params),
        )

    def matmul(self, name, lhs, rhs, *, lhs_bits, lhs_signed, rhs_bits, rhs_signed, lhs_zero_point=0,
               rhs_zero_point=0, lhs_scale=None, rhs_scale=None, bias=None, bias_bits=32, output=None,
               meta=None) -> dict:
        """An activation x activation matmul: lhs [..., M, K] x rhs [..., K, N], batch dims broadcast."""
        self._begin(name)
        a = encode_codes(f"{name}.lhs", lhs, lhs_bits, lhs_signed)
        b = encode_codes(f"{name}.rhs", rhs, rhs_bits, rhs_signed)
        try:
            geo = matmul_geometry(a.shape, b.shape)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        return self._finish(
            name, "matmul", geo,
            operands=[("lhs", a, lhs_bits, lhs_signed, lhs_zero_point, lhs_scale),
                      ("rhs", b, rhs_bits, rhs_signed, rhs_zero_point, rhs_scale)],
            bias=bias, bias_bits=bias_bits, output=output, meta=meta,
            compute=lambda bias_: ref_matmul(a, b, bias_),
        )

    # -- internals ------------------------------------------------------------------

    def _begin(self, name) -> None:
        if self.closed:
            raise ValueError(f"{self.path}: the trace is already written")
        if not isinstance(name, str) or not name:
            raise ValueError(f"layer name must be a non-empty string, got {name!r}")
        if any(layer["name"] == name for layer in self.manifest["layers"]):
            raise ValueError(f"{name}: duplicate layer name")

    @staticmethod
    def _zero_point(what: str, zero_point, bits, signed) -> int:
        lo, hi = operand_range(bits, bool(signed))
        if not (_is_int(zero_point) and lo <= zero_point <= hi):
            raise ValueError(f"{what}: zero_point must be an integer in [{lo}, {hi}], got {zero_point!r}")
        return int(zero_point)

    def _scale(self, layer: str, role: str, scale, per_channel: int | None):
        """None, an inline float, or the name of a new F32 tensor."""
        what = f"{layer}.{role}_scale"
        if scale is None:
            return None
        if _is_number(scale):
            value = float(scale)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{what}: a scale must be a positive number, got {scale!r}")
            return value
        a = np.asarray(scale, dtype=np.float64).reshape(-1)
        allowed = {1} if per_channel is None else {1, per_channel}
        if a.size not in allowed:
            wanted = "one value" if per_channel is None else f"one value or one per output channel ({per_channel})"
            raise ValueError(f"{what}: has {a.size} values, expected {wanted}")
        a32 = a.astype(np.float32)
        if not np.all(np.isfinite(a32) & (a32 > 0)):
            raise ValueError(f"{what}: every scale must be positive and finite in float32")
        self.tensors[what] = a32
        return what

    def _finish(self, name, op, geo: Geometry, operands, bias, bias_bits, output, meta, compute,
                conv2d=None) -> dict:
        layer = {"name": name, "op": op}
        staged = {}
        for role, codes, bits, signed, zero_point, scale in operands:
            entry = {"tensor": f"{name}.{role}", "bits": int(bits), "signed": bool(signed)}
            if zero_point is not None:
                entry["zero_point"] = self._zero_point(f"{name}.{role}", zero_point, bits, signed)
            per_channel = geo.channels if role in PER_CHANNEL_ROLES else None
            scale_ref = self._scale(name, role, scale, per_channel)
            if scale_ref is not None:
                entry["scale"] = scale_ref
            staged[entry["tensor"]] = codes
            layer[role] = entry

        bias_codes = None
        if bias is not None:
            if not (_is_int(bias_bits) and 1 <= bias_bits <= 64):
                raise ValueError(f"{name}.bias: bias_bits must be an integer in [1, 64], got {bias_bits!r}")
            bias_codes = _to_int64(f"{name}.bias", bias)
            if bias_codes.shape != (geo.channels,):
                raise ValueError(
                    f"{name}.bias: shape {_shape_str(bias_codes.shape)}, expected [{geo.channels}] (one per channel)"
                )
            outside = _first_outside(bias_codes, *signed_range(bias_bits))
            if outside:
                raise ValueError(
                    f"{name}.bias: value {outside[1]} at index {outside[0]} does not fit {bias_bits} signed bits"
                )
            bias_codes = bias_codes.astype(np.int32 if bias_bits <= 32 else np.int64)
            staged[f"{name}.bias"] = bias_codes
            layer["bias"] = {"tensor": f"{name}.bias", "bits": int(bias_bits)}

        if conv2d is not None:
            layer["conv2d"] = conv2d

        if output is not None:
            if isinstance(output, str):
                if output != "compute":
                    raise ValueError(f"{name}.output: expected None, 'compute' or an array, got {output!r}")
                y = _narrow_output(f"{name}.output", compute(bias_codes))
            else:
                y = np.asarray(output)
                if y.dtype.kind not in "iu":
                    raise ValueError(f"{name}.output: must be an integer array, got dtype {y.dtype}")
                if y.shape != geo.output_shape:
                    raise ValueError(
                        f"{name}.output: shape {_shape_str(y.shape)}, expected {_shape_str(geo.output_shape)}"
                    )
                if y.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
                    y = _narrow_output(f"{name}.output", _to_int64(f"{name}.output", y))
            staged[f"{name}.output"] = y
            layer["output"] = {"tensor": f"{name}.output"}

        if meta is not None:
            if not isinstance(meta, dict):
                raise ValueError(f"{name}: meta must be a dict")
            layer["meta"] = meta
        self.tensors.update(staged)
        self.manifest["layers"].append(layer)
        return layer


# --------------------------------------------------------------------------------------
# comparison and dump


def _json_difference(a, b, pointer: str = ""):
    """The JSON pointer and a description of the first difference, or None.

    Numbers compare by value (1 equals 1.0), but a bool is never a number.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            at = f"{pointer}/{key}"
            if key not in b:
                return at, "only in A"
            if key not in a:
                return at, "only in B"
            found = _json_difference(a[key], b[key], at)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = _json_difference(x, y, f"{pointer}/{i}")
            if found:
                return found
        if len(a) != len(b):
            return pointer or "/", f"{len(a)} items != {len(b)} items"
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        same = isinstance(a, bool) and isinstance(b, bool) and a == b
    elif _is_number(a) and _is_number(b):
        same = a == b
    else:
        same = type(a) is type(b) and a == b
    return None if same else (pointer or "/", f"{json.dumps(a)} != {json.dumps(b)}")


def trace_difference(a: Trace, b: Trace):
    """A description of the first difference between two traces, or None if equal.

    Equal means: the manifests are equal as parsed JSON, and both hold the same tensor
    names, each with the same dtype, shape and values (bit for bit).
    """
    found = _json_difference(a.manifest, b.manifest)
    if found:
        return f"manifest {found[0]}: {found[1]}"
    for name in sorted(set(a.tensors) | set(b.tensors)):
        if name not in b.tensors:
            return f"tensor {name}: only in A"
        if name not in a.tensors:
            return f"tensor {name}: only in B"
        x, y = a.tensors[name], b.tensors[name]
        if safetensors_dtype(x) != safetensors_dtype(y):
            return f"tensor {name}: dtype {safetensors_dtype(x)} != {safetensors_dtype(y)}"
        if x.shape != y.shape:
            return f"tensor {name}: shape {_shape_str(x.shape)} != {_shape_str(y.shape)}"
        differ = np.flatnonzero(x.reshape(-1).view(np.uint8 if x.itemsize == 1 else f"u{x.itemsize}")
                                != y.reshape(-1).view(np.uint8 if y.itemsize == 1 else f"u{y.itemsize}"))
        if differ.size:
            k = int(differ[0])
            index = [int(v) for v in np.unravel_index(k, x.shape)]
            return (f"tensor {name}: value at index {index}: {x.reshape(-1)[k]!r} != {y.reshape(-1)[k]!r} "
                    f"({differ.size} of {x.size} values differ)")
    return None


def _range_str(a: np.ndarray) -> str:
    return f"[{a.min()}, {a.max()}]" if a.size else "[]"


def dump_trace(trace: Trace, out=sys.stdout) -> None:
    """Print a readable summary: layers, ops, shapes, bit widths and value ranges."""
    m = trace.manifest
    total = sum(a.nbytes for a in trace.tensors.values())
    width = max([len(n) for n in trace.tensors] + [10])
    print(f"trace    {trace.path}", file=out)
    print(f"model    {m.get('model')}", file=out)
    if m.get("source"):
        print(f"source   {m['source']}", file=out)
    print(f"tensors  {', '.join(tensor_files(m))}: {len(trace.tensors)} tensors, {total} bytes of data", file=out)
    for i, layer in enumerate(m["layers"]):
        op = layer.get("op")
        roles = OPERANDS.get(op, ())
        try:
            a, b = (trace.tensors[layer[r]["tensor"]] for r in roles)
            params = normalize_conv2d_params(**layer.get("conv2d", {})) if op == "conv2d" else None
            geo = layer_geometry(op, a.shape, b.shape, params)
            summary = f"K={geo.dot_length}  outputs={geo.outputs}  MACs={geo.macs}"
        except (KeyError, TypeError, ValueError) as exc:
            params, summary = None, f"(invalid: {exc})"
        print(f"\nlayer {i}: {layer.get('name')}  {op}  {summary}", file=out)
        if params:
            print(f"  conv2d  stride {params['stride']}  padding {params['padding']}  "
                  f"dilation {params['dilation']}  groups {params['groups']}", file=out)
        for role in roles + ("bias", "output"):
            entry = layer.get(role)
            if not isinstance(entry, dict) or entry.get("tensor") not in trace.tensors:
                continue
            t = trace.tensors[entry["tensor"]]
            line = f"  {role:<7} {entry['tensor']:<{width}} {safetensors_dtype(t):<4} {_shape_str(t.shape):<16}"
            if role in roles:
                bits, signed = entry.get("bits"), entry.get("signed")
                if _is_int(bits) and isinstance(signed, bool):
                    line += f" {'i' if signed else 'u'}{bits:<3} range {list(operand_range(bits, signed))}"
                line += f"  observed {_range_str(t)}"
                if entry.get("zero_point"):
                    line += f"  zero_point {entry['zero_point']}"
                scale = entry.get("scale")
                if isinstance(scale, str) and scale in trace.tensors:
                    s = trace.tensors[scale]
                    line += f"  scale {scale} ({s.size} values, {s.min():.4g}..{s.max():.4g})"
                elif scale is not None:
                    line += f"  scale {scale:.6g}" if _is_number(scale) else f"  scale {scale!r}"
            elif role == "bias":
                line += f" {entry.get('bits', 32)} bits  observed {_range_str(t)}"
            else:
                line += f" observed {_range_str(t)}"
            print(line, file=out)


# --------------------------------------------------------------------------------------
# self-test trace


def _codes_with_ends(rng, shape, bits: int, signed: bool) -> np.ndarray:
    """Uniform random codes in the range, with its minimum first and its maximum last."""
    lo, hi = operand_range(bits, signed)
    a = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
    flat = a.reshape(-1)
    flat[0], flat[-1] = lo, hi
    return a


def write_selftest_trace(path) -> str:
    """A small deterministic trace exercising the whole format (see the CLI's help).

    Operand widths 1, 3, 4, 8 and 16, each signed and unsigned, with both ends of each
    range present; linear on 1-D, 2-D and 3-D inputs; conv2d with stride, asymmetric
    padding, dilation, groups and depthwise, a nonzero padded zero point; broadcasting
    matmuls; inline, single-value and per-channel scales (weights and rhs); 32- and 40-bit biases; I32 and I64 outputs.
    """
    rng = np.random.default_rng(20260101)

    def codes(shape, bits, signed):
        return _codes_with_ends(rng, shape, bits, signed)

    def scales(n):
        return (0.001 + 0.01 * rng.random(n)).astype(np.float32)

    with TraceWriter(path, model="accsim-selftest",
                     source="accsim_trace.py selftest-write: synthetic codes covering trace format v1",
                     meta={"generator": "accsim_trace.py selftest-write", "seed": 20260101}) as w:
        w.linear("lin_2d", codes((3, 5), 8, False), codes((4, 5), 8, True),
                 input_bits=8, input_signed=False, weight_bits=8, weight_signed=True,
                 input_scale=0.0039, weight_scale=scales(4), bias=rng.integers(-5000, 5000, 4),
                 output="compute")
        w.linear("lin_3d", codes((2, 3, 6), 4, True), codes((5, 6), 3, False),
                 input_bits=4, input_signed=True, weight_bits=3, weight_signed=False,
                 input_scale=0.5, weight_scale=[0.25], bias=np.array([-(1 << 39), 0, 1, -1, (1 << 39) - 1]),
                 bias_bits=40, output="compute")
        w.linear("lin_1bit", codes((7,), 1, False), codes((2, 7), 1, True),
                 input_bits=1, input_signed=False, weight_bits=1, weight_signed=True, output="compute")
        w.linear("lin_wide", codes((4, 7), 3, True), codes((2, 7), 16, False),
                 input_bits=3, input_signed=True, weight_bits=16, weight_signed=False,
                 weight_scale=scales(2), output="compute", meta={"note": "16-bit unsigned weights"})
        w.conv2d("conv_stride_pad", codes((2, 3, 7, 6), 8, False), codes((4, 3, 3, 2), 3, True),
                 input_bits=8, input_signed=False, weight_bits=3, weight_signed=True,
                 input_zero_point=7, input_scale=0.02, weight_scale=scales(4),
                 bias=rng.integers(-100, 100, 4), stride=2, padding=[1, 0, 2, 1], output="compute")
        w.conv2d("conv_dilated_groups", codes((1, 4, 9, 8), 16, True), codes((6, 2, 3, 3), 4, False),
                 input_bits=16, input_signed=True, weight_bits=4, weight_signed=False,
                 weight_scale=scales(6), bias=rng.integers(-(1 << 20), 1 << 20, 6),
                 stride=[1, 2], padding=[2, 1], dilation=2, groups=2, output="compute")
        w.conv2d("conv_depthwise", codes((1, 3, 5, 5), 4, False), codes((6, 1, 3, 3), 4, True),
                 input_bits=4, input_signed=False, weight_bits=4, weight_signed=True,
                 input_zero_point=3, weight_scale=scales(6), stride=1, padding=1, groups=3,
                 output="compute")
        w.matmul("mm_broadcast", codes((2, 3, 4, 5), 8, True), codes((1, 3, 5, 6), 8, False),
                 lhs_bits=8, lhs_signed=True, rhs_bits=8, rhs_signed=False, rhs_zero_point=128,
                 lhs_scale=0.125, rhs_scale=[0.0625], bias=rng.integers(-1000, 1000, 6),
                 output="compute")
        w.matmul("mm_wide", codes((4, 5), 16, False), codes((3, 5, 2), 16, True),
                 lhs_bits=16, lhs_signed=False, rhs_bits=16, rhs_signed=True, rhs_scale=scales(2),
                 output="compute")
    return path


# --------------------------------------------------------------------------------------
# command line


def _cmd_dump(args) -> int:
    dump_trace(read_trace(args.trace))
    return 0


def _cmd_check(args) -> int:
    trace = read_trace(args.trace)
    problems = validate_trace(trace, verify_outputs=True)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    verified = sum(1 for layer in trace.layers if "output" in layer)
    print(f"{args.trace}: valid, {len(trace.layers)} layers, {verified} outputs verified")
    return 0


def _cmd_copy(args) -> int:
    trace = read_trace(args.src)
    write_trace(args.dst, trace.manifest, trace.tensors, placement=trace.placement)
    return 0


def _cmd_compare(args) -> int:
    difference = trace_difference(read_trace(args.a), read_trace(args.b))
    if difference:
        print(f"{args.a} vs {args.b}: {difference}")
        return 1
    return 0


def _cmd_selftest_write(args) -> int:
    write_selftest_trace(args.dst)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="accsim_trace.py",
        description="Read, write, check and compare accsim traces (format v1, traces/FORMAT.md).",
        epilog="Exit status: 0 ok; 1 a difference (compare) or a problem (check); 2 bad usage or input.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("dump", help="print layers, ops, shapes, bit widths and value ranges")
    p.add_argument("trace")
    p.set_defaults(run=_cmd_dump)
    p = sub.add_parser("check", help="check every rule of FORMAT.md and verify recorded outputs")
    p.add_argument("trace")
    p.set_defaults(run=_cmd_check)
    p = sub.add_parser("copy", help="read SRC and write it to DST through this module's writer")
    p.add_argument("src")
    p.add_argument("dst")
    p.set_defaults(run=_cmd_copy)
    p = sub.add_parser("compare", help="exit 0 if two traces are equal, else print the first difference")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(run=_cmd_compare)
    p = sub.add_parser("selftest-write", help="write a small deterministic trace covering the format")
    p.add_argument("dst")
    p.set_defaults(run=_cmd_selftest_write)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # e.g. "dump ... | head": not an error of the trace
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, ValueError) as exc:
        print(f"accsim_trace.py: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
