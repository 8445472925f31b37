"""accsim-import --acc-grid: an accsim accumulator computing every integer layer of an imported
model, its registers flowing on through the graph."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper as oh, numpy_helper, TensorProto

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))

from accsim_import import run_model  # noqa: E402
from accsim_import.importer import evaluate_in_loop  # noqa: E402
from accsim_import.loop import AccumulatorLoop  # noqa: E402

accsim = pytest.importorskip("accsim")
NETS = os.path.join(ROOT, "tools", "nets", "qonnx")
DIGIT = os.path.join(NETS, "mnist_digit", "digit_2_01.npy")


def _quant(name, x, out, scale, bits, signed=1):
    return oh.make_node("Quant", [x, scale, "zero", bits], [out], name=name, domain="qonnx.custom_op.general",
                        signed=signed, narrow=0, rounding_mode="ROUND")


def _linear_model(path, w, x_scale=0.5, w_scale=0.25):
    """y = Quant8(x) @ Quant4(W)^T through a Transpose; then Relu."""
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in
             [("sx", x_scale), ("sw", w_scale), ("zero", 0.0), ("b8", 8.0), ("b4", 4.0), ("W", w)]]
    nodes = [_quant("qx", "x", "xq", "sx", "b8"), _quant("qw", "W", "wq", "sw", "b4"),
             oh.make_node("Transpose", ["wq"], ["wt"], name="t", perm=[1, 0]),
             oh.make_node("MatMul", ["xq", "wt"], ["y"], name="fc"), oh.make_node("Relu", ["y"], ["r"], name="relu")]
    graph = oh.make_graph(nodes, "g", [oh.make_tensor_value_info("x", TensorProto.FLOAT, [None, w.shape[1]])],
                          [oh.make_tensor_value_info("r", TensorProto.FLOAT, [None, w.shape[0]])], inits)
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 13), oh.make_opsetid("qonnx.custom_op.general", 1)])
    onnx.save(model, path)
    return str(path)


def test_a_wrapping_register_holds_the_exact_sum_modulo_its_range(tmp_path):
    rng = np.random.default_rng(5)
    w = rng.integers(-8, 8, (6, 40)).astype(np.float32) * 0.25
    x = rng.integers(-128, 128, (5, 40)).astype(np.float32) * 0.5
    model = _linear_model(tmp_path / "m.onnx", w)
    exact = run_model(model, [x])
    (rec,) = exact.layers
    for bits in (8, 10, 12):
        loop = AccumulatorLoop(str(bits))
        ex = run_model(model, [x], loop=loop)
        # Order does not matter to a wrapping register: the final value is the exact sum mod 2^B.
        half = 1 << (bits - 1)
        wrapped = (rec.output + half) % (1 << bits) - half
        want = np.maximum(wrapped * 0.125, 0).astype(np.float32)
        np.testing.assert_array_equal(ex.values["r"], want)
        assert loop.totals["outputs_corrupted"] == int(np.count_nonzero(wrapped != rec.output))
    wide = run_model(model, [x], loop=AccumulatorLoop("32"))
    assert np.array_equal(wide.values["r"], exact.values["r"])  # nothing overflowed: bit for bit


def test_a_saturating_register_clamps_what_it_adds(tmp_path):
    w = np.full((1, 4), 7 * 0.25, np.float32)
    x = np.full((1, 4), 127 * 0.5, np.float32)        # four products of 889: 3556 in all
    model = _linear_model(tmp_path / "m.onnx", w)
    loop = AccumulatorLoop("12:sat")                  # [-2048, 2047]
    ex = run_model(model, [x], loop=loop)
    assert ex.values["r"].tolist() == [[np.float32(2047 * 0.125)]]
    assert loop.totals["outputs_corrupted"] == 1


def test_tfc_and_espcn_in_the_loop():
    tfc = evaluate_in_loop(os.path.join(NETS, "tfc", "TFC_2W2A.onnx"), [DIGIT], ["10", "6"])
    ok, narrow = tfc["points"]
    assert (ok["events"], ok["max_abs_diff"], ok["psnr_db"], ok["argmax_agreement"]) == (0, 0.0, float("inf"), 1.0)
    assert narrow["events"] > 0 and narrow["outputs_corrupted"] > 0 and narrow["max_abs_diff"] > 0
    assert set(narrow["layers"]) == {"MatMul_20", "MatMul_32", "MatMul_44", "MatMul_56"}
    espcn = evaluate_in_loop(os.path.join(NETS, "espcn", "nn_resize", "quant_model.onnx"),
                             [os.path.join(NETS, "espcn", "test_data", "input_0.pb")], ["20", "19"])
    safe, short = espcn["points"]
    assert safe["outputs_corrupted"] == 0 and safe["psnr_db"] == float("inf")
    assert short["layers"]["Conv_10"]["outputs_corrupted"] > 0 and short["layers"]["Conv_22"]["events"] == 0
    assert 10 < short["psnr_db"] < 40


def test_qlinearconv_requantizes_what_the_register_holds(tmp_path):
    d = "/usr/share/libonnx-testdata/data/node/test_qlinearconv"
    model = onnx.load(os.path.join(d, "model.onnx"))
    names = [i.name for i in model.graph.input]
    items = [f"{n}={os.path.join(d, 'test_data_set_0', f'input_{i}.pb')}" for i, n in enumerate(names)]
    exact = run_model(os.path.join(d, "model.onnx"), items)
    out = exact.graph.outputs[0]
    assert np.array_equal(run_model(os.path.join(d, "model.onnx"), items, loop=AccumulatorLoop("32")).values[out],
                          exact.values[out])
    loop = AccumulatorLoop("8")
    narrow = run_model(os.path.join(d, "model.onnx"), items, loop=loop)
    assert loop.totals["outputs_corrupted"] > 0
    assert not np.array_equal(narrow.values[out], exact.values[out])


def test_cli_grid_table_json_and_bad_spec(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "python"))
    cli = ["/usr/bin/python3", os.path.join(ROOT, "tools", "accsim-import"), os.path.join(NETS, "tfc", "TFC_2W2A.onnx"),
           "--input", DIGIT]
    p = subprocess.run(cli + ["--out", str(tmp_path / "t.trace"), "--acc-grid", "10; 6", "--loop-json",
                              str(tmp_path / "loop.json")], capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 0, p.stderr
    assert 'in the loop: output "90"' in p.stdout
    result = json.load(open(tmp_path / "loop.json"))
    assert [q["acc"] for q in result["points"]] == ["10", "6"]
    bad = subprocess.run(cli + ["--out", str(tmp_path / "bad.trace"), "--acc-grid", "10;x"], capture_output=True,
                         text=True, env=env, check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("accsim: error: command line: --acc-grid: ")
    assert not os.path.exists(tmp_path / "bad.trace")
