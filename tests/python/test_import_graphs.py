#!/usr/bin/python3
"""accsim-import on synthetic ONNX graphs built here with onnx.helper: ONNX QDQ (QuantizeLinear /
DequantizeLinear into Conv, Gemm and MatMul), QONNX (Quant, BipolarQuant in the domains
qonnx.custom_op.general and onnx.brevitas), quantization carried through value-moving ops, the
dot products left out, layer selection, batches, FINN's accumulator width and an exhaustive
2-bit case. Every recorded layer is checked against slow references written here (Python loops
over integer codes, real = scale * (code - zero_point)), the graph's float outputs against a
numpy float32 execution written here, and the trace is replayed by accsim (every output
verified) when the accsim module is built.

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python/test_import_graphs.py
"""
import itertools
import math
import os
import sys
from fractions import Fraction

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "traces", "python"))

onnx = pytest.importorskip("onnx")
from onnx import TensorProto as TP  # noqa: E402
from onnx import helper as oh  # noqa: E402
from onnx import numpy_helper as nh  # noqa: E402

from accsim_import import import_model  # noqa: E402
from qonnx_rounding import exact_round  # noqa: E402
from accsim_trace import read_trace  # noqa: E402

try:
    import accsim
except ImportError:  # the replay asserts are skipped; everything else still runs
    accsim = None

QONNX = "qonnx.custom_op.general"
BREVITAS = "onnx.brevitas"
F32 = np.float32


# ============================================================================ building graphs

def init(name, value, dtype=None):
    a = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    return nh.from_array(a, name)


def value_info(name, shape, elem=TP.FLOAT):
    return oh.make_tensor_value_info(name, elem, shape)


def save_model(path, nodes, inputs, outputs, initializers, opset=13, domains=(QONNX, BREVITAS)):
    graph = oh.make_graph(nodes, "g", inputs, outputs, initializers)
    opsets = [oh.make_opsetid("", opset)] + [oh.make_opsetid(d, 1) for d in domains]
    model = oh.make_model(graph, opset_imports=opsets, producer_name="test_import_graphs")
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def quant_node(name, x, y, scale, zp, bits, signed=1, narrow=0, mode="ROUND", domain=QONNX):
    return oh.make_node("Quant", [x, scale, zp, bits], [y], name=name, domain=domain, signed=signed,
                        narrow=narrow, rounding_mode=mode)


def run_import(tmp_path, model, inputs, **kw):
    """import_model into tmp_path/t.trace; returns (ImportResult, Trace)."""
    out = tmp_path / "t.trace"
    result = import_model(model, inputs, out=out, **kw)
    trace = read_trace(out, validate=True)
    assert [layer["name"] for layer in trace.layers] == [r.name for r in result.layers]
    replay_verified(out, [r.name for r in result.layers])
    return result, trace


def replay_verified(trace_dir, names):
    if accsim is None:
        return
    report = accsim.audit(str(trace_dir), acc="64")
    assert [layer["name"] for layer in report["layers"]] == names
    for layer in report["layers"]:
        assert layer["output_verified"] is True, layer["name"]


def tensor(trace, layer, role):
    return np.asarray(trace.tensors[layer[role]["tensor"]]).astype(np.int64)


def scale_of(trace, layer, role):
    s = layer[role].get("scale")
    return np.asarray(trace.tensors[s] if isinstance(s, str) else s, dtype=np.float64)


def assert_declared(layer, role, codes, bits, signed, zero_point=0):
    """The operand's declaration, and every stored code inside it."""
    entry = layer[role]
    assert (entry["bits"], entry["signed"]) == (bits, signed), (role, entry)
    assert entry.get("zero_point", 0) == zero_point, (role, entry)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    assert codes.min() >= lo and codes.max() <= hi, (role, codes.min(), codes.max(), bits, signed)


# ============================================================================ slow references

def slow_linear(x, zx, w, bias=None):
    """x: [..., K] activation codes with zero point zx, w: [N, K] integer weights (already
    centred). out[..., n] = sum_k w[n, k] * (x[..., k] - zx) + bias[n]."""
    x = np.asarray(x)
    rows = x.reshape(-1, x.shape[-1]).tolist()
    w = np.asarray(w).tolist()
    out = []
    for row in rows:
        r = []
        for n, wn in enumerate(w):
            acc = 0
            for k, wk in enumerate(wn):
                acc += int(wk) * (int(row[k]) - zx)
            r.append(acc + (0 if bias is None else int(bias[n])))
        out.append(r)
    return np.array(out, dtype=np.int64).reshape(x.shape[:-1] + (len(w),))


def slow_conv2d(x, zx, w, stride, pads, dilation, groups, bias=None):
    """Grouped 2-D cross-correlation over codes: padded positions hold zx (real value 0), so they
    contribute nothing to sum w * (x - zx). pads: [top, left, bottom, right]."""
    x, w = np.asarray(x), np.asarray(w)
    b_n, c_in, h_in, w_in = x.shape
    c_out, cg, k_h, k_w = w.shape
    top, left, bottom, right = pads
    o_h = (h_in + top + bottom - dilation[0] * (k_h - 1) - 1) // stride[0] + 1
    o_w = (w_in + left + right - dilation[1] * (k_w - 1) - 1) // stride[1] + 1
    xl, wl = x.tolist(), w.tolist()
    per_group = c_out // groups
    out = np.zeros((b_n, c_out, o_h, o_w), dtype=np.int64)
    for b in range(b_n):
        for o in range(c_out):
            g = o // per_group
            for oh_ in range(o_h):
                for ow in range(o_w):
                    acc = 0
                    for c in range(cg):
                        for i in range(k_h):
                            hh = oh_ * stride[0] - top + i * dilation[0]
                            if not 0 <= hh < h_in:
                                continue
                            for j in range(k_w):
                                ww = ow * stride[1] - left + j * dilation[1]
                                if 0 <= ww < w_in:
                                    acc += wl[o][c][i][j] * (xl[b][g * cg + c][hh][ww] - zx)
                    out[b, o, oh_, ow] = acc + (0 if bias is None else int(bias[o]))
    return out


def slow_matmul(a, za, b, zb):
    """Batched [..., M, K] x [..., K, N] (same batch dims) of (a - za) and (b - zb)."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[:-2]
    a2 = a.reshape((-1,) + a.shape[-2:]).tolist()
    b2 = b.reshape((-1,) + b.shape[-2:]).tolist()
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    out = np.zeros((len(a2), m, n), dtype=np.int64)
    for t in range(len(a2)):
        for i in range(m):
            for j in range(n):
                out[t, i, j] = sum((a2[t][i][q] - za) * (b2[t][q][j] - zb) for q in range(k))
    return out.reshape(batch + (m, n))


def quant_codes(x, scale, zp, bits, signed, narrow=False, mode="ROUND"):
    """QONNX Quant's integer codes, element by element: v = float32(x / scale) + zp, clamped to
    the code range, rounded by ``mode``. ``scale``/``zp`` broadcast to x."""
    x = np.asarray(x, dtype=F32)
    s = np.broadcast_to(np.asarray(scale, dtype=F32), x.shape)
    z = np.broadcast_to(np.asarray(zp, dtype=F32), x.shape)
    if signed:
        lo, hi = -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    else:
        lo, hi = 0, (1 << bits) - 1 - int(narrow)
    out = np.zeros(x.shape, dtype=np.int64)
    for idx in np.ndindex(x.shape):
        v = Fraction(float(F32(x[idx]) / F32(s[idx]))) + Fraction(float(z[idx]))
        v = min(max(v, lo), hi)
        out[idx] = exact_round(v, mode)
    return out


def dequant(codes, scale, zp=0):
    """real = scale * (code - zp) in float32."""
    return ((np.asarray(codes, dtype=np.int64) - np.asarray(zp, dtype=np.int64)).astype(F32)
            * np.asarray(scale, dtype=F32)).astype(F32)


def quantize_linear(x, scale, zp, lo, hi):
    """ONNX QuantizeLinear per tensor, element by element (round half to even)."""
    x = np.asarray(x, dtype=F32)
    out = np.zeros(x.shape, dtype=np.int64)
    for idx in np.ndindex(x.shape):
        v = Fraction(float(F32(x[idx]) / F32(scale)))
        out[idx] = min(max(exact_round(v, "ROUND") + zp, lo), hi)
    return out


def float_conv2d(x, w, bias, stride, pads, dilation, groups):
    """Float cross-correlation (zero padding), accumulated in float64 from float32 operands."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    b_n, c_in, h_in, w_in = x.shape
    c_out, cg, k_h, k_w = w.shape
    top, left, bottom, right = pads
    xp = np.zeros((b_n, c_in, h_in + top + bottom, w_in + left + right))
    xp[:, :, top:top + h_in, left:left + w_in] = x
    o_h = (h_in + top + bottom - dilation[0] * (k_h - 1) - 1) // stride[0] + 1
    o_w = (w_in + left + right - dilation[1] * (k_w - 1) - 1) // stride[1] + 1
    out = np.zeros((b_n, c_out, o_h, o_w))
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for i in range(k_h):
            for j in range(k_w):
                for c in range(cg):
                    patch = xp[:, g * cg + c, i * dilation[0]:i * dilation[0] + stride[0] * (o_h - 1) + 1:stride[0],
                               j * dilation[1]:j * dilation[1] + stride[1] * (o_w - 1) + 1:stride[1]]
                    out[:, o] += w[o, c, i, j] * patch
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64).reshape(1, -1, 1, 1)
    return out


def assert_float_close(got, want):
    got = np.asarray(got)
    assert got.dtype == np.float32
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=2e-6, atol=1e-6)


def finn_brute_bits(w, lo, hi):
    """FINN's width by brute force: every input vector in [lo, hi]^K, the extremes over all
    channels, and FINN's rule (signed: ceil(log2(max(-min, max+1)))+1, else ceil(log2(max+1)))."""
    w = np.asarray(w, dtype=np.int64)
    xs = np.array(list(itertools.product(range(lo, hi + 1), repeat=w.shape[1])), dtype=np.int64)
    acc = xs @ w.T
    a_min, a_max = int(acc.min()), int(acc.max())
    if a_min < 0:
        return math.ceil(math.log2(max(-a_min, a_max + 1))) + 1, True
    return math.ceil(math.log2(a_max + 1)), False


def same_upper_pads(size, kernel, stride, dilation):
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - size)
    return total // 2, total - total // 2


# ============================================================================ ONNX QDQ

QDQ_CONVS = {
    # name: (x shape, weight shape, attrs, weight zero points (None: zero), bias kind)
    "strided": ((2, 3, 9, 10), (4, 3, 3, 3),
                dict(strides=[2, 2], pads=[1, 0, 2, 1], dilations=[2, 2], group=1), None, "int"),
    "grouped": ((1, 4, 7, 6), (6, 2, 3, 2),
                dict(strides=[1, 2], pads=[0, 1, 1, 0], dilations=[1, 2], group=2), [1, -2, 0, 3, -1, 2], "float"),
    "depthwise": ((2, 5, 6, 7), (5, 1, 3, 3),
                  dict(strides=[2, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=5), None, None),
    "same_upper": ((1, 2, 7, 8), (3, 2, 3, 3),
                   dict(strides=[2, 2], auto_pad="SAME_UPPER", dilations=[1, 2], group=1), None, "int"),
}


@pytest.mark.parametrize("case", sorted(QDQ_CONVS))
def test_qdq_conv2d(tmp_path, case):
    x_shape, w_shape, attrs, w_zps, bias_kind = QDQ_CONVS[case]
    rng = np.random.default_rng(list(QDQ_CONVS).index(case) + 1)
    c_out = w_shape[0]
    sx, zx = F32(0.03125), 37
    sw = (F32(2.0) ** -rng.integers(4, 9, c_out)).astype(F32)          # per channel, axis 0
    w_codes = rng.integers(-128, 128, w_shape).astype(np.int8)
    zw = np.zeros(c_out, np.int8) if w_zps is None else np.array(w_zps, np.int8)
    x = (rng.uniform(-1.2, 7.0, x_shape)).astype(F32)
    groups = attrs["group"]

    nodes = [oh.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="qx"),
             oh.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"], name="dqx"),
             oh.make_node("DequantizeLinear", ["W", "sw", "zw"], ["wd"], name="dqw", axis=0)]
    inits = [init("sx", sx), init("zx", np.uint8(zx)), init("W", w_codes), init("sw", sw), init("zw", zw)]
    conv_in = ["xd", "wd"]
    b_codes = b_float = None
    if bias_kind == "int":            # int32 bias at exactly the accumulator scale, dequantized
        b_codes = rng.integers(-5000, 5000, c_out).astype(np.int32)
        inits += [init("B", b_codes), init("sb", (sx * sw).astype(F32))]
        nodes.append(oh.make_node("DequantizeLinear", ["B", "sb"], ["bd"], name="dqb", axis=0))
        conv_in.append("bd")
    elif bias_kind == "float":
        b_float = rng.uniform(-1, 1, c_out).astype(F32)
        inits.append(init("Bf", b_float))
        conv_in.append("Bf")
    nodes.append(oh.make_node("Conv", conv_in, ["y"], name="conv", kernel_shape=list(w_shape[2:]), **attrs))
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", list(x_shape))],
                       [value_info("y", None)], inits)
    result, trace = run_import(tmp_path, model, [x])

    # geometry, including SAME_UPPER padding worked out here
    if attrs.get("auto_pad") == "SAME_UPPER":
        (t, b), (lft, r) = (same_upper_pads(x_shape[2 + d], w_shape[2 + d], attrs["strides"][d],
                                            attrs["dilations"][d]) for d in range(2))
        pads = [t, lft, b, r]
        assert pads != [0, 0, 0, 0]
    else:
        pads = attrs["pads"]
    layer = trace.layer("conv")
    assert layer["op"] == "conv2d"
    assert layer["conv2d"] == {"stride": attrs["strides"], "padding": pads, "dilation": attrs["dilations"],
                               "groups": groups}

    # operands: the activation's codes with its zero point, the weight centred on its own
    x_codes = quantize_linear(x, sx, zx, 0, 255)
    x_rec, w_rec = tensor(trace, layer, "input"), tensor(trace, layer, "weight")
    np.testing.assert_array_equal(x_rec, x_codes)
    assert_declared(layer, "input", x_rec, 8, False, zero_point=zx)
    w_centred = w_codes.astype(np.int64) - zw.astype(np.int64).reshape(-1, 1, 1, 1)
    np.testing.assert_array_equal(w_rec, w_centred)
    if w_zps is None:
        assert_declared(layer, "weight", w_rec, 8, True)
    else:   # [-128, 127] shifted by zero points in [-2, 3]: [-131, 129] needs 9 bits
        assert_declared(layer, "weight", w_rec, 9, True)
    assert layer["input"]["scale"] == pytest.approx(float(sx))
    np.testing.assert_array_equal(scale_of(trace, layer, "weight"), sw.astype(np.float64))

    # bias folding: -zx * sum(w') plus the integer bias; the float bias stays out
    int_bias = None if b_codes is None else b_codes.astype(np.int64)
    fold = -zx * w_centred.sum(axis=(1, 2, 3))
    np.testing.assert_array_equal(tensor(trace, layer, "bias"), fold + (0 if int_bias is None else int_bias))
    assert ("float_bias" in layer["meta"]) == (bias_kind == "float")

    # exact outputs against the slow reference
    want = slow_conv2d(x_codes, zx, w_centred, attrs["strides"], pads, attrs["dilations"], groups, int_bias)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), want)
    np.testing.assert_array_equal(result.layers[0].output, want)
    assert layer["meta"]["check"]["max_error_over_bound"] <= 1

    # the graph's float output against numpy float32 execution of the same ops
    xd = dequant(x_codes, sx, zx)
    wd = dequant(w_codes, sw.reshape(-1, 1, 1, 1), zw.reshape(-1, 1, 1, 1))
    bias = dequant(b_codes, sx * sw) if b_codes is not None else b_float
    assert_float_close(result.outputs["y"], float_conv2d(xd, wd, bias, attrs["strides"], pads,
                                                         attrs["dilations"], groups))


def test_qdq_conv1d(tmp_path):
    rng = np.random.default_rng(11)
    sx, zx = F32(0.0625), 200
    sw = np.array([0.25, 0.125, 0.0625, 0.5], F32)
    w_codes = rng.integers(-128, 128, (4, 3, 3)).astype(np.int8)
    x = rng.uniform(-12.0, 3.0, (2, 3, 11)).astype(F32)
    nodes = [oh.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
             oh.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
             oh.make_node("DequantizeLinear", ["W", "sw"], ["wd"], axis=0),
             oh.make_node("Conv", ["xd", "wd"], ["y"], name="conv1d", strides=[2], pads=[1, 2], dilations=[2])]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [2, 3, 11])], [value_info("y", None)],
                       [init("sx", sx), init("zx", np.uint8(zx)), init("W", w_codes), init("sw", sw)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("conv1d")
    assert layer["op"] == "conv2d" and "conv1d" in layer["meta"]
    assert layer["conv2d"] == {"stride": [1, 2], "padding": [0, 1, 0, 2], "dilation": [1, 2], "groups": 1}
    x_codes = quantize_linear(x, sx, zx, 0, 255)
    np.testing.assert_array_equal(tensor(trace, layer, "input"), x_codes[:, :, None, :])
    np.testing.assert_array_equal(tensor(trace, layer, "weight"), w_codes[:, :, None, :])
    assert_declared(layer, "input", x_codes, 8, False, zero_point=zx)
    want = slow_conv2d(x_codes[:, :, None, :], zx, w_codes[:, :, None, :], [1, 2], [0, 1, 0, 2], [1, 2], 1)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), want)
    np.testing.assert_array_equal(tensor(trace, layer, "bias"), -zx * w_codes.astype(np.int64).sum(axis=(1, 2)))
    wd = dequant(w_codes, sw.reshape(-1, 1, 1))
    ref = float_conv2d(dequant(x_codes, sx, zx)[:, :, None, :], wd[:, :, None, :], None, [1, 2],
                       [0, 1, 0, 2], [1, 2], 1)[:, :, 0, :]
    assert_float_close(result.outputs["y"], ref)


def test_qdq_gemm_transb_float_bias(tmp_path):
    rng = np.random.default_rng(12)
    sx, zx = F32(0.05), 100
    sw = np.array([0.02, 0.013, 0.007, 0.031], F32)
    w_codes = rng.integers(-128, 128, (4, 6)).astype(np.int8)         # [N, K]: transB = 1
    bias = rng.uniform(-2, 2, 4).astype(F32)
    x = rng.uniform(-5, 7.5, (3, 6)).astype(F32)
    nodes = [oh.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
             oh.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
             oh.make_node("DequantizeLinear", ["W", "sw", "zw"], ["wd"], axis=0),
             oh.make_node("Gemm", ["xd", "wd", "C"], ["y"], name="fc", transB=1)]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [3, 6])], [value_info("y", [3, 4])],
                       [init("sx", sx), init("zx", np.uint8(zx)), init("W", w_codes), init("sw", sw),
                        init("zw", np.zeros(4, np.int8)), init("C", bias)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    assert layer["op"] == "linear"
    x_codes = quantize_linear(x, sx, zx, 0, 255)
    np.testing.assert_array_equal(tensor(trace, layer, "input"), x_codes)
    np.testing.assert_array_equal(tensor(trace, layer, "weight"), w_codes)
    assert_declared(layer, "input", x_codes, 8, False, zero_point=zx)
    assert_declared(layer, "weight", w_codes.astype(np.int64), 8, True)
    np.testing.assert_array_equal(scale_of(trace, layer, "weight"), sw.astype(np.float64))
    assert "float_bias" in layer["meta"]
    fold = -zx * w_codes.astype(np.int64).sum(axis=1)
    np.testing.assert_array_equal(tensor(trace, layer, "bias"), fold)
    want = slow_linear(x_codes, zx, w_codes)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), want)
    assert layer["meta"]["check"]["max_error_over_bound"] <= 1
    assert layer["meta"]["finn_accumulator"].get("skipped")        # FINN has no input zero point
    ref = dequant(x_codes, sx, zx).astype(np.float64) @ dequant(w_codes, sw.reshape(-1, 1)).astype(np.float64).T
    assert_float_close(result.outputs["y"], ref + bias)


def test_qdq_matmul_activations(tmp_path):
    rng = np.random.default_rng(13)
    sa, za, sb, zb = F32(0.125), 7, F32(0.0625), -3
    a = rng.uniform(-0.8, 30, (2, 3, 5)).astype(F32)
    b = rng.uniform(-7.5, 7.5, (2, 5, 4)).astype(F32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    nodes = [oh.make_node("QuantizeLinear", ["a", "sa", "za"], ["aq"]),
             oh.make_node("DequantizeLinear", ["aq", "sa", "za"], ["ad"]),
             oh.make_node("QuantizeLinear", ["b", "sb", "zb"], ["bq"]),
             oh.make_node("DequantizeLinear", ["bq", "sb", "zb"], ["bd"]),
             oh.make_node("MatMul", ["ad", "bd"], ["y"], name="qk")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("a", [2, 3, 5]), value_info("b", [2, 5, 4])],
                       [value_info("y", None)],
                       [init("sa", sa), init("za", np.uint8(za)), init("sb", sb), init("zb", np.int8(zb))])
    result, trace = run_import(tmp_path, model, [f"a={tmp_path / 'a.npy'}", f"b={tmp_path / 'b.npy'}"])
    layer = trace.layer("qk")
    assert layer["op"] == "matmul"
    a_codes = quantize_linear(a, sa, za, 0, 255)
    b_codes = quantize_linear(b, sb, zb, -128, 127)
    lhs, rhs = tensor(trace, layer, "lhs"), tensor(trace, layer, "rhs")
    np.testing.assert_array_equal(lhs, a_codes - za)          # both centred: no per-row bias exists
    np.testing.assert_array_equal(rhs, b_codes - zb)
    assert_declared(layer, "lhs", lhs, 9, True)                # [0, 255] - 7 = [-7, 248]
    assert_declared(layer, "rhs", rhs, 9, True)                # [-128, 127] + 3 = [-125, 130]
    assert "bias" not in layer
    want = slow_matmul(a_codes, za, b_codes, zb)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), want)
    assert layer["meta"]["check"]["max_error_over_bound"] <= 1
    ref = dequant(a_codes, sa, za).astype(np.float64) @ dequant(b_codes, sb, zb).astype(np.float64)
    assert_float_close(result.outputs["y"], ref)


# ============================================================================ QONNX

@pytest.mark.parametrize("domain", [QONNX, BREVITAS])
def test_qonnx_linear_per_channel_narrow_4bit(tmp_path, domain):
    rng = np.random.default_rng(21)
    k, n = 6, 5
    sx = F32(0.25)
    sw = np.array([[0.5, 0.3, 0.125, 0.07, 1.1]], F32)                 # [1, N]: per output channel
    w = rng.uniform(-9, 9, (k, n)).astype(F32) * sw
    x = rng.uniform(-0.5, 2.2, (3, k)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "sx", "z0", "b3", signed=0, domain=domain),
             quant_node("qw", "W", "wq", "sw", "z0", "b4", signed=1, narrow=1, domain=domain),
             oh.make_node("MatMul", ["xq", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [3, k])], [value_info("y", [3, n])],
                       [init("sx", sx), init("z0", F32(0)), init("b3", F32(3)), init("b4", F32(4)),
                        init("sw", sw), init("W", w)], domains=(domain,))
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    assert layer["op"] == "linear"
    x_codes = quant_codes(x, sx, 0, 3, signed=False)
    w_codes = quant_codes(w, sw, 0, 4, signed=True, narrow=True)     # [K, N]
    assert w_codes.min() >= -7 and w_codes.max() <= 7 and (np.abs(w_codes) == 7).any()
    x_rec, w_rec = tensor(trace, layer, "input"), tensor(trace, layer, "weight")
    np.testing.assert_array_equal(x_rec, x_codes)
    np.testing.assert_array_equal(w_rec, w_codes.T)
    assert_declared(layer, "input", x_rec, 3, False)
    assert_declared(layer, "weight", w_rec, 4, True)
    np.testing.assert_array_equal(scale_of(trace, layer, "weight"), sw.reshape(-1).astype(np.float64))
    assert "bias" not in layer
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_linear(x_codes, 0, w_codes.T))
    ref = dequant(x_codes, sx).astype(np.float64) @ dequant(w_codes, sw).astype(np.float64)
    assert_float_close(result.outputs["y"], ref)


MODES = ["ROUND", "HALF_EVEN", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN"]
TIES = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.25, 0.75, 1.0, -3.75]
# QONNX's table for the values above (scale 1, zero point 0, signed 4-bit)
EXPECTED_CODES = {
    "ROUND":     [-2, -2, 0, 0, 2, 2, -1, 1, 1, -4],
    "HALF_EVEN": [-2, -2, 0, 0, 2, 2, -1, 1, 1, -4],
    "CEIL":      [-2, -1, 0, 1, 2, 3, -1, 1, 1, -3],
    "FLOOR":     [-3, -2, -1, 0, 1, 2, -2, 0, 1, -4],
    "UP":        [-3, -2, -1, 1, 2, 3, -2, 1, 1, -4],
    "DOWN":      [-2, -1, 0, 0, 1, 2, -1, 0, 1, -3],
    "HALF_UP":   [-3, -2, -1, 1, 2, 3, -1, 1, 1, -4],
    "HALF_DOWN": [-2, -1, 0, 0, 1, 2, -1, 1, 1, -4],
}


@pytest.mark.parametrize("mode", MODES)
def test_qonnx_rounding_modes(tmp_path, mode):
    x = np.array([TIES, TIES[::-1]], F32)
    w = np.array([[1, -2], [3, 0], [-1, 1], [2, 2], [0, -3], [1, 1], [-2, 0], [3, -1], [1, 2], [-1, -1]], F32)
    nodes = [quant_node("qx", "x", "xq", "one", "z0", "b4", mode=mode),
             quant_node("qw", "W", "wq", "one", "z0", "b4"),
             oh.make_node("MatMul", ["xq", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [2, 10])], [value_info("y", [2, 2])],
                       [init("one", F32(1)), init("z0", F32(0)), init("b4", F32(4)), init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    want_codes = np.array([EXPECTED_CODES[mode], EXPECTED_CODES[mode][::-1]])
    np.testing.assert_array_equal(quant_codes(x, 1, 0, 4, True, mode=mode), want_codes)  # the reference agrees
    np.testing.assert_array_equal(tensor(trace, layer, "input"), want_codes)
    want = slow_linear(want_codes, 0, w.T.astype(np.int64))
    np.testing.assert_array_equal(tensor(trace, layer, "output"), want)
    assert_float_close(result.outputs["y"], want.astype(np.float64))


def test_qonnx_weight_zero_point_widened(tmp_path):
    rng = np.random.default_rng(22)
    k, n = 5, 3
    sx, sw = F32(0.5), np.array([[0.25, 0.125, 0.5]], F32)
    zw = np.array([[3, 0, 12]], F32)                                    # per channel, unsigned 4-bit codes
    w = (rng.integers(0, 16, (k, n)).astype(F32) - zw) * sw
    w[0] = (np.array([0, 15, 0], F32) - zw[0]) * sw[0]                  # reach the extremes of the shift
    w[1] = (np.array([15, 0, 15], F32) - zw[0]) * sw[0]
    x = rng.uniform(-4, 3.5, (4, k)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "sx", "z0", "b4", signed=1),
             quant_node("qw", "W", "wq", "sw", "zw", "b4", signed=0),
             oh.make_node("MatMul", ["xq", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [4, k])], [value_info("y", [4, n])],
                       [init("sx", sx), init("sw", sw), init("zw", zw), init("z0", F32(0)), init("b4", F32(4)),
                        init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    w_codes = quant_codes(w, sw, zw, 4, signed=False)
    centred = (w_codes - zw.astype(np.int64)).T                         # [N, K]
    w_rec = tensor(trace, layer, "weight")
    np.testing.assert_array_equal(w_rec, centred)
    assert w_rec.min() == -12 and w_rec.max() == 15
    # [0, 15] minus zero points in [0, 12]: [-12, 15] needs a signed 5-bit declaration
    assert_declared(layer, "weight", w_rec, 5, True)
    x_codes = quant_codes(x, sx, 0, 4, signed=True)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_linear(x_codes, 0, centred))
    ref = dequant(x_codes, sx).astype(np.float64) @ dequant(w_codes, sw, zw).astype(np.float64)
    assert_float_close(result.outputs["y"], ref)


def test_qonnx_bipolar_operands(tmp_path):
    rng = np.random.default_rng(23)
    k, n = 4, 3
    x = rng.uniform(-1, 1, (5, k)).astype(F32)
    w = rng.uniform(-1, 1, (k, n)).astype(F32)
    sw = np.array([[0.5, 0.25, 1.5]], F32)
    nodes = [oh.make_node("BipolarQuant", ["x", "sx"], ["xq"], name="bx", domain=BREVITAS),
             oh.make_node("BipolarQuant", ["W", "sw"], ["wq"], name="bw", domain=QONNX),
             oh.make_node("MatMul", ["xq", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [5, k])], [value_info("y", [5, n])],
                       [init("sx", F32(0.5)), init("sw", sw), init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    x_codes = np.where(x >= 0, 1, -1)
    w_codes = np.where(w >= 0, 1, -1)
    x_rec, w_rec = tensor(trace, layer, "input"), tensor(trace, layer, "weight")
    np.testing.assert_array_equal(x_rec, x_codes)
    np.testing.assert_array_equal(w_rec, w_codes.T)
    assert_declared(layer, "input", x_rec, 2, True)
    assert_declared(layer, "weight", w_rec, 2, True)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_linear(x_codes, 0, w_codes.T))
    finn = layer["meta"]["finn_accumulator"]
    assert (finn["bits"], finn["signed"]) == finn_brute_bits(w_codes.T, -1, 1)
    ref = (x_codes * 0.5) @ (w_codes * sw.astype(np.float64))
    assert_float_close(result.outputs["y"], ref)


def test_qonnx_signed_1bit_quant_is_bipolar(tmp_path):
    """A signed 1-bit Quant emits +-1 (qonnx's bipolar rule): recorded like BipolarQuant."""
    x = np.array([[0.5, -2.0, 3.0], [-0.1, 0.0, 1.0]], F32)
    w = np.array([[1, -1], [-1, 1], [1, 1]], F32)
    nodes = [quant_node("qx", "x", "xq", "one", "z0", "b1", signed=1),
             quant_node("qw", "W", "wq", "one", "z0", "b2", signed=1),
             oh.make_node("MatMul", ["xq", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [2, 3])], [value_info("y", [2, 2])],
                       [init("one", F32(1)), init("z0", F32(0)), init("b1", F32(1)), init("b2", F32(2)),
                        init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    x_codes = np.where(x >= 0, 1, -1)
    np.testing.assert_array_equal(tensor(trace, layer, "input"), x_codes)
    assert_declared(layer, "input", tensor(trace, layer, "input"), 2, True)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_linear(x_codes, 0, w.T.astype(int)))
    finn = layer["meta"]["finn_accumulator"]                  # FINN types a signed 1-bit Quant BIPOLAR
    assert (finn["bits"], finn["signed"]) == finn_brute_bits(w.T.astype(int), -1, 1)


def test_qonnx_quant_through_maxpool_resize_into_conv(tmp_path):
    rng = np.random.default_rng(24)
    sx = F32(0.5)
    sw = np.array([0.25, 0.5, 0.125], F32).reshape(3, 1, 1, 1)
    w = (rng.integers(-7, 8, (3, 2, 3, 3)).astype(F32) * sw).astype(F32)
    x = rng.uniform(-0.3, 4.0, (1, 2, 6, 6)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "sx", "z0", "b3", signed=0, domain=BREVITAS),
             oh.make_node("MaxPool", ["xq"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             oh.make_node("Resize", ["p", "", "scales"], ["r"], name="up", mode="nearest"),
             quant_node("qw", "W", "wq", "sw", "z0", "b4", signed=1, narrow=1, domain=BREVITAS),
             oh.make_node("Conv", ["r", "wq"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [1, 2, 6, 6])], [value_info("y", None)],
                       [init("sx", sx), init("z0", F32(0)), init("b3", F32(3)), init("b4", F32(4)), init("sw", sw),
                        init("W", w), init("scales", np.array([1, 1, 2, 2], F32))], domains=(BREVITAS,))
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("conv")
    codes = quant_codes(x, sx, 0, 3, signed=False)
    pooled = np.zeros((1, 2, 3, 3), np.int64)
    for c, i, j in itertools.product(range(2), range(3), range(3)):
        pooled[0, c, i, j] = max(codes[0, c, 2 * i + di, 2 * j + dj] for di in range(2) for dj in range(2))
    upsampled = np.zeros((1, 2, 6, 6), np.int64)
    for c, i, j in itertools.product(range(2), range(6), range(6)):
        upsampled[0, c, i, j] = pooled[0, c, i // 2, j // 2]
    x_rec = tensor(trace, layer, "input")
    np.testing.assert_array_equal(x_rec, upsampled)
    assert_declared(layer, "input", x_rec, 3, False)
    assert layer["input"]["scale"] == 0.5
    w_codes = quant_codes(w, sw, 0, 4, True, narrow=True)
    np.testing.assert_array_equal(tensor(trace, layer, "weight"), w_codes)
    want = slow_conv2d(upsampled, 0, w_codes, [1, 1], [1, 1, 1, 1], [1, 1], 1)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), want)
    ref = float_conv2d(dequant(upsampled, sx), dequant(w_codes, sw), None, [1, 1], [1, 1, 1, 1], [1, 1], 1)
    assert_float_close(result.outputs["y"], ref)


def test_qonnx_quant_through_transpose_reshape_into_matmul(tmp_path):
    rng = np.random.default_rng(25)
    sx, sw = F32(0.25), np.array([[0.5, 0.25, 0.125, 1.0, 0.5]], F32)
    w = (rng.integers(-8, 8, (4, 5)).astype(F32) * sw).astype(F32)
    x = rng.uniform(-2.2, 2.2, (2, 4, 3)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "sx", "z0", "b4", signed=1),
             oh.make_node("Transpose", ["xq"], ["t"], name="tr", perm=[0, 2, 1]),
             oh.make_node("Reshape", ["t", "shape"], ["r"], name="rs"),
             quant_node("qw", "W", "wq", "sw", "z0", "b4", signed=1),
             oh.make_node("MatMul", ["r", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [2, 4, 3])], [value_info("y", [6, 5])],
                       [init("sx", sx), init("z0", F32(0)), init("b4", F32(4)), init("sw", sw), init("W", w),
                        init("shape", np.array([6, 4], np.int64))])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    codes = quant_codes(x, sx, 0, 4, True)
    moved = np.zeros((6, 4), np.int64)
    for b, i, j in itertools.product(range(2), range(3), range(4)):
        moved[b * 3 + i, j] = codes[b, j, i]
    np.testing.assert_array_equal(tensor(trace, layer, "input"), moved)
    w_codes = quant_codes(w, sw, 0, 4, True)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_linear(moved, 0, w_codes.T))
    assert_float_close(result.outputs["y"], dequant(moved, sx).astype(np.float64) @ dequant(w_codes, sw))


@pytest.mark.parametrize("factor", [0.25, 0.3])
def test_qonnx_mul_by_positive_scalar_carries_scale(tmp_path, factor):
    rng = np.random.default_rng(26)
    sx = F32(0.5)
    w = rng.integers(-8, 8, (4, 3)).astype(F32)
    x = rng.uniform(-4, 4, (3, 4)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "sx", "z0", "b4"),
             oh.make_node("Mul", ["xq", "f"], ["m"], name="mul"),
             quant_node("qw", "W", "wq", "one", "z0", "b4"),
             oh.make_node("MatMul", ["m", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [3, 4])], [value_info("y", [3, 3])],
                       [init("sx", sx), init("z0", F32(0)), init("b4", F32(4)), init("one", F32(1)),
                        init("f", F32(factor)), init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    codes = quant_codes(x, sx, 0, 4, True)
    np.testing.assert_array_equal(tensor(trace, layer, "input"), codes)
    assert layer["input"]["scale"] == pytest.approx(0.5 * float(F32(factor)), rel=1e-7)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_linear(codes, 0, w.T.astype(int)))
    assert layer["meta"]["check"]["max_error_over_bound"] <= 1
    m = (dequant(codes, sx) * F32(factor)).astype(F32)
    assert_float_close(result.outputs["y"], m.astype(np.float64) @ w.astype(np.float64))


def test_qonnx_mul_by_broadcasting_scalar_then_transpose(tmp_path):
    rng = np.random.default_rng(28)
    w = rng.integers(-7, 8, (4, 3)).astype(F32)
    x = rng.uniform(-2, 2, (3, 4)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "sx", "z0", "b4"),
             oh.make_node("Mul", ["xq", "f"], ["m"], name="mul"),                  # [3, 4] * [1, 1, 1]
             oh.make_node("Transpose", ["m"], ["t"], name="tr", perm=[1, 0, 2]),   # [3, 1, 4]
             quant_node("qw", "W", "wq", "one", "z0", "b4"),
             oh.make_node("MatMul", ["t", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [3, 4])], [value_info("y", [3, 1, 3])],
                       [init("sx", F32(0.25)), init("z0", F32(0)), init("b4", F32(4)), init("one", F32(1)),
                        init("f", np.full((1, 1, 1), 0.5, F32)), init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    codes = quant_codes(x, 0.25, 0, 4, True)
    np.testing.assert_array_equal(tensor(trace, layer, "input"), codes[:, None, :])
    assert layer["input"]["scale"] == 0.125
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_linear(codes[:, None, :], 0, w.T.astype(int)))


@pytest.mark.parametrize("bias_kind,sw", [
    ("int", [0.5, 0.125, 0.25, 0.0625]),
    pytest.param("int", [0.5, 0.125, 0.3, 0.07], id="int-rounded-scales"),
    ("float", [0.5, 0.125, 0.3, 0.07]),
])
def test_qonnx_gemm_bias(tmp_path, bias_kind, sw):
    rng = np.random.default_rng(27)
    k, n = 5, 4
    sx = F32(0.25)
    sw = np.array(sw, F32)
    w = (rng.integers(-7, 8, (n, k)).astype(F32) * sw.reshape(-1, 1)).astype(F32)     # [N, K]
    acc_scale = (sx * sw).astype(F32)                                                  # exact: sx = 2^-2
    b_codes = rng.integers(-3000, 3000, n)
    b_float = (b_codes * acc_scale).astype(F32) if bias_kind == "int" else rng.uniform(-3, 3, n).astype(F32)
    x = rng.uniform(-2, 1.8, (3, k)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "sx", "z0", "b4"),
             quant_node("qw", "W", "wq", "swc", "z0", "b4", narrow=1)]
    inits = [init("sx", sx), init("z0", F32(0)), init("b4", F32(4)), init("swc", sw.reshape(-1, 1)),
             init("W", w), init("C", b_float)]
    if bias_kind == "int":
        nodes.append(quant_node("qb", "C", "cq", "sb", "z0", "b32"))
        inits += [init("sb", acc_scale), init("b32", F32(32))]
    nodes.append(oh.make_node("Gemm", ["xq", "wq", "cq" if bias_kind == "int" else "C"], ["y"], name="fc",
                              transB=1))
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [3, k])], [value_info("y", [3, n])], inits)
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    x_codes = quant_codes(x, sx, 0, 4, True)
    w_codes = quant_codes(w, sw.reshape(-1, 1), 0, 4, True, narrow=True)
    np.testing.assert_array_equal(tensor(trace, layer, "weight"), w_codes)
    if bias_kind == "int":
        np.testing.assert_array_equal(tensor(trace, layer, "bias"), b_codes)
        assert "float_bias" not in layer["meta"]
        want = slow_linear(x_codes, 0, w_codes, b_codes)
    else:
        assert "bias" not in layer
        assert "float_bias" in layer["meta"]
        want = slow_linear(x_codes, 0, w_codes)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), want)
    assert layer["meta"]["check"]["max_error_over_bound"] <= 1
    ref = dequant(x_codes, sx).astype(np.float64) @ dequant(w_codes, sw.reshape(-1, 1)).astype(np.float64).T
    assert_float_close(result.outputs["y"], ref + b_float)


# ============================================================================ left out, with notes

def test_left_out_float_first_layer(tmp_path):
    rng = np.random.default_rng(31)
    w1 = rng.integers(-4, 4, (4, 3)).astype(F32)
    w2 = rng.integers(-4, 4, (3, 2)).astype(F32)
    x = rng.uniform(-1, 1, (2, 4)).astype(F32)
    nodes = [quant_node("qw1", "W1", "w1q", "one", "z0", "b4"),
             oh.make_node("MatMul", ["x", "w1q"], ["h"], name="fc1"),
             oh.make_node("Relu", ["h"], ["hr"], name="relu"),
             quant_node("qh", "hr", "hq", "sh", "z0", "b4", signed=0),
             quant_node("qw2", "W2", "w2q", "one", "z0", "b4"),
             oh.make_node("MatMul", ["hq", "w2q"], ["y"], name="fc2")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [2, 4])], [value_info("y", [2, 2])],
                       [init("one", F32(1)), init("z0", F32(0)), init("b4", F32(4)), init("sh", F32(0.125)),
                        init("W1", w1), init("W2", w2)])
    result, trace = run_import(tmp_path, model, [x])
    assert [layer["name"] for layer in trace.layers] == ["fc2"]
    assert len(result.notes) == 1
    note = result.notes[0]
    assert '"fc1"' in note and "left out" in note and '"x"' in note and "does not come from a quantizer" in note
    assert trace.manifest["meta"]["left_out"] == result.notes
    h = np.maximum(x.astype(np.float64) @ w1, 0).astype(F32)
    h_codes = quant_codes(h, 0.125, 0, 4, False)
    np.testing.assert_array_equal(tensor(trace, trace.layer("fc2"), "input"), h_codes)
    np.testing.assert_array_equal(tensor(trace, trace.layer("fc2"), "output"),
                                  slow_linear(h_codes, 0, w2.T.astype(int)))
    assert_float_close(result.outputs["y"], dequant(h_codes, 0.125).astype(np.float64) @ w2)


def test_left_out_weight_scale_along_k(tmp_path):
    rng = np.random.default_rng(32)
    s_k = np.array([[0.5], [0.25], [1.0], [0.125]], F32)                # [K, 1]: varies along K
    w1 = (rng.integers(-7, 8, (4, 3)).astype(F32) * s_k).astype(F32)
    w2 = rng.integers(-7, 8, (4, 2)).astype(F32)
    x = rng.uniform(-2, 2, (3, 4)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "sx", "z0", "b4"),
             quant_node("qw1", "W1", "w1q", "sk", "z0", "b4"),
             oh.make_node("MatMul", ["xq", "w1q"], ["y1"], name="fc_k"),
             quant_node("qw2", "W2", "w2q", "one", "z0", "b4"),
             oh.make_node("MatMul", ["xq", "w2q"], ["y2"], name="fc_ok")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [3, 4])],
                       [value_info("y1", [3, 3]), value_info("y2", [3, 2])],
                       [init("sx", F32(0.25)), init("z0", F32(0)), init("b4", F32(4)), init("one", F32(1)),
                        init("sk", s_k), init("W1", w1), init("W2", w2)])
    result, trace = run_import(tmp_path, model, [x])
    assert [layer["name"] for layer in trace.layers] == ["fc_ok"]
    assert len(result.notes) == 1 and '"fc_k"' in result.notes[0] and "varies along the dot product" in result.notes[0]
    x_codes = quant_codes(x, 0.25, 0, 4, True)
    w1_codes = quant_codes(w1, s_k, 0, 4, True)
    assert_float_close(result.outputs["y1"], dequant(x_codes, 0.25).astype(np.float64) @ dequant(w1_codes, s_k))
    np.testing.assert_array_equal(tensor(trace, trace.layer("fc_ok"), "output"),
                                  slow_linear(x_codes, 0, w2.T.astype(int)))


def test_left_out_1d_operand(tmp_path):
    rng = np.random.default_rng(33)
    v = rng.uniform(-2, 2, (4,)).astype(F32)
    m = rng.uniform(-2, 2, (4, 3)).astype(F32)
    w = rng.integers(-7, 8, (3, 2)).astype(F32)
    np.save(tmp_path / "v.npy", v)
    np.save(tmp_path / "m.npy", m)
    nodes = [quant_node("qv", "v", "vq", "s", "z0", "b4"),
             quant_node("qm", "m", "mq", "s", "z0", "b4"),
             oh.make_node("MatMul", ["vq", "mq"], ["y1"], name="vec_mat"),          # [K] x [K, N]: 1-D
             quant_node("qw", "W", "wq", "one", "z0", "b4"),
             oh.make_node("MatMul", ["mq", "wq"], ["y2"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("v", [4]), value_info("m", [4, 3])],
                       [value_info("y1", [3]), value_info("y2", [4, 2])],
                       [init("s", F32(0.25)), init("z0", F32(0)), init("b4", F32(4)), init("one", F32(1)),
                        init("W", w)])
    result, trace = run_import(tmp_path, model, [f"v={tmp_path / 'v.npy'}", f"m={tmp_path / 'm.npy'}"])
    assert [layer["name"] for layer in trace.layers] == ["fc"]
    assert len(result.notes) == 1 and '"vec_mat"' in result.notes[0] and "1-D operand" in result.notes[0]
    v_codes, m_codes = quant_codes(v, 0.25, 0, 4, True), quant_codes(m, 0.25, 0, 4, True)
    assert_float_close(result.outputs["y1"], dequant(v_codes, 0.25).astype(np.float64) @ dequant(m_codes, 0.25))
    np.testing.assert_array_equal(tensor(trace, trace.layer("fc"), "output"),
                                  slow_linear(m_codes, 0, w.T.astype(int)))


# ============================================================================ selection and batches

def _two_layer_model(tmp_path, k=4, h=3, n=2, batch=1):
    rng = np.random.default_rng(41)
    w1 = rng.integers(-7, 8, (k, h)).astype(F32)
    w2 = rng.integers(-7, 8, (h, n)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "s", "z0", "b4"),
             quant_node("qw1", "W1", "w1q", "one", "z0", "b4"),
             oh.make_node("MatMul", ["xq", "w1q"], ["h"], name="fc1"),
             quant_node("qh", "h", "hq", "sh", "z0", "b4", signed=0),
             quant_node("qw2", "W2", "w2q", "one", "z0", "b4"),
             oh.make_node("MatMul", ["hq", "w2q"], ["y"], name="fc2")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [batch, k])], [value_info("y", None)],
                       [init("s", F32(0.25)), init("sh", F32(0.5)), init("z0", F32(0)), init("b4", F32(4)),
                        init("one", F32(1)), init("W1", w1), init("W2", w2)])
    return model, w1, w2


def test_layers_regex_selects(tmp_path):
    model, w1, w2 = _two_layer_model(tmp_path)
    x = np.array([[0.5, -1.0, 1.75, 0.25]], F32)
    result, trace = run_import(tmp_path, model, [x], layers="^fc2$")
    assert [r.name for r in result.layers] == ["fc2"]
    assert [layer["name"] for layer in trace.layers] == ["fc2"]
    x_codes = quant_codes(x, 0.25, 0, 4, True)
    h = dequant(x_codes, 0.25).astype(np.float64) @ w1
    h_codes = quant_codes(h.astype(F32), 0.5, 0, 4, False)
    np.testing.assert_array_equal(tensor(trace, trace.layer("fc2"), "input"), h_codes)
    np.testing.assert_array_equal(tensor(trace, trace.layer("fc2"), "output"),
                                  slow_linear(h_codes, 0, w2.T.astype(int)))
    (tmp_path / "t2").mkdir()
    r1, t1 = run_import(tmp_path / "t2", model, [x], layers="fc1")
    assert [layer["name"] for layer in t1.layers] == ["fc1"]


def test_batch_of_arrays_stacked(tmp_path):
    model, w1, w2 = _two_layer_model(tmp_path)
    rows = [np.array([[0.5, -1.0, 1.75, 0.25]], F32), np.array([[-2.0, 0.0, 0.75, 1.0]], F32),
            np.array([[1.25, 1.5, -0.5, -1.75]], F32)]
    paths = []
    for i, r in enumerate(rows):
        paths.append(tmp_path / f"x{i}.npy")
        np.save(paths[-1], r)
    result, trace = run_import(tmp_path, model, rows)
    x_codes = quant_codes(np.concatenate(rows), 0.25, 0, 4, True)
    layer = trace.layer("fc1")
    np.testing.assert_array_equal(tensor(trace, layer, "input"), x_codes)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_linear(x_codes, 0, w1.T.astype(int)))
    assert result.outputs["y"].shape == (3, 2)
    (tmp_path / "files").mkdir()
    r2, t2 = run_import(tmp_path / "files", model, paths)               # the same batch from .npy files
    np.testing.assert_array_equal(tensor(t2, t2.layer("fc1"), "input"), x_codes)
    np.testing.assert_array_equal(r2.outputs["y"], result.outputs["y"])


# ============================================================================ FINN width and the check

@pytest.mark.parametrize("bits,signed", [(2, False), (3, False), (3, True), (2, True)])
def test_finn_width_brute_force(tmp_path, bits, signed):
    rng = np.random.default_rng(51 + bits + 10 * signed)
    k, n = 4, 5
    w = rng.integers(-4, 4, (k, n)).astype(F32)
    w[:, 0] = 3                                             # one all-positive and one all-negative channel
    w[:, 1] = -4
    x = rng.uniform(-3, 8, (6, k)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "one", "z0", "bx", signed=int(signed)),
             quant_node("qw", "W", "wq", "one", "z0", "b3"),
             oh.make_node("MatMul", ["xq", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [6, k])], [value_info("y", [6, n])],
                       [init("one", F32(1)), init("z0", F32(0)), init("bx", F32(bits)), init("b3", F32(3)),
                        init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    meta = trace.layer("fc")["meta"]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    want_bits, want_signed = finn_brute_bits(w.T.astype(np.int64), lo, hi)
    assert meta["finn_accumulator"]["bits"] == want_bits
    assert meta["finn_accumulator"]["signed"] == want_signed
    assert result.layers[0].meta["finn_accumulator"]["bits"] == want_bits
    check = meta["check"]
    assert isinstance(check, dict) and 0 <= check["max_error_over_bound"] <= 1
    assert check["max_abs_error"] >= 0


def test_finn_width_conv(tmp_path):
    rng = np.random.default_rng(55)
    w = rng.integers(-3, 4, (3, 2, 1, 2)).astype(F32)                  # K = 4
    x = rng.uniform(0, 3, (1, 2, 3, 3)).astype(F32)
    nodes = [quant_node("qx", "x", "xq", "one", "z0", "b2", signed=0),
             quant_node("qw", "W", "wq", "one", "z0", "b3"),
             oh.make_node("Conv", ["xq", "wq"], ["y"], name="conv")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [1, 2, 3, 3])], [value_info("y", None)],
                       [init("one", F32(1)), init("z0", F32(0)), init("b2", F32(2)), init("b3", F32(3)),
                        init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    meta = trace.layer("conv")["meta"]
    assert (meta["finn_accumulator"]["bits"], meta["finn_accumulator"]["signed"]) == \
        finn_brute_bits(w.reshape(3, -1).astype(np.int64), 0, 3)
    assert meta["check"]["max_error_over_bound"] <= 1


# ============================================================================ exhaustive 2-bit x 2-bit

def test_exhaustive_2bit_linear(tmp_path):
    """Every signed 2-bit input vector (K = 3) against every signed 2-bit weight vector."""
    combos = np.array(list(itertools.product(range(-2, 2), repeat=3)), np.int64)     # 64 x 3
    x = (combos * 0.5).astype(F32)                                                    # [64, K]
    w = (combos.T * 0.25).astype(F32)                                                 # [K, N = 64]
    nodes = [quant_node("qx", "x", "xq", "sx", "z0", "b2"),
             quant_node("qw", "W", "wq", "sw", "z0", "b2"),
             oh.make_node("MatMul", ["xq", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [64, 3])], [value_info("y", [64, 64])],
                       [init("sx", F32(0.5)), init("sw", F32(0.25)), init("z0", F32(0)), init("b2", F32(2)),
                        init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("fc")
    np.testing.assert_array_equal(tensor(trace, layer, "input"), combos)
    np.testing.assert_array_equal(tensor(trace, layer, "weight"), combos)
    assert_declared(layer, "input", combos, 2, True)
    assert_declared(layer, "weight", combos, 2, True)
    want = slow_linear(combos, 0, combos)
    assert (want.min(), want.max()) == (-6, 12)                                     # the full product range
    np.testing.assert_array_equal(tensor(trace, layer, "output"), want)
    assert_float_close(result.outputs["y"], want * 0.125)


def test_exhaustive_2bit_conv_zero_point_padding(tmp_path):
    """Every unsigned 2-bit 2x2 input (zero point 1, so padding holds code 1) against every signed
    2-bit 2x2 kernel, with padding on two sides."""
    combos_x = np.array(list(itertools.product(range(0, 4), repeat=4)), np.int64)     # 256
    combos_w = np.array(list(itertools.product(range(-2, 2), repeat=4)), np.int64)    # 256
    x_codes = combos_x.reshape(256, 1, 2, 2)
    w_codes = combos_w.reshape(256, 1, 2, 2)
    x = ((x_codes - 1) * 0.5).astype(F32)
    w = (w_codes * 0.25).astype(F32)
    pads = [1, 0, 0, 1]
    nodes = [quant_node("qx", "x", "xq", "sx", "z1", "b2", signed=0),
             quant_node("qw", "W", "wq", "sw", "z0", "b2"),
             oh.make_node("Conv", ["xq", "wq"], ["y"], name="conv", pads=pads)]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [256, 1, 2, 2])], [value_info("y", None)],
                       [init("sx", F32(0.5)), init("sw", F32(0.25)), init("z0", F32(0)), init("z1", F32(1)),
                        init("b2", F32(2)), init("W", w)])
    result, trace = run_import(tmp_path, model, [x])
    layer = trace.layer("conv")
    np.testing.assert_array_equal(tensor(trace, layer, "input"), x_codes)
    np.testing.assert_array_equal(tensor(trace, layer, "weight"), w_codes)
    assert_declared(layer, "input", x_codes, 2, False, zero_point=1)
    assert layer["conv2d"]["padding"] == pads
    np.testing.assert_array_equal(tensor(trace, layer, "bias"), -w_codes.sum(axis=(1, 2, 3)))
    want = slow_conv2d(x_codes, 1, w_codes, [1, 1], pads, [1, 1], 1)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), want)
    assert_float_close(result.outputs["y"], want * 0.125)


# ---------------------------------------------------------------------------- after review

def _qdq_act(name, x, scale, zp_value, dtype=np.uint8):
    """QuantizeLinear -> DequantizeLinear of an activation; returns (nodes, initializers)."""
    return ([oh.make_node("QuantizeLinear", [x, f"{name}_s", f"{name}_z"], [f"{name}_q"], name=f"{name}_ql"),
             oh.make_node("DequantizeLinear", [f"{name}_q", f"{name}_s", f"{name}_z"], [f"{name}_d"],
                          name=f"{name}_dl")],
            [init(f"{name}_s", np.float32(scale)), init(f"{name}_z", np.asarray(zp_value, dtype))])


def test_gemm_with_an_activation_as_b_is_a_matmul(tmp_path):
    rng = np.random.default_rng(41)
    na, ia = _qdq_act("a", "A", 0.5, 10)
    nb, ib = _qdq_act("b", "B", 0.25, 3)
    nodes = na + nb + [oh.make_node("Gemm", ["a_d", "b_d"], ["y"], name="gemm", transB=1)]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("A", [3, 5]), value_info("B", [4, 5])],
                       [value_info("y", [3, 4])], ia + ib)
    a = rng.uniform(-4, 60, (3, 5)).astype(np.float32)
    b = rng.uniform(-0.5, 30, (4, 5)).astype(np.float32)
    result, trace = run_import(tmp_path, model, [f"A={_npy(tmp_path, 'a', a)}", f"B={_npy(tmp_path, 'b', b)}"])
    layer = trace.layer("gemm")
    assert layer["op"] == "matmul"   # no static weights: no weight-dependent bounds or FINN width
    ca = np.clip(np.rint(a / 0.5) + 10, 0, 255).astype(np.int64)
    cb = np.clip(np.rint(b / 0.25) + 3, 0, 255).astype(np.int64)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_matmul(ca, 10, cb.T, 3))


def test_gemm_row_c_is_not_a_channel_bias(tmp_path):
    """C of shape [M, 1] with M == N adds per row: it stays a float bias."""
    nodes = [quant_node("qa", "A", "aq", "one", "z0", "b4"), quant_node("qw", "W", "wq", "one", "z0", "b4"),
             quant_node("qc", "C", "cq", "one", "z0", "b32"),
             oh.make_node("Gemm", ["aq", "wq", "cq"], ["y"], name="gemm")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("A", [2, 3])], [value_info("y", [2, 2])],
                       [init("one", np.float32(1)), init("z0", np.float32(0)), init("b4", np.float32(4)),
                        init("b32", np.float32(32)), init("W", np.array([[1, 2], [3, -4], [0, 1]], np.float32)),
                        init("C", np.array([[100], [-100]], np.float32))])
    a = np.array([[1, 2, 3], [-1, 0, 2]], np.float32)
    result, trace = run_import(tmp_path, model, [a])
    layer = trace.layer("gemm")
    assert "bias" not in layer and "float_bias" in layer["meta"]
    np.testing.assert_array_equal(result.outputs["y"], a @ np.array([[1, 2], [3, -4], [0, 1]]) + [[100], [-100]])


def test_concat_of_signed_and_unsigned_codes_is_declared_wide_enough(tmp_path):
    nu, iu = _qdq_act("u", "U", 1.0, 0, np.uint8)
    ns, is_ = _qdq_act("s", "S", 1.0, 0, np.int8)
    nodes = nu + ns + [oh.make_node("Concat", ["u_d", "s_d"], ["c"], name="cat", axis=1),
                       quant_node("qw", "W", "wq", "one", "z0", "b4"),
                       oh.make_node("MatMul", ["c", "wq"], ["y"], name="mm")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("U", [1, 2]), value_info("S", [1, 2])],
                       [value_info("y", [1, 1])], iu + is_ + [init("one", np.float32(1)), init("z0", np.float32(0)),
                                                              init("b4", np.float32(4)),
                                                              init("W", np.ones((4, 1), np.float32))])
    u, s = np.array([[240, 3]], np.float32), np.array([[-100, 7]], np.float32)
    result, trace = run_import(tmp_path, model, [f"U={_npy(tmp_path, 'u', u)}", f"S={_npy(tmp_path, 's', s)}"])
    layer = trace.layer("mm")
    assert (layer["input"]["bits"], layer["input"]["signed"]) == (9, True)
    assert layer["input"]["range"] == [-128, 255]


def test_fp8_layers_keep_their_exact_result_in_the_loop():
    from accsim_import.importer import evaluate_in_loop
    folder = os.path.join(ROOT, "tools", "nets", "qonnx", "floatquant_exec")
    r = evaluate_in_loop(os.path.join(folder, "qonnx_act_weight_fp8.onnx"),
                         [os.path.join(folder, "test_data", "input.npy")], ["8"])
    assert r["points"][0]["exact_fp8_layers"] == ["/Gemm"] and r["points"][0]["max_abs_diff"] == 0.0


def test_repeated_node_names_get_unique_layer_names(tmp_path):
    nodes = [quant_node("qx", "x", "xq", "one", "z0", "b4"), quant_node("qw", "W", "wq", "one", "z0", "b4"),
             oh.make_node("MatMul", ["xq", "wq"], ["h"], name="fc"),
             quant_node("qh", "h", "hq", "one", "z0", "b8"),
             oh.make_node("MatMul", ["hq", "wq2"], ["y"], name="fc"),
             quant_node("qw2", "W2", "wq2", "one", "z0", "b4")]
    nodes = nodes[:4] + [nodes[5], nodes[4]]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("x", [1, 2])], [value_info("y", [1, 2])],
                       [init("one", np.float32(1)), init("z0", np.float32(0)), init("b4", np.float32(4)),
                        init("b8", np.float32(8)), init("W", np.eye(2, dtype=np.float32)),
                        init("W2", np.eye(2, dtype=np.float32))])
    result, trace = run_import(tmp_path, model, [np.array([[1, 2]], np.float32)])
    assert [r.name for r in result.layers] == ["fc", "fc_2"]


def _npy(tmp_path, name, array):
    path = tmp_path / f"{name}.npy"
    np.save(path, array)
    return str(path)


def test_matrix_times_constant_vector_is_a_one_channel_linear(tmp_path):
    rng = np.random.default_rng(52)
    m = rng.uniform(-2, 2, (3, 5)).astype(F32)
    v = rng.integers(-7, 8, (5,)).astype(F32)
    nodes = [quant_node("qm", "m", "mq", "s", "z0", "b4"), quant_node("qv", "V", "vq", "one", "z0", "b4"),
             oh.make_node("MatMul", ["mq", "vq"], ["y"], name="mat_vec")]
    model = save_model(tmp_path / "m.onnx", nodes, [value_info("m", [3, 5])], [value_info("y", [3])],
                       [init("s", F32(0.25)), init("z0", F32(0)), init("b4", F32(4)), init("one", F32(1)),
                        init("V", v)])
    result, trace = run_import(tmp_path, model, [m])
    layer = trace.layer("mat_vec")
    assert layer["op"] == "linear" and tensor(trace, layer, "weight").shape == (1, 5)
    codes = quant_codes(m, 0.25, 0, 4, True)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), slow_linear(codes, 0, v[None, :].astype(int)))
    assert result.outputs["y"].shape == (3,)
    assert_float_close(result.outputs["y"], dequant(codes, 0.25).astype(np.float64) @ v)


def test_qlinearmatmul_per_row_a_and_per_column_b(tmp_path):
    """ONNX allows a's scale and zero point per row and b's per column: the layer multiplies the
    shifted codes, and the output is requantized row by row, column by column."""
    rng = np.random.default_rng(53)
    a = rng.integers(0, 256, (3, 4)).astype(np.uint8)
    b = rng.integers(0, 256, (4, 2)).astype(np.uint8)
    a_s, a_z = np.array([0.02, 0.05, 0.1], F32), np.array([120, 128, 3], np.uint8)
    b_s, b_z = np.array([0.03, 0.01], F32), np.array([100, 7], np.uint8)
    y_s, y_z = F32(0.5), np.uint8(128)
    node = oh.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"], name="qmm")
    model = save_model(tmp_path / "m.onnx", [node], [value_info("a", [3, 4], TP.UINT8), value_info("b", [4, 2], TP.UINT8)],
                       [value_info("y", [3, 2], TP.UINT8)],
                       [init("as", a_s), init("az", a_z), init("bs", b_s), init("bz", b_z), init("ys", y_s),
                        init("yz", y_z)])
    result, trace = run_import(tmp_path, model, [f"a={_npy(tmp_path, 'a', a)}", f"b={_npy(tmp_path, 'b', b)}"])
    layer = trace.layer("qmm")
    acc = slow_matmul(a.astype(np.int64) - a_z[:, None], 0, b.astype(np.int64) - b_z[None, :], 0)
    np.testing.assert_array_equal(tensor(trace, layer, "output"), acc)
    real = acc * (a_s[:, None].astype(np.float64) * b_s[None, :] / y_s) + 128
    want = np.rint(np.clip(real, 0, 255)).astype(np.uint8)
    assert np.abs(result.outputs["y"].astype(int) - want.astype(int)).max() <= 1  # float32 vs float64 ties
