#!/usr/bin/python3
"""Checks of traces/python/accsim_trace.py: reference math, safetensors, writer, CLI.

Run with Debian's Python (it has numpy):  /usr/bin/python3 tests/unit/test_accsim_trace_py.py
No pytest needed: every function named test_* runs; the exit status is 0 when all pass.
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import pytest

import numpy as np


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULE = os.path.join(ROOT, "traces", "python", "accsim_trace.py")
sys.path.insert(0, os.path.dirname(MODULE))
import accsim_trace as at  # noqa: E402


def raises(fn, *words):
    """Assert fn() raises ValueError whose message contains every word."""
    try:
        fn()
    except ValueError as exc:
        for word in words:
            assert word in str(exc), f"{word!r} not in error message {str(exc)!r}"
        return str(exc)
    raise AssertionError(f"no ValueError (expected one mentioning {words})")


# ---------------------------------------------------------------- reference math


def naive_conv2d(x, w, bias, stride, padding, dilation, groups, pad_value):
    """Direct nested-loop conv2d, Python integers: the definition in FORMAT.md."""
    batch, c_in, height, width = x.shape
    c_out, c_group, k_h, k_w = w.shape
    (s_h, s_w), (d_h, d_w) = stride, dilation
    top, left, bottom, right = padding
    o_h = (height + top + bottom - d_h * (k_h - 1) - 1) // s_h + 1
    o_w = (width + left + right - d_w * (k_w - 1) - 1) // s_w + 1
    per_group = c_out // groups
    y = np.zeros((batch, c_out, o_h, o_w), dtype=object)
    for b in range(batch):
        for co in range(c_out):
            g = co // per_group
            for oh in range(o_h):
                for ow in range(o_w):
                    acc = 0
                    for c in range(c_group):
                        for i in range(k_h):
                            for j in range(k_w):
                                h = oh * s_h + i * d_h - top
                                v = ow * s_w + j * d_w - left
                                inside = 0 <= h < height and 0 <= v < width
                                xv = int(x[b, g * c_group + c, h, v]) if inside else pad_value
                                acc += int(w[co, c, i, j]) * xv
                    y[b, co, oh, ow] = acc + (int(bias[co]) if bias is not None else 0)
    return y


def test_ref_conv2d_matches_nested_loops():
    rng = np.random.default_rng(7)
    cases = [
        # (B, C_in, H, W, C_out, groups, kH, kW, stride, padding[t,l,b,r], dilation, pad_value)
        (1, 3, 8, 8, 4, 1, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 0),
        (2, 4, 9, 7, 6, 2, 3, 2, (2, 1), (0, 2, 1, 0), (1, 2), 5),
        (1, 6, 10, 10, 6, 6, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 0),  # depthwise
        (1, 4, 11, 9, 8, 4, 3, 3, (1, 2), (2, 0, 3, 1), (2, 2), 3),  # depthwise x2, dilated
        (2, 8, 6, 6, 4, 2, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 0),  # pointwise, grouped
        (1, 2, 5, 5, 3, 1, 5, 5, (3, 3), (2, 2, 2, 2), (1, 1), 200),
        (1, 3, 7, 12, 2, 1, 2, 4, (1, 3), (0, 0, 1, 1), (3, 1), 17),
    ]
    for k in range(6):  # plus random cases
        groups = int(rng.choice([1, 2, 3]))
        c_in, c_out = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
        k_h, k_w = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dil = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pad = tuple(int(v) for v in rng.integers(0, 3, 4))
        height = dil[0] * (k_h - 1) + 1 + int(rng.integers(0, 6))
        width = dil[1] * (k_w - 1) + 1 + int(rng.integers(0, 6))
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        cases.append((int(rng.integers(1, 3)), c_in, height, width, c_out, groups, k_h, k_w, stride, pad, dil,
                      int(rng.integers(0, 256))))
    for (b, c_in, h, w_, c_out, groups, k_h, k_w, stride, pad, dil, zp) in cases:
        x = rng.integers(0, 256, (b, c_in, h, w_))
        w = rng.integers(-128, 128, (c_out, c_in // groups, k_h, k_w))
        bias = rng.integers(-1000, 1000, c_out)
        got = at.ref_conv2d(x, w, bias, stride=list(stride), padding=list(pad), dilation=list(dil),
                            groups=groups, pad_value=zp)
        want = naive_conv2d(x, w, bias, stride, pad, dil, groups, zp)
        assert got.dtype == np.int64
        assert got.shape == want.shape, (got.shape, want.shape)
        assert np.array_equal(got, want.astype(np.int64)), f"mismatch for case {stride, pad, dil, groups}"
    # padding shorthands: int and [h, w]
    x = rng.integers(0, 16, (1, 2, 5, 6))
    w = rng.integers(-8, 8, (3, 2, 3, 3))
    assert np.array_equal(at.ref_conv2d(x, w, padding=1), at.ref_conv2d(x, w, padding=[1, 1, 1, 1]))
    assert np.array_equal(at.ref_conv2d(x, w, padding=[2, 1]), at.ref_conv2d(x, w, padding=[2, 1, 2, 1]))


def test_ref_conv2d_is_exact_beyond_float53():
    # 16-bit x 16-bit products over a long K exceed 2^53 only in int64; check one exactly.
    x = np.full((1, 64, 4, 4), -32768)
    w = np.full((1, 64, 4, 4), -32768)
    y = at.ref_conv2d(x, w, bias=np.array([(1 << 40) + 1]))
    assert int(y[0, 0, 0, 0]) == 64 * 16 * (1 << 30) + (1 << 40) + 1


def test_ref_linear_and_matmul_match_loops():
    rng = np.random.default_rng(11)
    x = rng.integers(-8, 8, (2, 3, 5))
    w = rng.integers(0, 16, (4, 5))
    bias = rng.integers(-50, 50, 4)
    y = at.ref_linear(x, w, bias)
    assert y.shape == (2, 3, 4)
    for idx in np.ndindex(2, 3, 4):
        assert y[idx] == sum(int(w[idx[2], i]) * int(x[idx[0], idx[1], i]) for i in range(5)) + bias[idx[2]]
    assert at.ref_linear(x[0, 0], w).shape == (4,)  # a 1-D input is one row

    lhs = rng.integers(-128, 128, (2, 3, 4, 5))
    rhs = rng.integers(0, 256, (1, 3, 5, 6))
    bias = rng.integers(-9, 9, 6)
    y = at.ref_matmul(lhs, rhs, bias)
    assert y.shape == (2, 3, 4, 6)
    for b, h, m, n in np.ndindex(*y.shape):
        want = sum(int(lhs[b, h, m, k]) * int(rhs[0, h, k, n]) for k in range(5)) + int(bias[n])
        assert y[b, h, m, n] == want
    assert at.ref_matmul(rng.integers(0, 9, (4, 5)), rng.integers(0, 9, (3, 5, 2))).shape == (3, 4, 2)
    raises(lambda: at.ref_matmul(np.zeros((2, 4, 5)), np.zeros((3, 5, 6))), "broadcast")
    raises(lambda: at.ref_linear(np.zeros((2, 4)), np.zeros((3, 5))), "in = 5")


# ---------------------------------------------------------------- safetensors


def test_safetensors_round_trip_all_dtypes():
    rng = np.random.default_rng(3)
    tensors = {
        "a": rng.integers(-128, 128, (3, 4)).astype(np.int8),
        "b": rng.integers(0, 256, (5,)).astype(np.uint8),
        "c": rng.integers(-30000, 30000, (2, 2, 2)).astype(np.int16),
        "d": rng.integers(0, 65536, (7,)).astype(np.uint16),
        "e": np.array([-(1 << 31), (1 << 31) - 1], dtype=np.int32),
        "f": np.array([-(1 << 63), (1 << 63) - 1], dtype=np.int64),
        "g": np.array([0.5, 1e-30, 3.25], dtype=np.float32),
        "h": np.array([1.0, -0.5, 65504.0], dtype=np.float16),
        "i": np.array([1.0 / 3, -2.0 ** -1074, 1e308]),
        "j": at.float_tensor(np.arange(256).reshape(16, 16), "e4m3"),
        "k": at.float_tensor([0, 0x7c, 0xff], "e5m2"),
        "l": at.float_tensor([0x3f80, 0xff80, 0x0001], "bf16"),
        "scalar": np.array(7, dtype=np.int32),
        "empty": np.zeros((0, 3), dtype=np.int16),
        "big_endian": np.array([1, -2, 300], dtype=">i2"),
    }
    blob = at.encode_safetensors(tensors, {"who": "test"})
    n = int.from_bytes(blob[:8], "little")
    assert n % 8 == 0 and blob[8 + n - 1 : 8 + n] in (b" ", b"}")
    back, meta = at.parse_safetensors(blob, with_metadata=True)
    assert meta == {"who": "test"}
    assert list(sorted(back)) == sorted(tensors)
    for name, a in tensors.items():
        assert back[name].shape == a.shape, name
        assert at.safetensors_dtype(back[name]) == at.safetensors_dtype(a), name
        assert np.array_equal(back[name], a), name
    # every tensor is aligned to its item size (widest first, header padded to 8)
    header = json.loads(blob[8 : 8 + n])
    for name, entry in header.items():
        if name != "__metadata__":
            assert entry["data_offsets"][0] % at.SAFETENSORS_DTYPES[entry["dtype"]].itemsize == 0
    assert [at.safetensors_dtype(back[n]) for n in "hijkl"] == ["F16", "F64", "F8_E4M3", "F8_E5M2", "BF16"]
    assert at.codes_of(back["j"]).reshape(-1).tolist() == list(range(256))
    raises(lambda: at.encode_safetensors({"x": np.zeros(2, np.complex64)}), "x", "complex64")
    raises(lambda: at.encode_safetensors({"x": np.zeros(2, np.uint32)}), "x", "uint32")
    raises(lambda: at.encode_safetensors({"x": np.zeros(2, bool)}), "x")


def _blob(header: dict, data: bytes, pad: bool = True) -> bytes:
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data


def test_safetensors_rejects_malformed_files():
    ok = {"t": {"dtype": "I16", "shape": [2], "data_offsets": [0, 4]}}
    assert at.parse_safetensors(_blob(ok, b"\x01\x00\xff\xff"))["t"].tolist() == [1, -1]
    raises(lambda: at.parse_safetensors(b"\x01\x00"), "too short")
    raises(lambda: at.parse_safetensors((1000).to_bytes(8, "little") + b"{}"), "runs past")
    raises(lambda: at.parse_safetensors(_blob({"t": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}},
                                              bytes(2))), "'t'", "BOOL")
    raises(lambda: at.parse_safetensors(_blob({"t": {"dtype": "U32", "shape": [1], "data_offsets": [0, 4]}},
                                              bytes(4))), "'t'", "U32")
    raises(lambda: at.parse_safetensors(_blob({"t": {"dtype": "I32", "shape": [2], "data_offsets": [0, 4]}},
                                              bytes(4))), "'t'", "needs 8")
    raises(lambda: at.parse_safetensors(_blob({"t": {"dtype": "I8", "shape": [8], "data_offsets": [0, 8]}},
                                              bytes(4))), "outside the data section")
    raises(lambda: at.parse_safetensors(_blob({"t": {"dtype": "I8", "shape": [4], "data_offsets": [0, 4]},
                                               "u": {"dtype": "I8", "shape": [4], "data_offsets": [2, 6]}},
                                              bytes(8))), "overlap")
    raises(lambda: at.parse_safetensors(_blob({"t": {"dtype": "I8", "shape": [1], "data_offsets": [0, 1],
                                                     "dtpye": "I8"}}, bytes(1))), "unknown key")
    raises(lambda: at.parse_safetensors(_blob({"t": {"dtype": "I8", "shape": [-1], "data_offsets": [0, 1]}},
                                              bytes(1))), "shape")
    dup = b'{"t":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}'
    raises(lambda: at.parse_safetensors(len(dup).to_bytes(8, "little") + dup + b"\x00"), "duplicate")


# ---------------------------------------------------------------- writer


def test_writer_checks_ranges_and_picks_dtypes():
    with tempfile.TemporaryDirectory() as tmp:
        w = at.TraceWriter(os.path.join(tmp, "t.trace"), model="m")
        raises(lambda: w.linear("fc", [[256, 0]], [[1, 1]], input_bits=8, input_signed=False,
                                weight_bits=8, weight_signed=True), "fc.input", "256", "(0, 0)")
        raises(lambda: w.linear("fc", [[0, 1]], [[1, -1]], input_bits=8, input_signed=False,
                                weight_bits=1, weight_signed=False), "fc.weight", "-1")
        raises(lambda: w.linear("fc", [[0, 1]], [[1, 1]], input_bits=17, input_signed=False,
                                weight_bits=8, weight_signed=True), "fc.input", "bits")
        raises(lambda: w.linear("fc", [[0, 1]], [[1, 1]], input_bits=8, input_signed=False,
                                weight_bits=8, weight_signed=True, bias=[1 << 31]), "fc.bias", "32 signed bits")
        raises(lambda: w.linear("fc", [[0.5, 1]], [[1, 1]], input_bits=8, input_signed=False,
                                weight_bits=8, weight_signed=True), "fc.input", "integers")
        raises(lambda: w.linear("fc", [[0, 1]], [[1, 1]], input_bits=8, input_signed=False,
                                weight_bits=8, weight_signed=True, weight_scale=[1.0, 2.0]),
               "fc.weight_scale", "2 values")
        raises(lambda: w.linear("fc", [[0, 1]], [[1, 1]], input_bits=8, input_signed=False,
                                weight_bits=8, weight_signed=True, input_scale=0.0), "fc.input_scale")
        raises(lambda: w.matmul("mm", [[1, 2]], [[3, 4], [5, 6]], lhs_bits=4, lhs_signed=False, rhs_bits=4,
                                rhs_signed=False, lhs_scale=[1.0, 2.0]), "mm.lhs_scale", "one value")
        raises(lambda: w.matmul("mm", [[1, 2]], [[3, 4], [5, 6]], lhs_bits=4, lhs_signed=False, rhs_bits=4,
                                rhs_signed=False, rhs_scale=[1.0, 2.0, 3.0]), "mm.rhs_scale", "(2)")
        raises(lambda: w.conv2d("cv", np.zeros((1, 3, 4, 4)), np.zeros((2, 2, 3, 3)), input_bits=8,
                                input_signed=False, weight_bits=8, weight_signed=True), "cv", "C_in/groups")
        raises(lambda: w.conv2d("cv", np.zeros((1, 2, 4, 4)), np.zeros((2, 2, 3, 3)), input_bits=8,
                                input_signed=False, weight_bits=8, weight_signed=True, input_zero_point=256),
               "cv.input", "zero_point")

        w.linear("a", [[0, 255]], [[-128, 127]], input_bits=8, input_signed=False, weight_bits=8,
                 weight_signed=True, bias=[5], bias_bits=40, input_scale=0.5, weight_scale=[0.25],
                 output="compute")
        w.linear("b", [[-512, 511]], [[0, 65535]], input_bits=10, input_signed=True, weight_bits=16,
                 weight_signed=False, output=np.array([[511 * 65535]], dtype=np.int64))
        w.matmul("c", [[1, 2]], [[3], [4]], lhs_bits=4, lhs_signed=False, rhs_bits=4, rhs_signed=True,
                 output=np.array([[11]], dtype=np.int16))
        raises(lambda: w.linear("a", [[0]], [[0]], input_bits=1, input_signed=False, weight_bits=1,
                                weight_signed=False), "duplicate")
        raises(lambda: w.matmul("d", [[1, 2]], [[3], [4]], lhs_bits=4, lhs_signed=False, rhs_bits=4,
                                rhs_signed=True, output=np.zeros((2, 1), np.int32)), "d.output", "shape")
        path = w.close()
        t = at.read_trace(path, validate=True)
        dt = {name: at.safetensors_dtype(a) for name, a in t.tensors.items()}
        assert dt == {"a.input": "U8", "a.weight": "I8", "a.bias": "I64", "a.weight_scale": "F32",
                      "a.output": "I32", "b.input": "I16", "b.weight": "U16", "b.output": "I64",
                      "c.lhs": "U8", "c.rhs": "I8", "c.output": "I32"}, dt
        assert t.tensors["a.output"].tolist() == [[127 * 255 + 5]]
        layer = t.layer("a")
        assert layer["input"]["scale"] == 0.5 and layer["weight"]["scale"] == "a.weight_scale"
        assert layer["bias"] == {"tensor": "a.bias", "bits": 40}
        assert "zero_point" not in layer["weight"]
        assert at.validate_trace(t, verify_outputs=True) == []


def test_writer_records_explicit_conv_params():
    with tempfile.TemporaryDirectory() as tmp:
        with at.TraceWriter(os.path.join(tmp, "c.trace"), model="m") as w:
            w.conv2d("cv", np.ones((1, 2, 5, 5)), np.ones((4, 1, 3, 3)), input_bits=2, input_signed=False,
                     weight_bits=2, weight_signed=True, input_zero_point=1, stride=2, padding=[1, 2],
                     dilation=1, groups=2, output="compute")
        layer = at.read_trace(os.path.join(tmp, "c.trace")).layer("cv")
        assert layer["conv2d"] == {"stride": [2, 2], "padding": [1, 2, 1, 2], "dilation": [1, 1], "groups": 2}


# ---------------------------------------------------------------- traces and CLI


def run_cli(*args):
    proc = subprocess.run([sys.executable, MODULE, *args], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_cli_selftest_copy_compare_check_dump():
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a.trace"), os.path.join(tmp, "b.trace")
        assert run_cli("selftest-write", a)[0] == 0
        rc, out = run_cli("check", a)
        assert rc == 0, out
        rc, out = run_cli("dump", a)
        assert rc == 0 and "mm_broadcast" in out and "groups 2" in out, out
        assert run_cli("copy", a, b)[0] == 0
        assert run_cli("compare", a, b) == (0, "")
        for name in ("manifest.json", "tensors.safetensors"):  # the writer is deterministic
            with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
                assert fa.read() == fb.read(), name

        trace = at.read_trace(b)
        # the selftest covers every operand width, signed and unsigned, with both range ends
        seen = set()
        for layer in trace.layers:
            for role in at.OPERANDS[layer["op"]]:
                entry = layer[role]
                codes = trace.tensors[entry["tensor"]]
                lo, hi = at.operand_range(entry["bits"], entry["signed"])
                assert codes.min() == lo and codes.max() == hi, entry["tensor"]
                seen.add((entry["bits"], entry["signed"]))
            assert "output" in layer
        assert seen >= {(n, s) for n in (1, 3, 4, 8, 16) for s in (True, False)}, seen
        assert {at.safetensors_dtype(trace.tensors[l["output"]["tensor"]]) for l in trace.layers} == {"I32", "I64"}

        # a changed value is found and named
        trace.tensors["conv_depthwise.output"] = trace.tensors["conv_depthwise.output"].copy()
        trace.tensors["conv_depthwise.output"][0, 2, 1, 3] += 1
        at.write_trace(b, trace.manifest, trace.tensors)
        rc, out = run_cli("compare", a, b)
        assert rc == 1 and "conv_depthwise.output" in out and "[0, 2, 1, 3]" in out, out
        rc, out = run_cli("check", b)
        assert rc == 1 and "conv_depthwise.output" in out and "exact result" in out, out
        # a changed dtype (same values) is a difference too
        trace = at.read_trace(a)
        trace.tensors["lin_2d.output"] = trace.tensors["lin_2d.output"].astype(np.int64)
        at.write_trace(b, trace.manifest, trace.tensors)
        rc, out = run_cli("compare", a, b)
        assert rc == 1 and "dtype I32 != I64" in out, out
        # and a manifest difference names its JSON pointer
        trace = at.read_trace(a)
        trace.manifest["layers"][1]["input"]["scale"] = 0.25
        at.write_trace(b, trace.manifest, trace.tensors)
        rc, out = run_cli("compare", a, b)
        assert rc == 1 and "/layers/1/input/scale" in out, out
        assert run_cli("compare", a, os.path.join(tmp, "missing"))[0] == 2


def test_json_comparison_numbers_and_bools():
    assert at._json_difference({"a": 1}, {"a": 1.0}) is None
    assert at._json_difference({"a": True}, {"a": 1}) is not None
    assert at._json_difference([1, 2], [1, 2, 3]) is not None
    assert at._json_difference({"a": 1}, {"a": 1, "b": 2})[0] == "/b"


def test_validation_names_the_problem():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v.trace")
        with at.TraceWriter(path, model="m") as w:
            w.conv2d("cv", np.ones((1, 2, 4, 4)), np.ones((3, 2, 3, 3)), input_bits=4, input_signed=False,
                     weight_bits=4, weight_signed=True, bias=[1, 2, 3], padding=1, output="compute")
        good = at.read_trace(path)

        def problems(edit):
            t = at.read_trace(path)
            edit(t)
            return "\n".join(at.validate_trace(t, verify_outputs=True))

        assert problems(lambda t: None) == ""
        assert "/layers/0/input: unknown key 'zero_piont'" in problems(
            lambda t: t.layers[0]["input"].update(zero_piont=1))
        assert "/layers/0/weight/bits" in problems(lambda t: t.layers[0]["weight"].update(bits=0))
        assert "cv.input: value 1 at index [0, 0, 0, 0] is outside" in problems(
            lambda t: t.layers[0]["input"].update(bits=1, signed=True))
        assert "cv.output" in problems(lambda t: t.layers[0].pop("bias"))
        assert "/layers/0: groups = 2 must divide" in problems(lambda t: t.layers[0]["conv2d"].update(groups=2))
        assert "/layers/0/conv2d: stride" in problems(lambda t: t.layers[0]["conv2d"].update(stride=[0, 1]))
        assert ": unknown key 'extra'" in problems(lambda t: t.manifest.update(extra=1))
        assert "cv.bias" in problems(lambda t: t.layers[0]["bias"].update(bits=1))

        # read_trace's own checks
        manifest_path = os.path.join(path, "manifest.json")
        text = open(manifest_path).read()
        open(manifest_path, "w").write(text.replace('"cv.weight"', '"cv.wieght"', 1))
        raises(lambda: at.read_trace(path), "/layers/0/weight/tensor", "cv.wieght")
        open(manifest_path, "w").write(text.replace('"version": 1', '"version": 2'))
        raises(lambda: at.read_trace(path), "/version")
        open(manifest_path, "w").write(text.replace('"format": "accsim-trace",', '"format": "x", "format": "y",'))
        raises(lambda: at.read_trace(path), "duplicate key 'format'")
        at.write_trace(path, good.manifest, good.tensors)
        assert at.read_trace(path, validate=True).manifest == good.manifest


def test_multi_file_trace_keeps_placement():
    with tempfile.TemporaryDirectory() as tmp:
        a = os.path.join(tmp, "a.trace")
        manifest = {"format": "accsim-trace", "version": 1, "model": "split",
                    "tensors": ["w.safetensors", "x.safetensors"],
                    "layers": [{"name": "fc", "op": "linear",
                                "input": {"tensor": "fc.input", "bits": 8, "signed": False},
                                "weight": {"tensor": "fc.weight", "bits": 8, "signed": True}}]}
        tensors = {"fc.input": np.array([[1, 2]], np.uint8), "fc.weight": np.array([[3, -4]], np.int8)}
        at.write_trace(a, manifest, tensors, placement={"fc.weight": "w.safetensors", "fc.input": "x.safetensors"})
        t = at.read_trace(a, validate=True)
        assert t.placement == {"fc.weight": "w.safetensors", "fc.input": "x.safetensors"}
        assert list(at.read_safetensors(os.path.join(a, "x.safetensors"))) == ["fc.input"]
        b = os.path.join(tmp, "b.trace")
        assert run_cli("copy", a, b)[0] == 0
        assert run_cli("compare", a, b)[0] == 0
        assert list(at.read_safetensors(os.path.join(b, "w.safetensors"))) == ["fc.weight"]


# ---------------------------------------------------------------- float operands and block scales


def _same(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def test_every_8_and_16_bit_code_decodes_as_the_independent_reference_says():
    import float_reference as fr  # tests/python: an exact-rational reference written apart from this module
    for fmt, bits in (("e4m3", 8), ("e5m2", 8), ("fp16", 16), ("bf16", 16)):
        codes = np.arange(1 << bits)
        mine = at.decode_float(codes, fmt)
        for c in range(1 << bits) if bits == 8 else range(0, 1 << bits, 7):
            ref = fr.decode(c, fmt)
            want = {"nan": math.nan, "+inf": math.inf, "-inf": -math.inf, "-0": -0.0}.get(ref) if isinstance(ref, str) \
                else float(ref)
            assert _same(float(mine[c]), want), (fmt, hex(c), mine[c], ref)
    f = at.FLOAT_FORMATS
    assert (f["e4m3"].max_finite, f["e5m2"].max_finite, f["fp16"].max_finite) == (448.0, 57344.0, 65504.0)
    assert at.decode_float([0x7f, 0xff, 0x7e, 0x01], "e4m3")[2:].tolist() == [448.0, 2.0 ** -9]
    # tf32 reads an F32 pattern with its low 13 mantissa bits ignored
    one_plus = np.array([1.0 + 2.0 ** -10, 1.0 + 2.0 ** -11], np.float32).view(np.uint32)
    assert at.decode_float(one_plus, "tf32").tolist() == [1.0 + 2.0 ** -10, 1.0]


def test_fp8_rounding_is_nearest_even_with_saturation_exhaustively():
    for fmt in ("e4m3", "e5m2"):
        f = at.FLOAT_FORMATS[fmt]
        codes = np.arange(256, dtype=np.uint8)
        values = at.decode_float(codes, fmt)
        # every value rounds to its own code (NaNs to the canonical one)
        back = at.round_to_float(values, fmt, saturate=False)
        assert np.all((back == codes) | np.isnan(values)), fmt
        assert np.all(back[np.isnan(values)] == f.nan_code)
        # consecutive positive finite values have consecutive codes: every midpoint goes to the
        # even code, anything off the midpoint to the nearer value; negatives mirror
        finite = [c for c in range(128) if np.isfinite(values[c])]
        lo = values[finite[:-1]]
        hi = values[[c + 1 for c in finite[:-1]]]
        mid = (lo + hi) / 2
        c = np.array(finite[:-1])
        even = np.where(c % 2 == 0, c, c + 1)
        assert np.array_equal(at.round_to_float(mid, fmt), even)
        assert np.array_equal(at.round_to_float(-mid, fmt), even | 0x80)
        assert np.array_equal(at.round_to_float(np.nextafter(mid, 0), fmt), c)
        assert np.array_equal(at.round_to_float(np.nextafter(mid, np.inf), fmt), c + 1)
        # random values: the nearest representable value (brute force over all codes)
        rng = np.random.default_rng(5)
        x = rng.normal(size=2000) * rng.choice([1e-3, 1.0, 100.0], size=2000)
        got = at.decode_float(at.round_to_float(x, fmt), fmt)
        grid = np.unique(values[np.isfinite(values)])
        nearest = np.abs(grid[None, :] - x[:, None]).min(axis=1)
        assert np.array_equal(np.abs(got - x), nearest)
        # saturation (the default) and the IEEE overflow without it
        big = np.array([f.max_finite * 1.1, -1e30, np.inf, -np.inf])
        assert at.decode_float(at.round_to_float(big, fmt), fmt).tolist() == [f.max_finite, -f.max_finite,
                                                                             f.max_finite, -f.max_finite]
        over = at.decode_float(at.round_to_float(big, fmt, saturate=False), fmt)
        assert np.isnan(over).all() if fmt == "e4m3" else over.tolist() == [np.inf, -np.inf, np.inf, -np.inf]
    assert at.to_e4m3([1.0, -0.0, 0.00097])[:2].tolist() == [0x38, 0x80]
    assert at.to_e8m0([1.0, 0.75, 3.0]).tolist() == [127, 127, 129]
    assert at.to_e8m0([0.75], rounding="down").tolist() == [126]
    assert np.isnan(at.e8m0_values([255]))[0] and at.e8m0_values([127, 0])[0] == 1.0


def _fraction_dot(xr, wr, xs=None, ws=None, block=0):
    """The exact dot product in Fractions, with accsim's special values; rounded once."""
    from fractions import Fraction
    total, nan, plus, minus = Fraction(0), False, False, False
    for i, (a, b) in enumerate(zip(xr.tolist(), wr.tolist())):
        s = 1.0
        if block:
            s = (1.0 if xs is None else xs[i // block]) * (1.0 if ws is None else ws[i // block])
            if math.isnan(s):
                nan = True
                continue
        if math.isnan(a) or math.isnan(b):
            nan = True
        elif math.isinf(a) or math.isinf(b):
            if a == 0 or b == 0:
                nan = True
            elif (a > 0) == (b > 0):
                plus = True
            else:
                minus = True
        else:
            f = Fraction(a) * Fraction(b)
            if block:
                f *= Fraction(1.0 if xs is None else xs[i // block]) * Fraction(1.0 if ws is None else ws[i // block])
            total += f
    if nan or (plus and minus):
        return math.nan
    if plus or minus:
        return math.inf if plus else -math.inf
    return float(total)


def test_exact_outputs_match_fractions_for_every_format_with_specials_and_block_scales():
    rng = np.random.default_rng(11)
    for fmt in at.FLOAT_FORMATS:
        bits = at.FLOAT_FORMATS[fmt].storage_bits
        for trial in range(4):
            k = int(rng.integers(1, 200))
            xc = rng.integers(0, 1 << bits, size=(3, k), dtype=np.uint64)
            wc = rng.integers(0, 1 << bits, size=(4, k), dtype=np.uint64)
            x, w = at.decode_float(xc, fmt), at.decode_float(wc, fmt)
            if trial < 2:  # finite: every code but the specials, from subnormals to the largest
                x, w = np.where(np.isfinite(x), x, 0.5), np.where(np.isfinite(w), w, -3.0)
            block, xs, ws = 0, None, None
            if trial % 2:
                block = int(rng.integers(1, 64))
                n = -(-k // block)
                xs = np.ldexp(rng.random((3, n)).astype(np.float32).astype(np.float64) + 0.01,
                              rng.integers(-100, 100, size=(3, n)))
                ws = at.e8m0_values(rng.integers(0, 256 if trial == 3 else 255, size=(4, n)))
            y = at.exact_linear(x, w, xs, ws, block=block) if block else at.exact_linear(x, w)
            for m in range(3):
                for o in range(4):
                    want = _fraction_dot(x[m], w[o], None if xs is None else xs[m], None if ws is None else ws[o],
                                         block)
                    assert _same(float(y[m, o]), want), (fmt, trial, m, o, y[m, o], want)
    # a zero result is +0; conv2d pads with +0; matmul broadcasts
    assert math.copysign(1, at.exact_linear(np.array([[-1.0, 1.0]]), np.array([[1.0, 1.0]]))[0, 0]) == 1
    x = at.decode_float(rng.integers(0, 0x7f, size=(2, 4, 5, 5)), "e4m3")
    w = at.decode_float(rng.integers(0, 0x7f, size=(6, 2, 3, 3)) | 0x80 * rng.integers(0, 2, size=(6, 2, 3, 3)),
                        "e4m3")
    want = at.ref_conv2d(np.ldexp(x, 9).astype(np.int64), np.ldexp(w, 9).astype(np.int64), padding=1, groups=2)
    assert np.array_equal(at.exact_conv2d(x, w, padding=1, groups=2), np.ldexp(want.astype(np.float64), -18))
    a, b = rng.normal(size=(2, 1, 3, 5)).astype(np.float16), rng.normal(size=(4, 5, 2)).astype(np.float16)
    assert at.exact_matmul(a, b).shape == (2, 4, 3, 2)


def test_float_layers_round_trip_and_validate():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(2, 3, 256)) * 5
    wt = rng.normal(size=(40, 256)) * 0.05
    sx = np.abs(x).reshape(2, 3, 2, 128).max(-1) / 448
    sw = np.abs(wt).reshape(40, 2, 128).max(-1).reshape(2, 20, 2).max(1) / 448
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f.trace")
        with at.TraceWriter(path, model="floats") as w:
            w.linear("fp8", at.to_e4m3(x), at.to_e4m3(wt * 100), input_format="e4m3", weight_format="e4m3",
                     input_scale=1.0, weight_scale=np.full(40, 0.01), output="compute")
            w.linear("block", at.to_e4m3(x / np.repeat(sx, 128, -1)),
                     at.to_e4m3(wt / np.repeat(np.repeat(sw, 20, 0), 128, -1)), input_format="e4m3",
                     weight_format="e4m3", input_block_scale=sx, weight_block_scale=sw, block=128,
                     weight_block_channels=20, output="compute")
            w.linear("mx", at.to_e5m2(x), at.to_e5m2(wt), input_format="e5m2", weight_format="e5m2",
                     weight_block_scale=at.BlockScale(at.to_e8m0(sw), 128, block_channels=20), output="compute")
            w.linear("w8a8_blocks", rng.integers(-127, 128, (4, 256)), rng.integers(-127, 128, (8, 256)),
                     input_bits=8, input_signed=True, weight_bits=8, weight_signed=True,
                     input_block_scale=np.full((4, 2), 0.5), weight_block_scale=np.full((8, 2), 0.25), block=128,
                     output="compute")
            w.conv2d("half", rng.normal(size=(1, 4, 6, 6)).astype(np.float16),
                     rng.normal(size=(4, 1, 3, 3)).astype(np.float16), padding=1, groups=4, output="compute")
            w.matmul("bf16", at.to_bf16(rng.normal(size=(2, 4, 8))), rng.normal(size=(8, 3)).astype(np.float32),
                     lhs_format="bf16", rhs_format="tf32", output="compute")
        t = at.read_trace(path)
        assert at.validate_trace(t, verify_outputs=True) == []
        layers = {l["name"]: l for l in t.layers}
        assert layers["fp8"]["input"] == {"tensor": "fp8.input", "format": "e4m3", "scale": 1.0}
        assert layers["block"]["weight"]["block_scale"] == {"tensor": "block.weight_block_scale", "block": 128,
                                                            "block_channels": 20}
        assert layers["mx"]["weight"]["block_scale"]["format"] == "e8m0"
        assert [at.safetensors_dtype(t.tensors[n]) for n in ("fp8.input", "mx.input", "half.input", "bf16.lhs",
                                                             "bf16.rhs", "fp8.output", "mx.weight_block_scale")] \
            == ["F8_E4M3", "F8_E5M2", "F16", "BF16", "F32", "F64", "U8"]
        assert t.tensors["block.input_block_scale"].shape == (2, 3, 2)
        # the recorded output is the exact dot product, rounded once
        xv, wv = at.operand_values(layers["fp8"]["input"], t.tensors), at.operand_values(layers["fp8"]["weight"], t.tensors)
        exact = np.ldexp((np.ldexp(xv, 9).astype(np.int64) @ np.ldexp(wv, 9).astype(np.int64).T).astype(np.float64), -18)
        assert np.array_equal(t.tensors["fp8.output"], exact)
        # copy and compare through the CLI, check, dump
        copy = os.path.join(tmp, "copy.trace")
        assert run_cli("copy", path, copy)[0] == 0
        assert run_cli("compare", path, copy)[0] == 0
        assert at.trace_difference(t, at.read_trace(copy)) is None
        code, out = run_cli("check", path)
        assert code == 0 and "6 outputs verified" in out
        code, out = run_cli("dump", path)
        assert code == 0 and "e4m3 max 448" in out and "block_scale block.weight_block_scale (f32, block 128 x 20" in out
        # a changed output is found, NaN equal to NaN
        bad = dict(t.tensors)
        y = bad["fp8.output"].copy()
        y[0, 0, 1] = np.nextafter(y[0, 0, 1], np.inf)
        bad["fp8.output"] = y
        problems = at.validate_trace(at.Trace(t.manifest, bad, path), verify_outputs=True)
        assert len(problems) == 1 and "fp8.output" in problems[0] and "[0, 0, 1]" in problems[0]


def test_float_writer_and_validator_reject_bad_inputs():
    x8 = at.to_e4m3(np.ones((2, 8)))
    w8 = at.to_e4m3(np.ones((3, 8)))
    with tempfile.TemporaryDirectory() as tmp:
        w = at.TraceWriter(os.path.join(tmp, "bad.trace"), model="bad")
        f8 = dict(input_format="e4m3", weight_format="e4m3")
        raises(lambda: w.linear("a", x8, w8, input_format="e4m4", weight_format="e4m3"), "a.input", "e4m4")
        raises(lambda: w.linear("a", x8, w8, input_format="e4m3", weight_bits=8, weight_signed=True),
               "a.weight", "other operand is a float format")
        raises(lambda: w.linear("a", x8, w8, input_format="e4m3", input_bits=8, weight_format="e4m3"),
               "declares a format")
        raises(lambda: w.linear("a", np.full((2, 8), 300), w8, **f8), "a.input", "300", "8-bit e4m3 code")
        raises(lambda: w.linear("a", np.full((2, 8), 0.3), w8, **f8), "0.3", "not a e4m3 value", "round")
        raises(lambda: w.linear("a", np.ones((2, 8)), w8, weight_format="e4m3"), "a.input", "float format")
        raises(lambda: w.linear("a", at.float_tensor(x8, "e5m2"), w8, **f8), "F8_E5M2", "e4m3")
        raises(lambda: w.linear("a", x8, w8, **f8, bias=[1, 2, 3]), "a.bias", "float layer takes no bias")
        raises(lambda: w.linear("a", x8, w8, **f8, output=np.zeros((2, 3), np.int32)), "a.output", "float64")
        raises(lambda: w.linear("a", x8, w8, **f8, output=np.zeros((2, 4))), "a.output", "shape")
        raises(lambda: w.conv2d("a", x8.reshape(1, 2, 2, 4), w8[:, :2].reshape(3, 2, 1, 1), **f8,
                                input_zero_point=3), "zero_point")
        raises(lambda: w.linear("a", x8, w8, **f8, input_block_scale=np.ones((2, 2))), "block must be an integer")
        raises(lambda: w.linear("a", x8, w8, **f8, input_block_scale=np.ones((2, 3)), block=4),
               "a.input_block_scale", "expected [2, 2]")
        raises(lambda: w.linear("a", x8, w8, **f8, weight_block_scale=np.ones((3, 2)), block=4,
                                weight_block_channels=2), "expected [2, 2]", "one per 2 channels")
        raises(lambda: w.linear("a", x8, w8, **f8, input_block_scale=np.array([[1.0, -1.0]] * 2), block=4),
               "-1.0", "positive finite")
        raises(lambda: w.linear("a", x8, w8, **f8, input_block_scale=np.array([[1.0, 1e-50]] * 2), block=4),
               "positive finite float32")
        raises(lambda: w.linear("a", x8, w8, **f8, input_block_scale=at.BlockScale(np.ones((2, 2)), 4),
                                weight_block_scale=at.BlockScale(np.ones((3, 1)), 8)), "blocks differ")
        raises(lambda: w.linear("a", x8, w8, **f8, input_block_scale=at.BlockScale(np.ones((2, 2)), 4, "e8m0")),
               "uint8 codes")
        raises(lambda: w.linear("a", x8, w8, **f8, block=4), "no block scales")
        raises(lambda: w.linear("a", np.ones((2, 8), np.int8), np.ones((3, 8), np.int8), input_bits=8,
                                input_signed=True, weight_bits=8, weight_signed=True, bias=[1, 2, 3],
                                input_block_scale=np.ones((2, 1)), block=8), "block-scaled layer takes no bias")
        assert not w.manifest["layers"], "a refused layer must leave nothing behind"

    # the validator: what accsim's loader refuses in a hand-written manifest
    def problems(edit):
        tensors = {"x": at.float_tensor(x8, "e4m3"), "w": at.float_tensor(w8, "e4m3"),
                   "sx": np.ones((2, 1), np.float32), "y": np.zeros((2, 3))}
        layer = {"name": "fc", "op": "linear", "input": {"tensor": "x", "format": "e4m3"},
                 "weight": {"tensor": "w", "format": "e4m3"}}
        manifest = {"format": "accsim-trace", "version": 1, "model": "m", "tensors": "t.safetensors", "layers": [layer]}
        edit(layer, tensors)
        return at.validate_trace(at.Trace(manifest, tensors, "x.trace"), verify_outputs=True)

    assert problems(lambda l, t: None) == []
    assert "unknown float format 'fp8'" in problems(lambda l, t: l["input"].update(format="fp8"))[0]
    assert "format 'e5m2' is stored as F8_E5M2" in problems(lambda l, t: l["input"].update(format="e5m2"))[0]
    assert 'declares "format" instead of "bits"' in problems(lambda l, t: l["input"].update(bits=8))[0]
    assert "both operands of a layer are float" in problems(
        lambda l, t: l.update(weight={"tensor": "w8", "bits": 8, "signed": True}) or t.update(w8=np.ones((3, 8), np.int8)))[0]
    assert "takes no bias" in problems(lambda l, t: l.update(bias={"tensor": "b"}) or t.update(b=np.ones(3, np.int32)))[0]
    assert "expected F64" in problems(lambda l, t: l.update(output={"tensor": "y32"}) or t.update(y32=np.zeros((2, 3), np.int32)))[0]
    found = problems(lambda l, t: l.update(output={"tensor": "y"}))
    assert len(found) == 1 and "recorded 0.0 at index [0, 0] but the exact result is 8.0" in found[0]
    assert "modelled on linear layers" in problems(
        lambda l, t: l.update(op="matmul", lhs=l.pop("input"), rhs=l.pop("weight")) or
        l["lhs"].update(block_scale={"tensor": "sx", "block": 8}) or t.update(w=at.float_tensor(w8.T, "e4m3")))[0]
    assert "expected [2, 2]" in problems(lambda l, t: l["input"].update(block_scale={"tensor": "sx", "block": 4}))[0]
    assert "f32 scales are F32" in problems(
        lambda l, t: l["input"].update(block_scale={"tensor": "sx", "block": 8}) or t.update(sx=np.ones((2, 1), np.uint8)))[0]
    assert "positive finite" in problems(
        lambda l, t: l["input"].update(block_scale={"tensor": "sx", "block": 8}) or t.update(sx=np.zeros((2, 1), np.float32)))[0]
    assert "unknown key 'block_channels'" in problems(
        lambda l, t: l["input"].update(block_scale={"tensor": "sx", "block": 8, "block_channels": 2}))[0]
    assert "blocks differ" in problems(
        lambda l, t: l["input"].update(block_scale={"tensor": "sx", "block": 8}) or
        l["weight"].update(block_scale={"tensor": "sw", "block": 4}) or t.update(sw=np.ones((3, 2), np.float32)))[0]
    assert "expected one of f32, e8m0" in problems(
        lambda l, t: l["input"].update(block_scale={"tensor": "sx", "block": 8, "format": "ue8m0"}))[0]


def test_float_traces_replay_bit_for_bit_in_accsim():
    accsim = pytest.importorskip("accsim")
    rng = np.random.default_rng(13)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r.trace")
        x, wt = rng.normal(size=(5, 384)) * 4, rng.normal(size=(16, 384)) * 0.1
        sx = np.abs(x).reshape(5, 3, 128).max(-1) / 448
        sw = np.abs(wt).reshape(16, 3, 128).max(-1).max(0, keepdims=True) / 448
        with at.TraceWriter(path, model="replay") as w:
            w.linear("fp8", at.to_e4m3(x), at.to_e4m3(wt * 50), input_format="e4m3", weight_format="e4m3",
                     output="compute")
            w.linear("blocks", at.to_e4m3(x / np.repeat(sx, 128, -1)), at.to_e4m3(wt / np.repeat(sw, 128, -1)),
                     input_format="e4m3", weight_format="e4m3", input_block_scale=sx, weight_block_scale=sw,
                     block=128, weight_block_channels=128, output="compute")
            w.conv2d("conv", at.to_e5m2(rng.normal(size=(1, 3, 5, 5))), at.to_e5m2(rng.normal(size=(4, 3, 3, 3))),
                     input_format="e5m2", weight_format="e5m2", padding=1, output="compute")
        rep = accsim.audit(path, acc="128xe8m13:g32:f13:rz,e8m23")
        assert [l["output_verified"] for l in rep["layers"]] == [True, True, True]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))


def test_operand_range_is_validated_and_bounds_the_values(tmp_path):
    """"range": [lo, hi] inside the bits, holding 0; values outside it are named."""
    x = np.array([[1, -1, 1, -1]], dtype=np.int8)
    w = np.array([[1, 1, -1, 1]], dtype=np.int8)
    with at.TraceWriter(tmp_path / "ok.trace", model="bipolar") as writer:
        entry = writer.linear("fc", x, w, input_bits=2, input_signed=True, weight_bits=2, weight_signed=True,
                              output="compute")
        entry["input"]["range"] = [-1, 1]
    assert at.read_trace(tmp_path / "ok.trace").manifest["layers"][0]["input"]["range"] == [-1, 1]

    def problems(rng, values=x):
        writer = at.TraceWriter(tmp_path / "bad.trace", model="bipolar")
        entry = writer.linear("fc", values, w, input_bits=2, input_signed=True, weight_bits=2, weight_signed=True)
        entry["input"]["range"] = rng
        with pytest.raises(ValueError) as info:
            writer.close()
        return str(info.value)

    assert "expected lo in [-2, 0] and hi in [0, 1], got [-1, 2]" in problems([-1, 2])
    assert "expected lo in [-2, 0] and hi in [0, 1], got [1, 1]" in problems([1, 1])
    assert "expected [lo, hi], two integers" in problems([-1])
    assert "value -2 at index [0, 0] is outside the declared range [-1, 1]" in problems(
        [-1, 1], np.array([[-2, 1, 1, 1]], dtype=np.int8))
