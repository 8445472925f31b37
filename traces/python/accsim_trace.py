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
  defines, in int64, used for ``output="compute"`` and by the checks;
* float operands (FORMAT.md, "Float operands and block scales"): ``FLOAT_FORMATS``,
  ``decode_float`` / ``round_to_float`` (``to_e4m3``, ``to_e5m2``: round to nearest even,
  saturating as FP8 quantizers do), ``exact_linear`` / ``exact_conv2d`` / ``exact_matmul``:
  the exact dot products of float (or block-scaled) layers, rounded once to binary64.

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

#: numpy has no 8-bit float or bfloat16 type: tensors of those safetensors dtypes are held
#: as arrays of these one-field structured dtypes, whose field is the raw code (``codes_of``
#: gives it as a plain unsigned array; ``float_tensor`` makes one from codes).
F8_E4M3_DTYPE = np.dtype([("f8_e4m3", "<u1")])
F8_E5M2_DTYPE = np.dtype([("f8_e5m2", "<u1")])
BF16_DTYPE = np.dtype([("bf16", "<u2")])

#: safetensors dtype name -> numpy dtype (little-endian on disk).
SAFETENSORS_DTYPES = {
    "I8": np.dtype("<i1"),
    "U8": np.dtype("<u1"),
    "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
    "F8_E4M3": F8_E4M3_DTYPE,
    "F8_E5M2": F8_E5M2_DTYPE,
    "F16": np.dtype("<f2"),
    "BF16": BF16_DTYPE,
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
# numpy "kind + itemsize" -> safetensors dtype name (byte order is handled on write); the
# structured stand-ins (kind "V") are matched by their exact dtype instead.
_NUMPY_TO_SAFETENSORS = {dt.kind + str(dt.itemsize): name for name, dt in SAFETENSORS_DTYPES.items()
                         if dt.kind != "V"}
_STRUCTURED_DTYPES = {dt: name for name, dt in SAFETENSORS_DTYPES.items() if dt.kind == "V"}

#: dtypes allowed for operand codes, for bias, for output (FORMAT.md, "tensors.safetensors").
CODE_DTYPES = ("I8", "U8", "I16", "U16", "I32")
BIAS_DTYPES = CODE_DTYPES + ("I64",)
OUTPUT_DTYPES = ("I32", "I64")
#: the output of a float or block-scaled layer: its exact results rounded once to binary64.
FLOAT_OUTPUT_DTYPE = "F64"

OPS = ("linear", "conv2d", "matmul")
OPERANDS = {"linear": ("input", "weight"), "conv2d": ("input", "weight"), "matmul": ("lhs", "rhs")}
#: operands whose scale tensor may hold one value per output channel. FORMAT.md says
#: "(weights)"; matmul's rhs is the weight-like operand (its columns are the channels), as
#: accsim's C++ reader also treats it.
PER_CHANNEL_ROLES = ("weight", "rhs")

_TOP_KEYS_REQUIRED = ("format", "version", "model", "tensors", "layers")
_TOP_KEYS = _TOP_KEYS_REQUIRED + ("source", "meta")
_LAYER_KEYS_COMMON = ("name", "op", "bias", "output", "meta")
_OPERAND_KEYS = ("tensor", "bits", "signed", "range", "zero_point", "scale", "format", "block_scale")
_BLOCK_SCALE_KEYS = ("tensor", "block", "format", "block_channels")
BLOCK_SCALE_FORMATS = ("f32", "e8m0")
#: the largest dot length accsim takes (traces/trace.h, k_max_dot_length); bounds a block.
MAX_DOT_LENGTH = 1 << 28
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
    name = _STRUCTURED_DTYPES.get(dt) if dt.kind == "V" else _NUMPY_TO_SAFETENSORS.get(dt.kind + str(dt.itemsize))
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
    allows: I8 U8 I16 U16 I32 I64, F8_E4M3 F8_E5M2 F16 BF16 F32 F64), shape, data offset
    and size, and that no two
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
    int64, float16, float32, float64, or the structured stand-ins ``F8_E4M3_DTYPE``,
    ``F8_E5M2_DTYPE``, ``BF16_DTYPE``); nothing is converted silently. Data is little-endian, C order,
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
    """The exact output of a manifest layer: dot products + bias in int64, or for a float
    or block-scaled layer the exact dot products rounded once to float64 (no bias)."""
    if is_float_layer(layer) or has_block_scales(layer):
        return float_reference_output(layer, tensors)
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
# float operands (FORMAT.md, "Float operands and block scales")


@dataclass(frozen=True)
class FloatFormat:
    """A binary float format a trace may store operands in (accsim's datapath/float_format.h).

    A finite value is ``sig * 2^lsb``; ``mantissa_bits`` are the fraction bits that count
    (tf32: 10 of the 23 its F32 storage holds; the other 13 are ignored when decoding).
    ``ieee_specials``: the all-ones exponent holds infinities and NaNs; otherwise (E4M3FN)
    it holds normal values and only S.1111.111 is NaN, and there are no infinities.
    """

    name: str
    exponent_bits: int
    mantissa_bits: int
    storage_bits: int
    dtype: str                      # the safetensors dtype that stores it
    ieee_specials: bool = True
    code_mantissa_bits: int | None = None  # fraction bits in a stored code (tf32: 23)

    @property
    def bias(self) -> int:
        return (1 << (self.exponent_bits - 1)) - 1

    @property
    def min_exponent(self) -> int:
        return 1 - self.bias

    @property
    def max_exponent(self) -> int:
        return self.bias if self.ieee_specials else self.bias + 1

    @property
    def stored_mantissa_bits(self) -> int:
        return self.mantissa_bits if self.code_mantissa_bits is None else self.code_mantissa_bits

    @property
    def max_finite(self) -> float:
        """448 for e4m3, 57344 for e5m2, 65504 for fp16, ..."""
        frac = 2.0 - math.ldexp(1.0 if self.ieee_specials else 2.0, -self.mantissa_bits)
        return math.ldexp(frac, self.max_exponent)

    @property
    def min_subnormal(self) -> float:
        return math.ldexp(1.0, self.min_exponent - self.mantissa_bits)

    @property
    def nan_code(self) -> int:
        """The canonical (positive, quiet) NaN code, as accsim's encoder writes it."""
        ms = self.stored_mantissa_bits
        exp_mask = (1 << self.exponent_bits) - 1
        if not self.ieee_specials:
            return (exp_mask << ms) | ((1 << ms) - 1)
        return (exp_mask << ms) | (1 << (ms - 1))


#: format name -> FloatFormat: the operand formats accsim reads.
FLOAT_FORMATS = {
    "e4m3": FloatFormat("e4m3", 4, 3, 8, "F8_E4M3", ieee_specials=False),
    "e5m2": FloatFormat("e5m2", 5, 2, 8, "F8_E5M2"),
    "fp16": FloatFormat("fp16", 5, 10, 16, "F16"),
    "bf16": FloatFormat("bf16", 8, 7, 16, "BF16"),
    "fp32": FloatFormat("fp32", 8, 23, 32, "F32"),
    "tf32": FloatFormat("tf32", 8, 10, 32, "F32", code_mantissa_bits=23),
}
_CODE_UINT = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: np.dtype(np.uint32)}


def float_format(name) -> FloatFormat:
    """The FloatFormat of a name (e4m3, e5m2, fp16, bf16, fp32, tf32), or ValueError."""
    if isinstance(name, FloatFormat):
        return name
    f = FLOAT_FORMATS.get(name) if isinstance(name, str) else None
    if f is None:
        raise ValueError(f"unknown float format {name!r} (valid: {', '.join(FLOAT_FORMATS)})")
    return f


def codes_of(a) -> np.ndarray:
    """The raw codes of a float tensor as a plain unsigned array (uint8, uint16, uint32):
    F8_E4M3 / F8_E5M2 / BF16 stand-ins, float16 or float32 arrays. Unsigned arrays pass."""
    a = np.asarray(a)
    if a.dtype.kind == "V":
        return a.view(_CODE_UINT[8 * a.dtype.itemsize]).reshape(a.shape)
    if a.dtype.kind == "f" and a.dtype.itemsize in (2, 4):
        return a.view(_CODE_UINT[8 * a.dtype.itemsize])
    if a.dtype.kind == "u":
        return a
    raise ValueError(f"expected float codes, got dtype {a.dtype}")


def float_tensor(codes, fmt) -> np.ndarray:
    """Codes (unsigned integers) as the array a trace stores for format ``fmt``: F8_E4M3 /
    F8_E5M2 / BF16 stand-ins, float16 for fp16, float32 for fp32 and tf32."""
    f = float_format(fmt)
    c = np.ascontiguousarray(np.asarray(codes).astype(_CODE_UINT[f.storage_bits], copy=False))
    return c.view(SAFETENSORS_DTYPES[f.dtype].newbyteorder("="))


def decode_float(codes, fmt) -> np.ndarray:
    """The values of float codes as float64 (every operand format is a subset of binary64):
    NaN for NaN codes, +-inf for infinities. ``codes`` may be unsigned integers or a stored
    float tensor (``float_tensor``)."""
    f = float_format(fmt)
    c = np.asarray(codes)
    c = (c if c.dtype.kind in "iu" else codes_of(c)).astype(np.int64)
    ms = f.stored_mantissa_bits
    exp_mask = (1 << f.exponent_bits) - 1
    negative = (c >> (f.exponent_bits + ms)) & 1
    e = (c >> ms) & exp_mask
    m = (c & ((1 << ms) - 1)) >> (ms - f.mantissa_bits)  # tf32: the low 13 bits are ignored
    normal = e != 0
    sig = np.where(normal, m + (1 << f.mantissa_bits), m).astype(np.float64)
    exp = np.where(normal, e - f.bias, f.min_exponent) - f.mantissa_bits
    v = np.ldexp(sig, exp.astype(np.int32))
    if f.ieee_specials:
        top = e == exp_mask
        v = np.where(top & (m == 0), np.inf, v)
        v = np.where(top & (m != 0), np.nan, v)
    else:
        v = np.where((e == exp_mask) & (m == (1 << f.mantissa_bits) - 1), np.nan, v)
    return np.where(negative == 1, -v, v)


def round_to_float(values, fmt, saturate: bool = True) -> np.ndarray:
    """Round float values to the codes of ``fmt``, to nearest with ties to even, once.

    ``saturate`` (the default, as FP8 quantizers do): magnitudes beyond the largest finite
    value, infinities included, become +-max_finite (448 for e4m3, 57344 for e5m2).
    Otherwise they round as IEEE 754 does: to infinity where the format has one (e5m2, fp16,
    bf16, fp32), to NaN for e4m3 (which has none). NaN gives the canonical NaN code; the sign
    of zero is kept. Returns unsigned codes (uint8, uint16 or uint32).
    """
    f = float_format(fmt)
    a = np.asarray(values, dtype=np.float64)
    ms, mb = f.stored_mantissa_bits, f.mantissa_bits
    exp_mask = (1 << f.exponent_bits) - 1
    nan = np.isnan(a)
    negative = np.signbit(a)
    mag = np.abs(np.where(nan, 0.0, a))
    if saturate:
        mag = np.minimum(mag, f.max_finite)
    finite = np.isfinite(mag)
    safe = np.where(finite, mag, 0.0)
    _, e = np.frexp(safe)                      # safe = m * 2^e, m in [0.5, 1)
    quantum = np.maximum(e - 1, f.min_exponent) - mb
    r = np.ldexp(np.round(np.ldexp(safe, -quantum)), quantum)  # np.round: ties to even
    overflow = ~finite | (r > f.max_finite)
    r = np.where(overflow, 0.0, r)
    _, e2 = np.frexp(r)
    normal = r >= math.ldexp(1.0, f.min_exponent)
    unbiased = e2 - 1
    field = np.where(normal, unbiased + f.bias, 0)
    scaled = np.where(normal, np.ldexp(r, (mb - unbiased).astype(np.int32)) - (1 << mb),
                      np.ldexp(r, mb - f.min_exponent))
    code = (field.astype(np.int64) << ms) | (scaled.astype(np.int64) << (ms - mb))
    if f.ieee_specials:
        special = exp_mask << ms                                  # infinity
    else:
        special = (exp_mask << ms) | ((1 << ms) - 1)              # E4M3FN: NaN
    code = np.where(overflow, special, code)
    code = code | (negative.astype(np.int64) << (f.exponent_bits + ms))
    code = np.where(nan, f.nan_code, code)
    return code.astype(_CODE_UINT[f.storage_bits])


def to_e4m3(values, saturate: bool = True) -> np.ndarray:
    """float -> OCP E4M3FN codes (uint8): round to nearest even, saturating at +-448."""
    return round_to_float(values, "e4m3", saturate)


def to_e5m2(values, saturate: bool = True) -> np.ndarray:
    """float -> OCP E5M2 codes (uint8): round to nearest even, saturating at +-57344."""
    return round_to_float(values, "e5m2", saturate)


def to_bf16(values) -> np.ndarray:
    """float -> bfloat16 codes (uint16), round to nearest even (infinities kept)."""
    return round_to_float(values, "bf16", saturate=False)


def e8m0_values(codes) -> np.ndarray:
    """OCP E8M0 scale codes (uint8) as float64: 2^(code - 127); 255 is NaN."""
    c = np.asarray(codes).astype(np.int64)
    return np.where(c == 255, np.nan, np.ldexp(1.0, (c - 127).astype(np.int32)))


def to_e8m0(values, rounding: str = "up") -> np.ndarray:
    """Positive scales -> E8M0 codes (uint8): the power of two at or above (``"up"``, so that
    nothing saturates, as the OCP MX recipe's shared exponent does) or below (``"down"``)."""
    if rounding not in ("up", "down"):
        raise ValueError(f"rounding must be 'up' or 'down', got {rounding!r}")
    a = np.asarray(values, dtype=np.float64)
    if a.size and not np.all(np.isfinite(a) & (a > 0)):
        raise ValueError("E8M0 scales must be positive and finite")
    m, e = np.frexp(a)                         # a = m * 2^e, m in [0.5, 1)
    k = np.where(m == 0.5, e - 1, e if rounding == "up" else e - 1)
    return np.clip(k + 127, 0, 254).astype(np.uint8)


# -- exact dot products of float (and block-scaled) layers -----------------------------
#
# Every operand value is a binary64 number; a dot product's exact value is a sum of exact
# products. The values of one tensor are all integer multiples of 2^lo and below 2^hi, so
# they are split into signed integer "limbs" of L bits each; a float64 matmul of two limb
# arrays is exact (BLAS may add in any order) as long as K * 2^(Lx + Lw) <= 2^53, which the
# limb widths are chosen to keep. FP8 layers need one matmul; wider formats a few. The
# partial results are combined in int64 where that cannot overflow, else in Python integers,
# and each output is rounded once to binary64 (correctly: int -> float in CPython and int64
# -> float64 in numpy round to nearest even).


def _value_range(v: np.ndarray):
    """(lo, hi): the nonzero finite values of v are integer multiples of 2^lo, below 2^hi."""
    nz = np.abs(v[(v != 0) & np.isfinite(v)])
    if nz.size == 0:
        return None
    m, e = np.frexp(nz)
    sig = np.ldexp(m, 53).astype(np.int64)
    low = sig & -sig
    tz = np.frexp(low.astype(np.float64))[1] - 1
    return int((e - 53 + tz).min()), int(e.max())


def _limbs(v: np.ndarray, lo: int, width: int, bits: int) -> list:
    """v = sum_j limbs[j] * 2^(lo + j*bits), each limb a signed integer below 2^bits (float64)."""
    mag = np.ldexp(np.abs(v), -lo)
    sign = np.sign(v)
    out = []
    for j in range((width + bits - 1) // bits):
        part = np.fmod(np.floor(np.ldexp(mag, -j * bits)), 2.0 ** bits)
        out.append(part * sign)
    return out


def _limb_plan(width_x: int, width_w: int, k: int):
    """Limb widths (Lx, Lw) with the fewest matmuls such that K * 2^(Lx + Lw) <= 2^53."""
    budget = 53 - max(0, math.ceil(math.log2(max(k, 1))))
    if budget < 2:
        raise ValueError(f"dot length {k} is too long for an exact float64 split")
    best = None
    for nx in range(1, width_x + 1):
        lx = -(-width_x // nx)
        lw = budget - lx
        if lw < 1:
            continue
        cost = nx * -(-width_w // lw)
        if best is None or cost < best[0]:
            best = (cost, lx, lw)
        if lx == 1:
            break
    if best is None:  # width_x alone uses the budget: split it to one bit per limb
        best = (width_x * width_w, 1, budget - 1)
    return best[1], best[2]


class _ExactInts:
    """Integers ``n`` (int64 or Python ints in an object array) times 2^``exp``."""

    def __init__(self, n: np.ndarray, exp: int):
        self.n, self.exp = n, exp


def _exact_int_gemm(x: np.ndarray, w: np.ndarray) -> _ExactInts:
    """sum_k x[..., m, k] * w[..., n, k] exactly, for finite float64 x [..., M, K] and
    w [..., N, K] (batch dimensions broadcast)."""
    k = x.shape[-1]
    shape = np.broadcast_shapes(x.shape[:-2], w.shape[:-2]) + (x.shape[-2], w.shape[-2])
    rx, rw = _value_range(x), _value_range(w)
    if rx is None or rw is None or k == 0:
        return _ExactInts(np.zeros(shape, dtype=np.int64), 0)
    (lo_x, hi_x), (lo_w, hi_w) = rx, rw
    width_x, width_w = hi_x - lo_x, hi_w - lo_w
    lx, lw = _limb_plan(width_x, width_w, k)
    xs, ws = _limbs(x, lo_x, width_x, lx), _limbs(w, lo_w, width_w, lw)
    exp = lo_x + lo_w
    if len(xs) == 1 and len(ws) == 1:
        return _ExactInts(np.matmul(xs[0], np.swapaxes(ws[0], -1, -2)).astype(np.int64), exp)
    fits_int64 = width_x + width_w + math.ceil(math.log2(max(k, 1))) <= 62
    total = None
    for a, xa in enumerate(xs):
        for b, wb in enumerate(ws):
            part = np.matmul(xa, np.swapaxes(wb, -1, -2)).astype(np.int64)
            shift = a * lx + b * lw
            part = (part << shift) if fits_int64 else (part.astype(object) << shift)
            total = part if total is None else total + part
    return _ExactInts(total, exp)


def _int_ldexp(n, e: int) -> float:
    """The integer n times 2^e rounded once to binary64 (nearest even); +-inf beyond range."""
    n, e = int(n), int(e)
    if n == 0:
        return 0.0
    bits = abs(n).bit_length()
    if bits + e > 1024:
        return math.copysign(math.inf, n)
    if bits <= 1000 and bits - 1 + e >= -1022:  # float(n) rounds once; the result is normal
        return math.ldexp(float(n), e)
    from fractions import Fraction
    q = Fraction(n) * Fraction(2) ** e
    try:
        return float(q)
    except OverflowError:
        return math.copysign(math.inf, n)


_INT_LDEXP = np.frompyfunc(_int_ldexp, 2, 1)


def _to_binary64(r: _ExactInts) -> np.ndarray:
    n = r.n
    if n.dtype != object:
        limit = np.abs(n).max(initial=0)
        if limit < (1 << 53) and (limit == 0 or (-1022 <= r.exp and r.exp + 53 < 1000)):
            return np.ldexp(n.astype(np.float64), r.exp)   # exact: a 53-bit integer, scaled
        if -1022 + 64 <= r.exp and r.exp + 64 < 1000:
            return np.ldexp(n.astype(np.float64), r.exp)   # one rounding (int64 -> float64)
    return _INT_LDEXP(n, r.exp).astype(np.float64) if n.size else np.zeros(n.shape)


def _split_scales(s: np.ndarray):
    """Positive finite scales as (integer significand, exponent), s = m * 2^e, m < 2^53."""
    m, e = np.frexp(np.where(np.isfinite(s), s, 1.0))
    return np.ldexp(m, 53).astype(np.int64), (e - 53).astype(np.int64)


def _specials(x: np.ndarray, w: np.ndarray):
    """(nan, sign of an infinite result) per output of sum_k x[..., m, k] * w[..., n, k],
    as accsim's exact sum has them: a NaN product (NaN operand, inf times zero) or
    infinities of both signs give NaN; otherwise an infinite product decides the sign."""
    def mm(a, b):
        return np.matmul(a.astype(np.float64), np.swapaxes(b.astype(np.float64), -1, -2)) > 0

    nan_x, nan_w = np.isnan(x), np.isnan(w)
    inf_x, inf_w = np.isinf(x), np.isinf(w)
    zero_x, zero_w = x == 0, w == 0
    pos_x, neg_x = (x > 0), (x < 0)
    pos_w, neg_w = (w > 0), (w < 0)
    nan = (nan_x.any(axis=-1)[..., :, None] | nan_w.any(axis=-1)[..., None, :]
           | mm(inf_x, zero_w) | mm(zero_x, inf_w))
    fin_pos_x, fin_neg_x = pos_x & ~inf_x, neg_x & ~inf_x
    plus = (mm(inf_x & pos_x, pos_w) | mm(inf_x & neg_x, neg_w)
            | mm(fin_pos_x, inf_w & pos_w) | mm(fin_neg_x, inf_w & neg_w))
    minus = (mm(inf_x & pos_x, neg_w) | mm(inf_x & neg_x, pos_w)
             | mm(fin_pos_x, inf_w & neg_w) | mm(fin_neg_x, inf_w & pos_w))
    nan = nan | (plus & minus)
    return nan, np.where(plus, 1, np.where(minus, -1, 0))


def _exact_dot(x: np.ndarray, w: np.ndarray, x_scale=None, w_scale=None, block: int = 0) -> np.ndarray:
    """The exact sum_k x[..., m, k] * w[..., n, k] (times the scales of k's block, when
    ``block``), rounded once to binary64: float64 [..., M, N]. ``x_scale`` is
    [..., M, blocks] (or None: ones), ``w_scale`` [..., N, blocks]; NaN scales make the
    outputs they meet NaN."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    k = x.shape[-1]
    special = not (np.all(np.isfinite(x)) and np.all(np.isfinite(w)))
    if special:
        nan, inf_sign = _specials(x, w)
        x = np.where(np.isfinite(x), x, 0.0)
        w = np.where(np.isfinite(w), w, 0.0)
    if not block:
        y = _to_binary64(_exact_int_gemm(x, w))
    else:
        blocks = -(-k // block)
        shape = np.broadcast_shapes(x.shape[:-2], w.shape[:-2]) + (x.shape[-2], w.shape[-2])
        if x_scale is None:
            x_scale = np.ones(x.shape[:-1] + (blocks,))
        if w_scale is None:
            w_scale = np.ones(w.shape[:-1] + (blocks,))
        x_scale = np.asarray(x_scale, dtype=np.float64)
        w_scale = np.asarray(w_scale, dtype=np.float64)
        nan_scale = (np.isnan(x_scale).any(axis=-1)[..., :, None] | np.isnan(w_scale).any(axis=-1)[..., None, :])
        mx, ex = _split_scales(x_scale)
        mw, ew = _split_scales(w_scale)
        sums, exps = [], []
        for b in range(blocks):
            part = _exact_int_gemm(x[..., b * block:(b + 1) * block], w[..., b * block:(b + 1) * block])
            scale_m = mx[..., :, None, b].astype(object) * mw[..., None, :, b].astype(object)
            sums.append(np.broadcast_to(part.n.astype(object) * scale_m, shape))
            exps.append(np.broadcast_to(part.exp + ex[..., :, None, b] + ew[..., None, :, b], shape))
        exps = np.stack(exps, axis=-1)
        low = exps.min(axis=-1)
        shifted = np.stack(sums, axis=-1) << (exps - low[..., None]).astype(object)
        total = shifted.sum(axis=-1) if blocks > 1 else shifted[..., 0]
        y = _INT_LDEXP(total, low.astype(object)).astype(np.float64) if total.size else np.zeros(shape)
        y = np.where(nan_scale, np.nan, y)
    if special:
        y = np.where(inf_sign > 0, np.inf, np.where(inf_sign < 0, -np.inf, y))
        y = np.where(nan, np.nan, y)
    return np.where(y == 0, 0.0, y)  # a zero result is +0, as accsim's exact sum gives it


def exact_linear(x, w, input_block_scale=None, weight_block_scale=None, block: int = 0,
                 block_channels: int = 1) -> np.ndarray:
    """y[..., o] = sum_i w[o, i] * x[..., i], exactly, rounded once to binary64.

    ``x`` [..., in] and ``w`` [out, in] are values (``decode_float`` of float codes, or
    integer codes). With ``block``: input_block_scale [..., ceil(in/block)] and
    weight_block_scale [ceil(out/block_channels), ceil(in/block)] (values: F32 scales, or
    ``e8m0_values`` of E8M0 codes) multiply every product of their block; either may be None.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    geo = linear_geometry(x.shape, w.shape)
    rows = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, -1)
    xs = ws = None
    if block:
        if input_block_scale is not None:
            xs = np.asarray(input_block_scale, dtype=np.float64).reshape(rows.shape[0], -1)
        if weight_block_scale is not None:
            ws = np.repeat(np.asarray(weight_block_scale, dtype=np.float64), block_channels, axis=0)[: w.shape[0]]
    return _exact_dot(rows, w, xs, ws, block).reshape(geo.output_shape)


def _float_patches(x: np.ndarray, k_h: int, k_w: int, params: dict) -> np.ndarray:
    """conv2d receptive fields of float64 x: [B, C_in, kH, kW, OH, OW], padding 0.0."""
    batch, channels, height, width = x.shape
    top, left, bottom, right = params["padding"]
    (s_h, s_w), (d_h, d_w) = params["stride"], params["dilation"]
    o_h = (height + top + bottom - d_h * (k_h - 1) - 1) // s_h + 1
    o_w = (width + left + right - d_w * (k_w - 1) - 1) // s_w + 1
    padded = np.zeros((batch, channels, height + top + bottom, width + left + right))
    padded[:, :, top:top + height, left:left + width] = x
    patches = np.empty((batch, channels, k_h, k_w, o_h, o_w))
    for i in range(k_h):
        for j in range(k_w):
            patches[:, :, i, j] = padded[:, :, i * d_h: i * d_h + s_h * (o_h - 1) + 1: s_h,
                                         j * d_w: j * d_w + s_w * (o_w - 1) + 1: s_w]
    return patches


def exact_conv2d(x, w, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """A grouped conv2d (as ``ref_conv2d``) on values, exactly, rounded once to binary64.
    Padded positions hold +0 (a float operand has no zero point)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    params = normalize_conv2d_params(stride, padding, dilation, groups)
    geo = conv2d_geometry(x.shape, w.shape, params)
    batch, c_out, o_h, o_w = geo.output_shape
    c_group, k_h, k_w = w.shape[1:]
    patches = _float_patches(x, k_h, k_w, params)
    columns = patches.reshape(batch, groups, c_group * k_h * k_w, o_h * o_w)
    rows = np.swapaxes(columns, -1, -2)                          # [B, G, OH*OW, K]
    kernels = w.reshape(1, groups, c_out // groups, c_group * k_h * k_w)
    y = _exact_dot(rows, kernels)                                # [B, G, OH*OW, C_out/G]
    return np.swapaxes(y, -1, -2).reshape(batch, c_out, o_h, o_w)


def exact_matmul(lhs, rhs) -> np.ndarray:
    """lhs [..., M, K] x rhs [..., K, N] on values, batch dimensions broadcast, exactly,
    rounded once to binary64."""
    lhs = np.asarray(lhs, dtype=np.float64)
    rhs = np.asarray(rhs, dtype=np.float64)
    matmul_geometry(lhs.shape, rhs.shape)
    return _exact_dot(lhs, np.swapaxes(rhs, -1, -2))


def operand_values(entry: dict, tensors: dict) -> np.ndarray:
    """An operand's values as float64: float codes decoded, integer codes as they are."""
    a = tensors[entry["tensor"]]
    if "format" in entry:
        return decode_float(a, entry["format"])
    return a.astype(np.float64)


def block_scale_values(spec: dict, tensors: dict) -> np.ndarray:
    """A ``block_scale`` entry's scales as float64 (E8M0 codes decoded; 255 is NaN)."""
    a = tensors[spec["tensor"]]
    if spec.get("format", "f32") == "e8m0":
        return e8m0_values(a)
    return a.astype(np.float64)


def is_float_layer(layer: dict) -> bool:
    """Whether a manifest layer's operands are float (declare ``format``)."""
    a_role, _ = OPERANDS[layer["op"]]
    return isinstance(layer.get(a_role), dict) and "format" in layer[a_role]


def has_block_scales(layer: dict) -> bool:
    return any(isinstance(layer.get(r), dict) and "block_scale" in layer[r] for r in OPERANDS[layer["op"]])


def float_reference_output(layer: dict, tensors: dict) -> np.ndarray:
    """The exact float64 output of a float or block-scaled layer (what its F64 output holds)."""
    op = layer["op"]
    a_role, b_role = OPERANDS[op]
    a, b = operand_values(layer[a_role], tensors), operand_values(layer[b_role], tensors)
    if op == "linear":
        sa, sb = layer[a_role].get("block_scale"), layer[b_role].get("block_scale")
        spec = sa or sb
        if spec is None:
            return exact_linear(a, b)
        return exact_linear(a, b, None if sa is None else block_scale_values(sa, tensors),
                            None if sb is None else block_scale_values(sb, tensors), block=spec["block"],
                            block_channels=1 if sb is None else sb.get("block_channels", 1))
    if op == "matmul":
        return exact_matmul(a, b)
    return exact_conv2d(a, b, **normalize_conv2d_params(**layer.get("conv2d", {})))


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
            block = entry.get("block_scale")
            if isinstance(block, dict) and "tensor" in block:
                yield f"/layers/{i}/{role}/block_scale/tensor", block["tensor"]


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


def _validate_block_scale(p: _Problems, pointer: str, spec, role: str, tensors: dict):
    """Check a ``block_scale`` entry (keys, block, format, dtype, values); returns it or None."""
    if not isinstance(spec, dict):
        p.add(pointer, "must be an object")
        return None
    allowed = _BLOCK_SCALE_KEYS if role in PER_CHANNEL_ROLES else ("tensor", "block", "format")
    p.unknown_keys(spec, allowed, pointer)
    ok = True
    for key in ("tensor", "block"):
        if key not in spec:
            p.add(pointer, f"missing {key!r}")
            ok = False
    block = spec.get("block")
    if "block" in spec and not (_is_int(block) and 1 <= block <= MAX_DOT_LENGTH):
        p.add(pointer + "/block", f"expected an integer in [1, {MAX_DOT_LENGTH}], got {block!r}")
        ok = False
    channels = spec.get("block_channels", 1)
    if not (_is_int(channels) and 1 <= channels <= 1 << 30):
        p.add(pointer + "/block_channels", f"expected an integer in [1, {1 << 30}], got {channels!r}")
        ok = False
    fmt = spec.get("format", "f32")
    if fmt not in BLOCK_SCALE_FORMATS:
        p.add(pointer + "/format", f"expected one of {', '.join(BLOCK_SCALE_FORMATS)}, got {fmt!r}")
        return None
    name = spec.get("tensor")
    if not isinstance(name, str) or name not in tensors:
        return None
    a = tensors[name]
    want = "U8" if fmt == "e8m0" else "F32"
    if safetensors_dtype(a) != want:
        p.add(name, f"block scale tensor has dtype {safetensors_dtype(a)}; {fmt} scales are {want}")
        return None
    if fmt == "f32" and a.size and not np.all(np.isfinite(a) & (a > 0)):
        bad = np.flatnonzero(~(np.isfinite(a) & (a > 0)))[0]
        index = [int(i) for i in np.unravel_index(int(bad), a.shape)]
        p.add(name, f"block scale {a.reshape(-1)[bad]!r} at index {index} is not a positive finite number")
    return spec if ok else None


def _validate_operand(p: _Problems, pointer: str, entry, tensors: dict, role: str = ""):
    """Check an operand entry and its codes; returns (array, float format name or None,
    block_scale entry or None), or None if unusable."""
    if not isinstance(entry, dict):
        p.add(pointer, "must be an object")
        return None
    p.unknown_keys(entry, _OPERAND_KEYS, pointer)
    block = None
    if "block_scale" in entry:
        block = _validate_block_scale(p, pointer + "/block_scale", entry["block_scale"], role, tensors)
    if "format" in entry:
        return _validate_float_operand(p, pointer, entry, tensors, block)
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
    declared = None
    if ok and "range" in entry:
        declared = _validate_range(p, pointer + "/range", entry["range"], bits, signed)
        ok = declared is not None
    if ok and "zero_point" in entry:
        zp = entry["zero_point"]
        lo, hi = declared or operand_range(bits, signed)
        if not (_is_int(zp) and lo <= zp <= hi):
            p.add(pointer + "/zero_point", f"expected an integer in [{lo}, {hi}], got {zp!r}")
    name = entry.get("tensor")
    if not isinstance(name, str) or name not in tensors:
        return None
    a = tensors[name]
    dtype_name = safetensors_dtype(a)
    if dtype_name not in CODE_DTYPES:
        p.add(name, f"operand codes must be {', '.join(CODE_DTYPES)}, got {dtype_name}"
                    + (" (float operands declare \"format\")" if a.dtype.kind in "fV" else ""))
        return None
    if a.size == 0:
        p.add(name, "is empty")
        return None
    if ok:
        lo, hi = declared or operand_range(bits, signed)
        outside = _first_outside(a, lo, hi)
        if outside:
            where = f"the declared range [{lo}, {hi}]" if declared else _describe_range(bits, signed)
            p.add(name, f"value {outside[1]} at index {list(outside[0])} is outside {where}")
    return a, None, block


def _validate_range(p, pointer: str, value, bits: int, signed: bool):
    """An operand's "range": [lo, hi] inside its bits' range and holding 0, or None (reported)."""
    lo, hi = operand_range(bits, signed)
    if not (isinstance(value, list) and len(value) == 2 and all(_is_int(v) for v in value)):
        p.add(pointer, f"expected [lo, hi], two integers, got {value!r}")
        return None
    if not (lo <= value[0] <= 0 <= value[1] <= hi):
        p.add(pointer, f"expected lo in [{lo}, 0] and hi in [0, {hi}], got {value!r}")
        return None
    return value[0], value[1]


def _validate_float_operand(p: _Problems, pointer: str, entry: dict, tensors: dict, block):
    fmt = entry["format"]
    if fmt not in FLOAT_FORMATS:
        p.add(pointer + "/format", f"unknown float format {fmt!r} (valid: {', '.join(FLOAT_FORMATS)})")
        return None
    for key in ("bits", "signed", "range", "zero_point"):
        if key in entry:
            p.add(pointer + "/" + key, f'a float operand declares "format" instead of "{key}"')
    if "tensor" not in entry:
        p.add(pointer, "missing 'tensor'")
    name = entry.get("tensor")
    if not isinstance(name, str) or name not in tensors:
        return None
    a = tensors[name]
    want = FLOAT_FORMATS[fmt].dtype
    if safetensors_dtype(a) != want:
        p.add(name, f"has dtype {safetensors_dtype(a)}; format {fmt!r} is stored as {want}")
        return None
    if a.size == 0:
        p.add(name, "is empty")
        return None
    return a, fmt, block  # every code is a value, an infinity or a NaN: no range to check


def _validate_block_shapes(p: _Problems, at: str, op: str, layer: dict, found: dict, geo: Geometry,
                           tensors: dict) -> None:
    """Block scales: linear layers only, one block length, shapes [rows..., ceil(K/B)] and
    [ceil(out/Bc), ceil(K/B)] (what accsim's loader checks)."""
    specs = {role: f[2] for role, f in found.items() if f[2] is not None}
    raw = [r for r in OPERANDS[op] if isinstance(layer.get(r), dict) and "block_scale" in layer[r]]
    if not raw:
        return
    if op != "linear":
        p.add(f"{at}/{raw[0]}/block_scale",
              "block scales are modelled on linear layers (weight [out, in], input [..., in])")
        return
    if len(specs) == 2 and specs["input"]["block"] != specs["weight"]["block"]:
        p.add(f"{at}/weight/block_scale/block",
              f"the input's and the weight's blocks differ ({specs['input']['block']} and "
              f"{specs['weight']['block']} products)")
        return
    k = geo.dot_length
    for role, spec in specs.items():
        if spec["tensor"] not in tensors:
            continue
        b = spec["block"]
        blocks = -(-k // b)
        if role == "input":
            want = tuple(found["input"][0].shape[:-1]) + (blocks,)
            what = f"one per row and block of {b}"
        else:
            bc = spec.get("block_channels", 1)
            want = (-(-geo.channels // bc), blocks)
            what = f"one per {bc} channels and block of {b}"
        got = tensors[spec["tensor"]].shape
        if tuple(got) != want:
            p.add(f"{at}/{role}/block_scale/tensor",
                  f"block scale {spec['tensor']!r} has shape {_shape_str(got)}, expected {_shape_str(want)} ({what})")


def _same_doubles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit-for-bit equality of float64 values, any NaN equal to any NaN (as accsim compares)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a.view(np.uint64) == b.view(np.uint64)) | (np.isnan(a) & np.isnan(b))


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
        found = {}
        for role in (a_role, b_role):
            if role not in layer:
                p.add(at, f"missing {role!r}")
            else:
                found[role] = _validate_operand(p, f"{at}/{role}", layer[role], tensors, role)
        declared = [isinstance(layer.get(r), dict) and "format" in layer[r] for r in (a_role, b_role)]
        is_float = all(declared)
        if any(declared) and not is_float:
            integer_role = a_role if not declared[0] else b_role
            p.add(f"{at}/{integer_role}", 'the other operand is a float format; both operands of a layer are '
                                          'float ("format") or both integer ("bits", "signed")')
        arrays = {role: (f[0] if f is not None else None) for role, f in found.items()}

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
        _validate_block_shapes(p, at, op, layer, found, geo, tensors)
        scaled = any(isinstance(layer.get(r), dict) and "block_scale" in layer[r] for r in (a_role, b_role))

        bias_ok = True
        if "bias" in layer:
            bias = layer["bias"]
            bias_ok = False
            if is_float:
                p.add(at + "/bias", "a float layer takes no bias here (add it after the accumulation)")
            elif not isinstance(bias, dict):
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
            f64 = is_float or scaled
            if f64 and dtype_name != FLOAT_OUTPUT_DTYPE:
                p.add(out["tensor"], f"output has dtype {dtype_name}, expected F64 (the exact results of a float "
                                     "or block-scaled layer, rounded to binary64)")
            elif not f64 and dtype_name not in OUTPUT_DTYPES:
                p.add(out["tensor"], f"output must be I32 or I64, got {dtype_name}")
            elif y.shape != geo.output_shape:
                p.add(out["tensor"], f"shape {_shape_str(y.shape)}, expected {_shape_str(geo.output_shape)}")
            elif verify_outputs and f64 and not p.items:
                expected = reference_output(layer, tensors)
                differ = np.flatnonzero(~_same_doubles(expected.reshape(-1), y.reshape(-1)))
                if differ.size:
                    k = int(differ[0])
                    index = [int(v) for v in np.unravel_index(k, y.shape)]
                    p.add(out["tensor"],
                          f"recorded {y.reshape(-1)[k]!r} at index {index} but the exact result is "
                          f"{expected.reshape(-1)[k]!r} ({differ.size} of {y.size} values differ)")
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


_FORMAT_OF_DTYPE = {"F8_E4M3": "e4m3", "F8_E5M2": "e5m2", "BF16": "bf16", "F16": "fp16", "F32": "fp32"}


def encode_float_operand(name: str, values, fmt=None):
    """Float operand values or codes -> (the array a trace stores, the format name).

    ``values`` may be: float16 (fp16) or float32 (fp32; or tf32 when ``fmt`` says so)
    arrays, stored as they are; unsigned (or non-negative integer) codes with ``fmt``;
    a stored float tensor (``float_tensor``); or float values of any dtype that ``fmt``
    holds exactly (round them first with ``round_to_float`` / ``to_e4m3`` otherwise).
    """
    a = np.asarray(values)
    if fmt is None:
        st = _STRUCTURED_DTYPES.get(a.dtype) if a.dtype.kind == "V" else None
        if st is not None:
            fmt = _FORMAT_OF_DTYPE[st]
        elif a.dtype == np.float16:
            fmt = "fp16"
        elif a.dtype == np.float32:
            fmt = "fp32"
        else:
            raise ValueError(f"{name}: give the integer bits and signed, or a float format "
                             f"({', '.join(FLOAT_FORMATS)}), for dtype {a.dtype}")
    try:
        f = float_format(fmt)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if a.size == 0:
        raise ValueError(f"{name}: is empty")
    if a.dtype.kind == "V":
        got = _STRUCTURED_DTYPES.get(a.dtype)
        if got != f.dtype:
            raise ValueError(f"{name}: a {got} tensor cannot hold format {f.name!r} (stored as {f.dtype})")
        return np.ascontiguousarray(a), f.name
    if a.dtype.kind in "iu":
        codes = _to_int64(name, a)
        outside = _first_outside(codes, 0, (1 << f.storage_bits) - 1)
        if outside:
            raise ValueError(f"{name}: code {outside[1]} at index {outside[0]} is not a {f.storage_bits}-bit "
                             f"{f.name} code")
        return float_tensor(codes, f), f.name
    if a.dtype.kind != "f":
        raise ValueError(f"{name}: expected float values or unsigned codes, got dtype {a.dtype}")
    native = SAFETENSORS_DTYPES[f.dtype]
    if native.kind == "f" and a.dtype.itemsize == native.itemsize:
        return np.ascontiguousarray(a.astype(native.newbyteorder("="))), f.name
    v = a.astype(np.float64)
    codes = round_to_float(v, f, saturate=False)
    back = decode_float(codes, f)
    bad = ~_same_doubles(back, v) & ~(back == v)   # -0 and +0 both fine
    if bad.any():
        k = int(np.flatnonzero(bad.reshape(-1))[0])
        index = tuple(int(i) for i in np.unravel_index(k, a.shape))
        raise ValueError(f"{name}: value {v.reshape(-1)[k]!r} at index {index} is not a {f.name} value; round "
                         f"first (round_to_float(x, {f.name!r}), to_e4m3, to_e5m2)")
    return float_tensor(codes, f), f.name


@dataclass
class BlockScale:
    """Scales along K for one operand of a linear layer (FORMAT.md, "Float operands and block
    scales"): one per ``block`` consecutive products of a row (input: shape
    [..., ceil(K/block)]) or of ``block_channels`` output channels (weight: shape
    [ceil(out/block_channels), ceil(K/block)]). ``format``: "f32" (positive float32 values)
    or "e8m0" (uint8 codes, 2^(code-127)); by default e8m0 for uint8 arrays, else f32."""

    values: object
    block: int
    format: str | None = None
    block_channels: int = 1


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
    Float operands (``input_format="e4m3"`` with uint8 codes, float16 / float32 arrays, ...)
    are stored in their format's dtype; a float or block-scaled layer takes no bias and its
    output (``"compute"``: ``exact_linear`` etc.) is float64, the exact results rounded once.
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

    def linear(self, name, input, weight, *, input_bits=None, input_signed=None, weight_bits=None,
               weight_signed=None, input_format=None, weight_format=None, input_zero_point=None,
               input_scale=None, weight_scale=None, input_block_scale=None, weight_block_scale=None,
               block=None, weight_block_channels=1, bias=None, bias_bits=32, output=None, meta=None) -> dict:
        """A linear layer: weight [out, in], input [..., in]; returns its manifest entry.

        Integer operands give ``*_bits`` and ``*_signed``; float operands ``*_format`` (or
        float16 / float32 arrays, which imply fp16 / fp32). Block scales along ``in``
        (``input_block_scale`` [..., ceil(in/block)], ``weight_block_scale``
        [ceil(out/weight_block_channels), ceil(in/block)]) are float arrays (F32 scales),
        uint8 arrays (E8M0 codes) or ``BlockScale`` objects.
        """
        self._begin(name)
        x = self._operand(name, "input", input, input_bits, input_signed, input_format)
        w = self._operand(name, "weight", weight, weight_bits, weight_signed, weight_format)
        try:
            geo = linear_geometry(x[0].shape, w[0].shape)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        blocks = self._block_scales(name, geo, x[0].shape, input_block_scale, weight_block_scale, block,
                                    weight_block_channels)
        return self._finish(
            name, "linear", geo,
            operands=[("input",) + x + (input_zero_point, input_scale, blocks.get("input")),
                      ("weight",) + w + (None, weight_scale, blocks.get("weight"))],
            bias=bias, bias_bits=bias_bits, output=output, meta=meta,
            compute=lambda b: ref_linear(x[0], w[0], b),
        )

    def conv2d(self, name, input, weight, *, input_bits=None, input_signed=None, weight_bits=None,
               weight_signed=None, input_format=None, weight_format=None, input_zero_point=None,
               input_scale=None, weight_scale=None, bias=None, bias_bits=32, output=None, stride=1,
               padding=0, dilation=1, groups=1, meta=None) -> dict:
        """A conv2d layer: weight [C_out, C_in/groups, kH, kW], input [B, C_in, H, W].

        ``padding`` is an int, [h, w] or [top, left, bottom, right]; padded positions hold
        ``input_zero_point`` (integer operands; float operands pad with +0). Parameters are
        recorded in explicit list form. Float operands as for ``linear`` (no block scales).
        """
        self._begin(name)
        x = self._operand(name, "input", input, input_bits, input_signed, input_format)
        w = self._operand(name, "weight", weight, weight_bits, weight_signed, weight_format)
        try:
            params = normalize_conv2d_params(stride, padding, dilation, groups)
            geo = conv2d_geometry(x[0].shape, w[0].shape, params)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        zp = None
        if x[1] is None:
            zp = self._zero_point(f"{name}.input", 0 if input_zero_point is None else input_zero_point,
                                  input_bits, input_signed)
        return self._finish(
            name, "conv2d", geo,
            operands=[("input",) + x + (input_zero_point, input_scale, None),
                      ("weight",) + w + (None, weight_scale, None)],
            bias=bias, bias_bits=bias_bits, output=output, meta=meta, conv2d=params,
            compute=lambda b: ref_conv2d(x[0], w[0], b, pad_value=zp, **params),
        )

    def matmul(self, name, lhs, rhs, *, lhs_bits=None, lhs_signed=None, rhs_bits=None, rhs_signed=None,
               lhs_format=None, rhs_format=None, lhs_zero_point=None, rhs_zero_point=None, lhs_scale=None,
               rhs_scale=None, bias=None, bias_bits=32, output=None, meta=None) -> dict:
        """An activation x activation matmul: lhs [..., M, K] x rhs [..., K, N], batch dims broadcast.
        Float operands as for ``linear`` (no block scales)."""
        self._begin(name)
        a = self._operand(name, "lhs", lhs, lhs_bits, lhs_signed, lhs_format)
        b = self._operand(name, "rhs", rhs, rhs_bits, rhs_signed, rhs_format)
        try:
            geo = matmul_geometry(a[0].shape, b[0].shape)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        return self._finish(
            name, "matmul", geo,
            operands=[("lhs",) + a + (lhs_zero_point, lhs_scale, None),
                      ("rhs",) + b + (rhs_zero_point, rhs_scale, None)],
            bias=bias, bias_bits=bias_bits, output=output, meta=meta,
            compute=lambda bias_: ref_matmul(a[0], b[0], bias_),
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
    def _operand(layer: str, role: str, values, bits, signed, fmt):
        """(stored array, float format name or None, bits, signed) of one operand."""
        what = f"{layer}.{role}"
        is_float = fmt is not None or (bits is None and signed is None)
        if is_float:
            if bits is not None or signed is not None:
                raise ValueError(f"{what}: a float operand declares a format, not bits and signed")
            stored, fmt = encode_float_operand(what, values, fmt)
            return stored, fmt, None, None
        if bits is None or signed is None:
            raise ValueError(f"{what}: an integer operand needs both {role}_bits and {role}_signed")
        return encode_codes(what, values, bits, signed), None, bits, signed

    def _block_scales(self, layer: str, geo: Geometry, input_shape, input_scale, weight_scale, block,
                      weight_block_channels) -> dict:
        """The block_scale manifest entries (and staged tensors) of a linear layer, by role."""
        specs = {}
        for role, given in (("input", input_scale), ("weight", weight_scale)):
            if given is None:
                continue
            if not isinstance(given, BlockScale):
                given = BlockScale(given, block, block_channels=weight_block_channels if role == "weight" else 1)
            specs[role] = given
        if not specs:
            if block is not None:
                raise ValueError(f"{layer}: block = {block!r} but no block scales given")
            return {}
        blocks = {s.block for s in specs.values()}
        if len(blocks) > 1:
            raise ValueError(f"{layer}: the input's and the weight's blocks differ ({specs['input'].block} and "
                             f"{specs['weight'].block} products)")
        out = {}
        for role, spec in specs.items():
            what = f"{layer}.{role}_block_scale"
            b = spec.block
            if not (_is_int(b) and 1 <= b <= MAX_DOT_LENGTH):
                raise ValueError(f"{what}: block must be an integer in [1, {MAX_DOT_LENGTH}], got {b!r}")
            bc = spec.block_channels
            if not (_is_int(bc) and 1 <= bc <= 1 << 30):
                raise ValueError(f"{what}: block_channels must be an integer >= 1, got {bc!r}")
            if role == "input" and bc != 1:
                raise ValueError(f"{what}: block_channels is for the weight's scales only")
            n_blocks = -(-geo.dot_length // b)
            want = (tuple(input_shape[:-1]) + (n_blocks,)) if role == "input" else (-(-geo.channels // bc), n_blocks)
            a = np.asarray(spec.values)
            fmt = spec.format or ("e8m0" if a.dtype == np.uint8 else "f32")
            if fmt not in BLOCK_SCALE_FORMATS:
                raise ValueError(f"{what}: format must be one of {', '.join(BLOCK_SCALE_FORMATS)}, got {fmt!r}")
            if a.size != math.prod(want):
                raise ValueError(f"{what}: has shape {_shape_str(a.shape)}, expected {_shape_str(want)} "
                                 f"({'one per row' if role == 'input' else f'one per {bc} channels'} and block of {b})")
            if fmt == "e8m0":
                if a.dtype.kind not in "iu":
                    raise ValueError(f"{what}: e8m0 scales are uint8 codes (2^(code - 127)), got dtype {a.dtype}")
                codes = _to_int64(what, a)
                outside = _first_outside(codes, 0, 255)
                if outside:
                    raise ValueError(f"{what}: code {outside[1]} at index {outside[0]} is not a uint8")
                stored = codes.astype(np.uint8).reshape(want)
            else:
                if a.dtype.kind not in "fiu":
                    raise ValueError(f"{what}: f32 scales must be numbers, got dtype {a.dtype}")
                stored = a.astype(np.float32).reshape(want)
                bad = ~(np.isfinite(stored) & (stored > 0))
                if bad.any():
                    k = int(np.flatnonzero(bad)[0])
                    raise ValueError(f"{what}: block scale {a.reshape(-1)[k]!r} at index "
                                     f"{[int(i) for i in np.unravel_index(k, want)]} is not a positive finite float32")
            entry = {"tensor": what, "block": int(b)}
            if fmt != "f32":
                entry["format"] = fmt
            if role == "weight" and bc != 1:
                entry["block_channels"] = int(bc)
            out[role] = (entry, stored)
        return out

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
        formats = [fmt for _, _, fmt, _, _, _, _, _ in operands]
        is_float = formats[0] is not None
        if (formats[0] is None) != (formats[1] is None):
            integer_role = operands[0][0] if formats[0] is None else operands[1][0]
            raise ValueError(f"{name}.{integer_role}: the other operand is a float format; both operands of a "
                             "layer are float or both integer")
        scaled = any(o[7] is not None for o in operands)
        for role, codes, fmt, bits, signed, zero_point, scale, block_scale in operands:
            entry = {"tensor": f"{name}.{role}"}
            if fmt is not None:
                entry["format"] = fmt
                if zero_point not in (None, 0):
                    raise ValueError(f"{name}.{role}: a float operand has no zero_point (got {zero_point!r})")
            else:
                entry["bits"], entry["signed"] = int(bits), bool(signed)
                if role in ("input", "lhs", "rhs"):
                    entry["zero_point"] = self._zero_point(f"{name}.{role}", 0 if zero_point is None else zero_point,
                                                           bits, signed)
            per_channel = geo.channels if role in PER_CHANNEL_ROLES else None
            scale_ref = self._scale(name, role, scale, per_channel)
            if scale_ref is not None:
                entry["scale"] = scale_ref
            if block_scale is not None:
                entry["block_scale"] = block_scale[0]
                staged[block_scale[0]["tensor"]] = block_scale[1]
            staged[entry["tensor"]] = codes
            layer[role] = entry

        bias_codes = None
        if bias is not None:
            if is_float or scaled:
                raise ValueError(f"{name}.bias: a {'float' if is_float else 'block-scaled'} layer takes no bias "
                                 "(its output is the exact dot product; add the bias after the accumulation)")
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
                if is_float or scaled:
                    y = float_reference_output(layer, {**self.tensors, **staged})
                else:
                    y = _narrow_output(f"{name}.output", compute(bias_codes))
            elif is_float or scaled:
                y = np.asarray(output)
                if y.dtype.kind != "f":
                    raise ValueError(f"{name}.output: a {'float' if is_float else 'block-scaled'} layer records its "
                                     f"exact results as float64, got dtype {y.dtype}")
                if y.shape != geo.output_shape:
                    raise ValueError(
                        f"{name}.output: shape {_shape_str(y.shape)}, expected {_shape_str(geo.output_shape)}"
                    )
                y = y.astype(np.float64)
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
            if role in roles and entry.get("format") in FLOAT_FORMATS:
                v = decode_float(t, entry["format"])
                finite = v[np.isfinite(v)]
                line += f" {entry['format']:<4} max {FLOAT_FORMATS[entry['format']].max_finite:g}"
                line += f"  observed {_range_str(finite)}"
                specials = int(v.size - finite.size)
                if specials:
                    line += f" and {specials} NaN/inf"
            elif role in roles:
                bits, signed = entry.get("bits"), entry.get("signed")
                if _is_int(bits) and isinstance(signed, bool):
                    line += f" {'i' if signed else 'u'}{bits:<3} range {list(operand_range(bits, signed))}"
                line += f"  observed {_range_str(t)}"
            if role in roles:
                if entry.get("zero_point"):
                    line += f"  zero_point {entry['zero_point']}"
                scale = entry.get("scale")
                if isinstance(scale, str) and scale in trace.tensors:
                    s = trace.tensors[scale]
                    line += f"  scale {scale} ({s.size} values, {s.min():.4g}..{s.max():.4g})"
                elif scale is not None:
                    line += f"  scale {scale:.6g}" if _is_number(scale) else f"  scale {scale!r}"
                block = entry.get("block_scale")
                if isinstance(block, dict) and block.get("tensor") in trace.tensors:
                    bs = block_scale_values(block, trace.tensors)
                    line += (f"  block_scale {block['tensor']} ({block.get('format', 'f32')}, block {block.get('block')}"
                             + (f" x {block['block_channels']} channels" if "block_channels" in block else "")
                             + f", {bs.size} values, {np.nanmin(bs):.4g}..{np.nanmax(bs):.4g})")
            elif role == "bias":
                line += f" {entry.get('bits', 32)} bits  observed {_range_str(t)}"
            elif t.dtype.kind == "f":
                line += f" observed {_range_str(t[np.isfinite(t)])}"
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
