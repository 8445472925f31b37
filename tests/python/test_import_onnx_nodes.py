"""ONNX's own node tests for the integer ops (Debian's libonnx-testdata): QLinearConv,
QLinearMatMul, ConvInteger and MatMulInteger run through accsim-import give ONNX's expected
outputs exactly, and the traces they make replay bit for bit."""
import glob
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))

from accsim_import import import_model  # noqa: E402
from accsim_import.inputs import read_array  # noqa: E402

onnx = pytest.importorskip("onnx")
accsim = pytest.importorskip("accsim")
NODE_TESTS = "/usr/share/libonnx-testdata/data/node"
OPS = ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger")


def _cases():
    found = []
    for d in sorted(glob.glob(os.path.join(NODE_TESTS, "test_*"))):
        model = onnx.load(os.path.join(d, "model.onnx"))
        if len(model.graph.node) == 1 and model.graph.node[0].op_type in OPS:
            found.append(os.path.basename(d))
    return found


CASES = _cases()


def test_the_node_tests_are_there():
    assert len(CASES) >= 7, f"libonnx-testdata missing or changed: {CASES}"
    assert {onnx.load(os.path.join(NODE_TESTS, c, "model.onnx")).graph.node[0].op_type for c in CASES} == set(OPS)


@pytest.mark.parametrize("case", CASES)
def test_node_test_replays_bit_for_bit(case, tmp_path):
    d = os.path.join(NODE_TESTS, case)
    model = onnx.load(os.path.join(d, "model.onnx"))
    inputs = sorted(glob.glob(os.path.join(d, "test_data_set_0", "input_*.pb")))
    names = [i.name for i in model.graph.input]
    result = import_model(os.path.join(d, "model.onnx"), [f"{n}={p}" for n, p in zip(names, inputs)],
                          out=tmp_path / "t.trace")
    expected = read_array(os.path.join(d, "test_data_set_0", "output_0.pb"))
    got = next(iter(result.outputs.values()))
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    (layer,) = result.layers
    if model.graph.node[0].op_type in ("ConvInteger", "MatMulInteger"):
        assert np.array_equal(layer.output, expected)  # their output is the accumulation itself
    report = accsim.audit(result.trace, acc="64")
    assert [entry["output_verified"] for entry in report["layers"]] == [True]
    assert report["layers"][0]["overflow"]["events"] == 0
