#!/usr/bin/python3
"""tools/accsim-import on bad input: every case exits 2 with exactly one stderr line
``accsim: error: <file>: <field>: <what>`` (the model, or the input file at fault), prints nothing
on stdout and writes nothing (the --out directory does not appear, nor any other file).

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python/test_import_bad.py
"""
import os
import subprocess

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.path.join(ROOT, "tools", "accsim-import")
TFC = os.path.join(ROOT, "tools", "nets", "qonnx", "tfc", "TFC_2W2A.onnx")

onnx = pytest.importorskip("onnx")
from onnx import TensorProto as TP  # noqa: E402
from onnx import helper as oh  # noqa: E402
from onnx import numpy_helper as nh  # noqa: E402

QONNX = "qonnx.custom_op.general"
F32 = np.float32


# ---------------------------------------------------------------------------- helpers

def init(name, value):
    return nh.from_array(np.asarray(value), name)


def save_model(path, nodes, inputs, initializers, outputs=("y",)):
    graph = oh.make_graph(nodes, "g", inputs, [oh.make_tensor_value_info(o, TP.FLOAT, None) for o in outputs],
                          initializers)
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 13), oh.make_opsetid(QONNX, 1)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def x_info(name="x", shape=(1, 4)):
    return oh.make_tensor_value_info(name, TP.FLOAT, list(shape))


def quant(name, x, y, scale="s", zp="z0", bits="b4", signed=1):
    return oh.make_node("Quant", [x, scale, zp, bits], [y], name=name, domain=QONNX, signed=signed, narrow=0,
                        rounding_mode="ROUND")


def quantized_linear(path, x_bits=4.0, x_scale=0.25, extra_inits=()):
    """x [1, 4] -> Quant "qx" -> MatMul "fc" with a Quant'd weight [4, 3]: a valid model as given."""
    w = np.array([[1, -2, 3], [0, 1, -1], [2, 2, -3], [-1, 0, 1]], F32)
    nodes = [quant("qx", "x", "xq", scale="sx", bits="bx"), quant("qw", "W", "wq"),
             oh.make_node("MatMul", ["xq", "wq"], ["y"], name="fc")]
    inits = [init("sx", F32(x_scale)), init("bx", F32(x_bits)), init("s", F32(1)), init("z0", F32(0)),
             init("b4", F32(4)), init("W", w)] + list(extra_inits)
    return save_model(path, nodes, [x_info()], inits)


def good_input(tmp_path, name="x.npy", array=None):
    path = tmp_path / name
    np.save(path, np.array([[0.5, -1.0, 0.25, 1.5]], F32) if array is None else array)
    return str(path)


def run_cli(tmp_path, model, inputs, *extra):
    out = tmp_path / "out.trace"
    args = ["/usr/bin/python3", CLI, str(model)]
    for i in inputs:
        args += ["--input", str(i)]
    args += ["--out", str(out), *extra]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "python"))
    before = sorted(os.listdir(tmp_path))
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, cwd=str(tmp_path))
    return p, out, before


def expect_error(run, file, *fragments):
    """Exit 2, nothing on stdout, one stderr line "accsim: error: <file>: ..." holding every
    fragment, and nothing written."""
    p, out, before = run
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and p.stderr.endswith("\n"), p.stderr
    prefix = f"accsim: error: {file}: "
    assert lines[0].startswith(prefix), lines[0]
    rest = lines[0][len(prefix):]
    for fragment in fragments:
        assert fragment in rest, (fragment, lines[0])
    assert not out.exists()
    assert sorted(os.listdir(out.parent)) == before
    return rest


def test_valid_model_works(tmp_path):
    """The model the cases below break is fine as built (the failures come from what they change)."""
    model = quantized_linear(tmp_path / "m.onnx")
    p, out, _ = run_cli(tmp_path, model, [good_input(tmp_path)], "--no-bounds")
    assert p.returncode == 0, p.stderr
    assert p.stderr == "" and out.is_dir()


# ---------------------------------------------------------------------------- the model file

def test_truncated_onnx(tmp_path):
    with open(TFC, "rb") as f:
        data = f.read()
    model = tmp_path / "TFC_half.onnx"
    model.write_bytes(data[:len(data) // 2])
    rest = expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model, "model: ", "not an ONNX model")
    assert rest.startswith("model: ")


@pytest.mark.parametrize("content", [
    b"just words and more words\n",
    pytest.param(b"hello, this is text\n", id="text-end-group-tag"),
    b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n",
])
def test_not_onnx(tmp_path, content):
    model = tmp_path / "notes.onnx"
    model.write_bytes(content)
    rest = expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model, "not an ONNX model")
    assert rest.startswith("model: ")


def test_cycle(tmp_path):
    nodes = [oh.make_node("Relu", ["t2"], ["t1"], name="first"),
             oh.make_node("Relu", ["t1"], ["t2"], name="second"),
             oh.make_node("Add", ["x", "t1"], ["y"], name="out")]
    model = save_model(tmp_path / "m.onnx", nodes, [x_info()], [])
    rest = expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model, "cycle", '"first"', '"second"')
    assert rest.startswith("graph: ")


def test_missing_initializer(tmp_path):
    nodes = [quant("qx", "x", "xq"), oh.make_node("MatMul", ["xq", "W_gone"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [x_info()], [init("s", F32(1)), init("z0", F32(0)),
                                                                 init("b4", F32(4))])
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model,
                 'node "fc"', 'input "W_gone"', "not produced by any node")


# ---------------------------------------------------------------------------- input files

def test_input_wrong_shape(tmp_path):
    model = quantized_linear(tmp_path / "m.onnx")
    bad = good_input(tmp_path, "x5.npy", np.zeros((1, 5), F32))
    expect_error(run_cli(tmp_path, model, [bad]), bad, "shape: [1, 5]", '"x"', "[1, 4]")


def test_input_wrong_dtype(tmp_path):
    model = quantized_linear(tmp_path / "m.onnx")
    bad = good_input(tmp_path, "x64.npy", np.zeros((1, 4), np.float64))
    expect_error(run_cli(tmp_path, model, [bad]), bad, "dtype: float64", "float32")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_input_not_finite(tmp_path, value):
    model = quantized_linear(tmp_path / "m.onnx")
    a = np.array([[0.5, value, 0.25, 1.5]], F32)
    bad = good_input(tmp_path, "xnan.npy", a)
    expect_error(run_cli(tmp_path, model, [bad]), bad, "values: ", "not all finite")


@pytest.mark.parametrize("content", [
    b"just words and more words\n",
    pytest.param(b"hello, this is text\n", id="text-end-group-tag"),
    b"\x93NUMPY garbage",
    b"\xff\xfe\x00\x01" * 8,
])
def test_input_neither_npy_nor_tensorproto(tmp_path, content):
    model = quantized_linear(tmp_path / "m.onnx")
    bad = tmp_path / "x.bin"
    bad.write_bytes(content)
    rest = expect_error(run_cli(tmp_path, model, [bad]), bad, "file: ")
    assert "neither .npy nor an ONNX TensorProto" in rest or "not a valid .npy file" in rest


def test_several_inputs_plain_file(tmp_path):
    nodes = [quant("qa", "a", "aq"), quant("qb", "b", "bq"), oh.make_node("MatMul", ["aq", "bq"], ["y"], name="mm")]
    model = save_model(tmp_path / "m.onnx", nodes, [x_info("a", (2, 4)), x_info("b", (4, 2))],
                       [init("s", F32(1)), init("z0", F32(0)), init("b4", F32(4))])
    a = good_input(tmp_path, "a.npy", np.zeros((2, 4), F32))
    expect_error(run_cli(tmp_path, model, [a]), a, "input: ", "2 inputs", "NAME=FILE")


# ---------------------------------------------------------------------------- quantizer parameters

def test_quant_bit_width_zero(tmp_path):
    model = quantized_linear(tmp_path / "m.onnx", x_bits=0.0)
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model, 'node "qx"', "Quant", "bit_width", "got 0")


def test_operand_bit_width_17(tmp_path):
    model = quantized_linear(tmp_path / "m.onnx", x_bits=17.0)
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model,
                 'node "qx"', "bitwidth", '"fc"', "17 bits", "above 16")


@pytest.mark.parametrize("scale", [0.0, -0.25])
def test_quant_scale_not_positive(tmp_path, scale):
    model = quantized_linear(tmp_path / "m.onnx", x_scale=scale)
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model, 'node "qx"', "scale: ", "must be positive")


@pytest.mark.parametrize("scale", [0.0, -0.5])
def test_dequantize_linear_scale_not_positive(tmp_path, scale):
    nodes = [oh.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="q"),
             oh.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"], name="dq"),
             oh.make_node("DequantizeLinear", ["W", "bad"], ["wd"], name="dqw"),
             oh.make_node("MatMul", ["xd", "wd"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [x_info()],
                       [init("sx", F32(0.1)), init("zx", np.uint8(3)), init("W", np.ones((4, 2), np.int8)),
                        init("bad", F32(scale))])
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model, 'node "dqw"', "DequantizeLinear",
                 "x_scale: ", "positive")


# ---------------------------------------------------------------------------- ops and options

def test_unsupported_op(tmp_path):
    nodes = [quant("qx", "x", "xq"), oh.make_node("Foo", ["xq"], ["f"], name="foo", domain="com.example"),
             quant("qw", "W", "wq"), oh.make_node("MatMul", ["f", "wq"], ["y"], name="fc")]
    graph = oh.make_graph(nodes, "g", [x_info()], [oh.make_tensor_value_info("y", TP.FLOAT, None)],
                          [init("s", F32(1)), init("z0", F32(0)), init("b4", F32(4)), init("W", np.ones((4, 2), F32))])
    m = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 13), oh.make_opsetid(QONNX, 1),
                                            oh.make_opsetid("com.example", 1)])
    m.ir_version = 8
    model = tmp_path / "m.onnx"
    onnx.save(m, str(model))
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model,
                 'node "foo"', "Foo", "domain com.example", "op: ", "not supported")


def test_layers_bad_regex(tmp_path):
    model = quantized_linear(tmp_path / "m.onnx")
    rest = expect_error(run_cli(tmp_path, model, [good_input(tmp_path)], "--layers", "fc(["), model,
                        "not a regular expression")
    assert rest.startswith("--layers: ")


def test_layers_matching_nothing(tmp_path):
    model = quantized_linear(tmp_path / "m.onnx")
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)], "--layers", "^conv9$"), model,
                 "matches none of the dot products")


def test_layers_matching_nothing_names_the_option(tmp_path):
    model = quantized_linear(tmp_path / "m.onnx")
    rest = expect_error(run_cli(tmp_path, model, [good_input(tmp_path)], "--layers", "^conv9$"), model,
                        "--layers", "^conv9$")
    assert "no quantized MatMul" not in rest


# ---------------------------------------------------------------------------- options and batches

def test_bad_threads_and_loop_json_folder(tmp_path):
    model = quantized_linear(tmp_path / "m.onnx")
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)], "--acc-grid", "8", "--threads", "-3"),
                 "command line", "--threads")
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)], "--acc-grid", "8", "--loop-json",
                         str(tmp_path / "missing" / "loop.json")), "command line", "--loop-json", "no folder")


def test_unequal_batches_for_two_inputs(tmp_path):
    nodes = [quant("qa", "a", "aq"), quant("qb", "b", "bq"), oh.make_node("MatMul", ["aq", "bq"], ["y"], name="mm")]
    model = save_model(tmp_path / "m.onnx", nodes, [x_info("a", (1, 2, 4)), x_info("b", (1, 4, 2))],
                       [init("s", F32(1)), init("z0", F32(0)), init("b4", F32(4))])
    a = good_input(tmp_path, "a.npy", np.zeros((1, 2, 4), F32))
    b = good_input(tmp_path, "b.npy", np.zeros((1, 4, 2), F32))
    expect_error(run_cli(tmp_path, model, [f"a={a}", f"a={a}", f"b={b}"]), model, "input: ", "as many files",
                 "a: 2", "b: 1")


def test_dequantize_axis_out_of_range(tmp_path):
    w = nh.from_array(np.ones((4, 3), np.int8), "W")
    nodes = [quant("qx", "x", "xq"),
             oh.make_node("DequantizeLinear", ["W", "ws"], ["wq"], name="dq", axis=3),
             oh.make_node("MatMul", ["xq", "wq"], ["y"], name="fc")]
    model = save_model(tmp_path / "m.onnx", nodes, [x_info()],
                       [init("s", F32(1)), init("z0", F32(0)), init("b4", F32(4)), w,
                        init("ws", np.full(3, 0.5, F32))])
    expect_error(run_cli(tmp_path, model, [good_input(tmp_path)]), model, 'node "dq"', "axis", "outside [-2, 1]")


def test_cli_finds_the_module_without_pythonpath(tmp_path):
    """The launcher puts tools/ on sys.path, where tools/accsim/ (C++ sources) is not the module."""
    model = quantized_linear(tmp_path / "m.onnx")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.run(["/usr/bin/python3", CLI, model, "--input", good_input(tmp_path), "--out",
                        str(tmp_path / "t.trace"), "--acc-grid", "6"], capture_output=True, text=True, env=env,
                       timeout=120, cwd=str(tmp_path), check=False)
    assert p.returncode == 0, p.stderr
    row = p.stdout.splitlines()[2].split()
    assert row[0] == "fc" and row[-5:-1] != ["", "", "", ""] and len(row) == 11  # bounds filled in
    assert "in the loop" in p.stdout
