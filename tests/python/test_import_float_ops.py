"""accsim_import.float_ops: the float ONNX ops, checked against ONNX's own node test data (every
single-node test under /usr/share/libonnx-testdata/data/node whose op the module registers), against
PyTorch for the pooling and resizing modes exported networks use, and on the forms of opsets 7..12
that the node data (mostly opset 13+) lacks.

    /usr/bin/python3 -m pytest -q tests/python/test_import_float_ops.py
"""
import glob
import os
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from accsim_import.float_ops import FLOAT_OPS, MOVEMENT_OPS, moves_values  # noqa: E402
from accsim_import.node import ImportInputError, Node  # noqa: E402

try:
    import onnx
    from onnx import numpy_helper
except ImportError:  # the checks against ONNX's test data are skipped; the rest still run
    onnx = None
try:
    import torch
    F = torch.nn.functional
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

TEST_DATA = "/usr/share/libonnx-testdata/data"
# ONNX's node tests (mostly opset 13+, one op each, some "_expanded" into several), and the models
# PyTorch exported at opset 6..12 (the attribute forms: Pad, Clip, Slice, Split, Softmax's 2-D axis).
SUITES = ("node", "pytorch-converted", "pytorch-operator", "simple")

# Element types the ops take (TensorProto numbers): not STRING (8), BFLOAT16 (16), complex, or 0 (a
# sequence/optional input).
NUMERIC = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13}

# Tests that need what the module deliberately does differently, with the reason.
SKIP = {
    "node/test_resize_downsample_scales_linear_align_corners":
        "ONNX 1.12's reference takes align_corners' length_resized as scale*length (2.4); the spec and "
        "ONNX Runtime use the integer output length (2), which the module follows",
    "node/test_resize_downsample_scales_cubic_align_corners":
        "same fractional length_resized (3.2 for 3) in ONNX 1.12's reference; ORT and the module use 3",
}


def _load(path):
    proto = onnx.TensorProto()
    with open(path, "rb") as f:
        proto.ParseFromString(f.read())
    return numpy_helper.to_array(proto)


def _default_opset(model):
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _cases():
    """(suite/name, op types) of every test model whose nodes are all registered default-domain ops
    and whose inputs and outputs are numeric tensors."""
    cases = []
    for suite in SUITES:
        for d in sorted(glob.glob(os.path.join(TEST_DATA, suite, "test_*"))):
            if not os.path.exists(os.path.join(d, "test_data_set_0")):
                continue
            model = onnx.load(os.path.join(d, "model.onnx"))
            nodes = model.graph.node
            if not nodes or any(n.op_type not in FLOAT_OPS or n.domain not in ("", "ai.onnx") for n in nodes):
                continue
            values = list(model.graph.input) + list(model.graph.output)
            if not all(v.type.HasField("tensor_type") and v.type.tensor_type.elem_type in NUMERIC
                       for v in values):
                continue
            cases.append((f"{suite}/{os.path.basename(d)}", tuple(n.op_type for n in nodes)))
    return cases


CASES = _cases() if onnx is not None and os.path.isdir(TEST_DATA) else []


def _run_case(name):
    """Run the model's nodes in order (ONNX stores them topologically sorted) on test_data_set_0 and
    compare with its outputs: exactly where only values move or the output is not float, else within
    rtol 1e-5 / atol 1e-6 (a few float32 ulps)."""
    d = os.path.join(TEST_DATA, name)
    model = onnx.load(os.path.join(d, "model.onnx"))
    opset = _default_opset(model)
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    data = os.path.join(d, "test_data_set_0")
    fed = [v for v in model.graph.input if v.name not in values]
    for i, v in enumerate(fed):
        values[v.name] = _load(os.path.join(data, f"input_{i}.pb"))
    exact = True
    for index, proto in enumerate(model.graph.node):
        node = Node.from_proto(proto, index)
        node.attrs["_opset"] = opset
        inputs = [values[n] if n else None for n in proto.input]
        outputs = FLOAT_OPS[proto.op_type](node, inputs)
        assert len(outputs) >= len([n for n in proto.output if n])
        exact = exact and moves_values(node, inputs)
        values.update((n, o) for n, o in zip(proto.output, outputs) if n)
    for i, v in enumerate(model.graph.output):
        want = _load(os.path.join(data, f"output_{i}.pb"))
        got = values[v.name]
        assert got.dtype == want.dtype, f"{v.name}: dtype {got.dtype}, want {want.dtype}"
        assert got.shape == want.shape, f"{v.name}: shape {got.shape}, want {want.shape}"
        if exact or not np.issubdtype(want.dtype, np.floating):
            np.testing.assert_array_equal(got, want, err_msg=v.name)
        else:
            np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64),
                                       rtol=1e-5, atol=1e-6, err_msg=v.name)


@pytest.mark.skipif(not CASES, reason=f"no onnx module or no ONNX test data at {TEST_DATA}")
@pytest.mark.parametrize("name", [n for n, _ in CASES])
def test_onnx_test_data(name):
    if name in SKIP:
        pytest.skip(SKIP[name])
    _run_case(name)


@pytest.mark.skipif(not CASES, reason=f"no onnx module or no ONNX test data at {TEST_DATA}")
def test_every_op_has_a_passing_single_node_test():
    covered = {ops[0] for name, ops in CASES if name.startswith("node/") and len(ops) == 1 and name not in SKIP}
    assert sorted(set(FLOAT_OPS) - covered) == []
    assert set(SKIP) <= {n for n, _ in CASES}  # the skip list names real, selected tests


# ------------------------------------------------------------------------------ helpers for the rest

def run(op, inputs, opset=17, outputs=1, **attrs):
    node = Node("n", op, "", [f"i{k}" if a is not None else "" for k, a in enumerate(inputs)],
                [f"o{k}" for k in range(outputs)], dict(attrs, _opset=opset))
    return FLOAT_OPS[op](node, inputs)


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ----------------------------------------------------------------------------- against PyTorch

@needs_torch
@pytest.mark.parametrize("ceil_mode", [0, 1])
@pytest.mark.parametrize("kernel,stride,pad,dilation", [(3, 2, 1, 1), (2, 2, 0, 1), (3, 2, 0, 2), (3, 3, 1, 1)])
def test_pools_match_pytorch(kernel, stride, pad, dilation, ceil_mode):
    x = rnd(2, 3, 9, 8)
    attrs = dict(kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4, ceil_mode=ceil_mode)
    want = F.max_pool2d(torch.from_numpy(x), kernel, stride, pad, dilation, ceil_mode=bool(ceil_mode)).numpy()
    got = run("MaxPool", [x], dilations=[dilation, dilation], **attrs)[0]
    np.testing.assert_array_equal(got, want)
    if dilation == 1:
        for include in (0, 1):
            want = F.avg_pool2d(torch.from_numpy(x), kernel, stride, pad, ceil_mode=bool(ceil_mode),
                                count_include_pad=bool(include)).numpy()
            got = run("AveragePool", [x], count_include_pad=include, **attrs)[0]
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@needs_torch
def test_maxpool_indices_match_pytorch():
    x = rnd(2, 3, 7, 6)
    want, want_idx = F.max_pool2d(torch.from_numpy(x), 3, 2, 1, return_indices=True)
    y, idx = run("MaxPool", [x], outputs=2, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    np.testing.assert_array_equal(y, want.numpy())
    # PyTorch's indices are per (n, c) plane; ONNX's are over the whole tensor
    plane = (np.arange(6) * 42).reshape(2, 3, 1, 1)
    np.testing.assert_array_equal(idx, want_idx.numpy() + plane)


@needs_torch
@pytest.mark.parametrize("size", [(8, 10), (3, 5), (4, 4)])
@pytest.mark.parametrize("mode", ["linear-half", "linear-pytorch", "linear-corners", "nearest", "cubic-half",
                                  "cubic-corners"])
def test_resize_matches_pytorch(mode, size):
    x = rnd(1, 2, 4, 5)
    t = torch.from_numpy(x)
    sizes = np.array([1, 2, *size], dtype=np.int64)
    if mode == "nearest":  # PyTorch's nearest: asymmetric, floor
        want = F.interpolate(t, size=size, mode="nearest")
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:
        kind, ctm = mode.split("-")
        want = F.interpolate(t, size=size, mode="bilinear" if kind == "linear" else "bicubic",
                             align_corners=ctm == "corners")
        ctm = {"half": "half_pixel", "pytorch": "pytorch_half_pixel", "corners": "align_corners"}[ctm]
        attrs = dict(mode=kind, coordinate_transformation_mode=ctm)
    got = run("Resize", [x, None, None, sizes], opset=13, **attrs)[0]
    assert got.dtype == np.float32
    # cubic: 16 float32 products summed in another order than PyTorch's, on values up to ~3
    atol = 1e-5 if mode.startswith("cubic") else 1e-6
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=atol)


@needs_torch
def test_resize_scales_match_pytorch_upsample():
    x = rnd(1, 2, 3, 4)
    want = F.interpolate(torch.from_numpy(x), scale_factor=2, mode="bilinear", align_corners=False).numpy()
    scales = np.array([1, 1, 2, 2], dtype=np.float32)
    got = run("Resize", [x, np.zeros(0, np.float32), scales], opset=11, mode="linear")[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space_matches_pixel_shuffle(mode):
    x = rnd(2, 12, 3, 4)
    y = run("DepthToSpace", [x], blocksize=2, mode=mode)[0]
    if mode == "CRD":  # PyTorch's pixel_shuffle is CRD
        np.testing.assert_array_equal(y, F.pixel_shuffle(torch.from_numpy(x), 2).numpy())
    back = run("SpaceToDepth", [y], blocksize=2)[0]
    if mode == "DCR":  # SpaceToDepth inverts DCR
        np.testing.assert_array_equal(back, x)


# ------------------------------------------------------------------------ forms before opset 13

def test_softmax_before_13_coerces_to_2d():
    x = rnd(2, 3, 4)
    flat = x.reshape(2, 12)
    want = np.exp(flat - flat.max(1, keepdims=True))
    want = (want / want.sum(1, keepdims=True)).reshape(x.shape)
    np.testing.assert_allclose(run("Softmax", [x], opset=11)[0], want, rtol=1e-5, atol=1e-7)
    log = run("LogSoftmax", [x], opset=11)[0]
    np.testing.assert_allclose(log, np.log(want), rtol=1e-5, atol=1e-6)
    # opset 13: axis -1 only
    last = np.exp(x - x.max(-1, keepdims=True))
    np.testing.assert_allclose(run("Softmax", [x], opset=13)[0], last / last.sum(-1, keepdims=True),
                               rtol=1e-5, atol=1e-7)


def test_attribute_forms_of_older_opsets():
    x = rnd(2, 1, 3)
    assert run("Unsqueeze", [x], opset=11, axes=[0, -1])[0].shape == (1, 2, 1, 3, 1)
    assert run("Squeeze", [x], opset=11, axes=[1])[0].shape == (2, 3)
    assert run("Squeeze", [x], opset=13)[0].shape == (2, 3)
    np.testing.assert_array_equal(run("Clip", [x], opset=6, min=-0.5, max=0.5)[0], np.clip(x, -0.5, 0.5))
    np.testing.assert_array_equal(run("Clip", [x, None, np.float32(0.25)], opset=12)[0], np.minimum(x, 0.25))
    padded = run("Pad", [x], opset=2, pads=[0, 0, 1, 0, 0, 2], value=1.5)[0]
    np.testing.assert_array_equal(padded, np.pad(x, [(0, 0), (0, 0), (1, 2)], constant_values=1.5))
    np.testing.assert_array_equal(run("Slice", [x], opset=9, starts=[1], ends=[100], axes=[2])[0], x[:, :, 1:])
    parts = run("Split", [x], opset=11, outputs=2, axis=2, split=[1, 2])
    np.testing.assert_array_equal(parts[1], x[:, :, 1:])
    np.testing.assert_array_equal(run("ReduceSum", [x], opset=11, axes=[2], keepdims=0)[0],
                                  x.sum(2, dtype=np.float32))
    np.testing.assert_array_equal(run("ReduceMean", [x], opset=17, axes=[0])[0], x.mean(0, keepdims=True))
    up = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    want = up.repeat(2, axis=2).repeat(3, axis=3)
    np.testing.assert_array_equal(run("Upsample", [up], opset=7, scales=[1.0, 1.0, 2.0, 3.0])[0], want)
    np.testing.assert_array_equal(
        run("Resize", [up, np.array([1, 1, 2, 3], np.float32)], opset=10, mode="nearest")[0], want)
    assert run("Constant", [], value_floats=[1.0, 2.0])[0].dtype == np.float32
    assert run("Constant", [], value_int=3)[0].dtype == np.int64


def test_batchnorm_is_computed_in_float32():
    x = rnd(2, 3, 4, 4)
    s, b, m = rnd(3, seed=1), rnd(3, seed=2), rnd(3, seed=3)
    v = np.abs(rnd(3, seed=4))
    y = run("BatchNormalization", [x, s, b, m, v], opset=9, epsilon=1e-3)[0]
    c = (1, 3, 1, 1)
    # ONNX Runtime's CPU kernel: one float32 scale and shift per channel
    mul = s.reshape(c) / np.sqrt(v.reshape(c) + np.float32(1e-3))
    want = x * mul + (b.reshape(c) - m.reshape(c) * mul)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, want)


def test_integer_div_truncates_and_keeps_dtypes():
    a = np.array([7, -7, 7, -7, 6], dtype=np.int32)
    b = np.array([2, 2, -2, -2, 3], dtype=np.int32)
    q = run("Div", [a, b])[0]
    assert q.dtype == np.int32 and q.tolist() == [3, -3, -3, 3, 2]
    assert run("Relu", [np.float16([-1, 2])])[0].dtype == np.float16
    assert run("Cast", [np.float32([1.7, -1.7])], to=7)[0].tolist() == [1, -1]


# ---------------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("op,inputs,attrs,message", [
    ("Reshape", [np.zeros((2, 3), np.float32), np.array([4, -1])], {},
     "shape: cannot reshape [2, 3] (6 values) to [4, -1]"),
    ("Reshape", [np.zeros((2, 3), np.float32), np.array([-1, -1])], {}, "shape: [-1, -1]: more than one -1"),
    ("Concat", [np.zeros((2, 3), np.float32), np.zeros((3, 3), np.float32)], {"axis": 1},
     "inputs: shapes [2, 3], [3, 3] differ outside axis 1"),
    ("Concat", [np.zeros(2, np.float32), np.zeros(2, np.int64)], {"axis": 0}, "inputs must share one type"),
    ("Resize", [np.zeros((1, 1, 2, 2), np.float32), None, np.ones(4, np.float32)], {"mode": "area"},
     'mode: "area" is not nearest, linear or cubic'),
    ("Resize", [np.zeros((1, 1, 2, 2), np.float32), None, np.ones(3, np.float32)], {},
     "scales: [1.0, 1.0, 1.0] has 3 values for 4 axes"),
    ("Resize", [np.zeros((1, 1, 2, 2), np.float32)], {}, "exactly one of scales"),
    ("Transpose", [np.zeros((2, 3), np.float32)], {"perm": [0, 0]}, "perm: [0, 0] is not a permutation"),
    ("Gather", [np.zeros((2, 3), np.float32), np.array([0, 3])], {"axis": 1}, "indices: values 0..3 are out of range"),
    ("Add", [np.zeros((2, 3), np.float32), np.zeros((4,), np.float32)], {}, "shapes [2, 3], [4] do not broadcast"),
    ("Split", [np.zeros((5,), np.float32), np.array([2, 2])], {}, "split: [2, 2] does not add up to the size 5"),
    ("Squeeze", [np.zeros((2, 3), np.float32), np.array([1])], {}, "axes: axis 1 of shape [2, 3] is not 1"),
    ("MaxPool", [np.zeros((1, 1, 2, 2), np.float32)], {"kernel_shape": [3, 3]},
     "kernel_shape: window 3 is larger than the padded input dim 2"),
    ("MaxPool", [np.zeros((1, 1, 4, 4), np.float32)], {"kernel_shape": [2]}, "kernel_shape: [2] does not fit"),
    ("Cast", [np.zeros(2, np.float32)], {"to": 16}, "to: 16 (BFLOAT16) is not a supported type"),
    ("Div", [np.array([1], np.int64), np.array([0], np.int64)], {}, "B: integer division by zero"),
    ("Flatten", [np.zeros((2, 3), np.float32)], {"axis": 3}, "axis: 3 is out of range"),
    ("Unsqueeze", [np.zeros((2, 3), np.float32)], {}, "axes: required"),
    ("Expand", [np.zeros((2, 3), np.float32), np.array([4, 3])], {}, "shape: [4, 3] does not broadcast"),
    ("DepthToSpace", [np.zeros((1, 6, 2, 2), np.float32)], {"blocksize": 2}, "blocksize: 2: the 6 channels"),
    ("Pad", [np.zeros((2, 3), np.float32), np.array([1, 1])], {}, "pads: [1, 1]: need 4 values"),
])
def test_bad_input_names_node_and_field(op, inputs, attrs, message):
    with pytest.raises(ImportInputError) as err:
        run(op, inputs, **attrs)
    assert 'node "n" (' + op in str(err.value)
    assert message in str(err.value)


def test_missing_required_attribute_and_input():
    with pytest.raises(ImportInputError, match="blocksize: required attribute missing"):
        run("SpaceToDepth", [np.zeros((1, 1, 2, 2), np.float32)])
    with pytest.raises(ImportInputError, match="B: input 1 is required"):
        run("Mul", [np.zeros(2, np.float32)])


# ------------------------------------------------------------------------------ the movement rule

def test_moves_values():
    def node(op, inputs=("x",), **attrs):
        return Node("n", op, "", list(inputs), ["y"], attrs)

    for op in ("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "DepthToSpace",
               "SpaceToDepth", "Slice", "Gather", "Concat", "Split", "MaxPool", "GlobalMaxPool"):
        assert op in MOVEMENT_OPS and moves_values(node(op))
    for op in ("Add", "Relu", "AveragePool", "Clip", "Cast", "BatchNormalization", "Softmax"):
        assert not moves_values(node(op))
    assert moves_values(node("Resize"))  # nearest by default
    assert moves_values(node("Upsample", mode="nearest"))
    assert not moves_values(node("Resize", mode="linear"))
    assert not moves_values(node("Resize", coordinate_transformation_mode="tf_crop_and_resize",
                                 extrapolation_value=1.0))
    assert moves_values(node("Pad", mode="edge"))
    assert moves_values(node("Pad", ("x", "pads")))
    assert moves_values(node("Pad", value=0.0))
    assert not moves_values(node("Pad", value=1.0))
    three = node("Pad", ("x", "pads", "c"))
    assert not moves_values(three)  # the constant is not known
    assert moves_values(three, [None, None, np.float32(0)])
    assert not moves_values(three, [None, None, np.float32(2)])
    assert not moves_values(Node("n", "Transpose", "qonnx.custom_op.general", ["x"], ["y"], {}))
