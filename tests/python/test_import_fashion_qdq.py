"""accsim-import on a real network in ONNX's QDQ form: the Fashion-MNIST CNN trained here,
W8A8 by accsim's exporter, written as ONNX Runtime's static quantizer writes QDQ models
(tools/nets/make_fashion_mnist_qdq.py), on real Fashion-MNIST test images."""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from accsim_import import import_model  # noqa: E402
from accsim_import.importer import evaluate_in_loop  # noqa: E402

onnx = pytest.importorskip("onnx")
accsim = pytest.importorskip("accsim")
fm = pytest.importorskip("nets.fashion_mnist")
MODEL = os.path.join(ROOT, "tools", "nets", "onnx", "fashion_mnist_w8a8_qdq.onnx")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    if not fm.available():
        pytest.skip("dataset-fashion-mnist is not installed")
    x, y = fm.load_split("test")
    path = tmp_path_factory.mktemp("fm") / "test200.npy"
    np.save(path, np.asarray(x[:200], dtype=np.float32))
    return str(path), np.asarray(y[:200])


def test_the_committed_model_is_what_the_script_writes(tmp_path):
    """The file is the exporter's quantization of the committed weights, nothing edited by hand.
    Weights depend on the weights alone (equal bit for bit); activation scales come from
    calibration runs, whose float sums may differ in the last bits on another CPU."""
    script = __import__("importlib").import_module("nets.make_fashion_mnist_qdq")
    rebuilt = script.build(script.quantized_layers())
    committed = onnx.load(MODEL)
    assert [(n.op_type, n.name, list(n.input)) for n in rebuilt.graph.node] == \
        [(n.op_type, n.name, list(n.input)) for n in committed.graph.node]
    new = {t.name: onnx.numpy_helper.to_array(t) for t in rebuilt.graph.initializer}
    old = {t.name: onnx.numpy_helper.to_array(t) for t in committed.graph.initializer}
    assert new.keys() == old.keys()
    for name, value in old.items():
        if name.endswith(("weight_q", "weight_scale", "zero_point")):
            assert np.array_equal(new[name], value), name
        elif name.endswith("bias_q"):
            assert np.abs(new[name].astype(np.int64) - value).max() <= 1, name
        else:
            np.testing.assert_allclose(new[name], value, rtol=1e-5, err_msg=name)


def test_qdq_network_imports_with_integer_biases_and_reads_the_images(images, tmp_path):
    path, labels = images
    result = import_model(MODEL, [path], out=tmp_path / "fm.trace")
    assert [(r.name, r.op) for r in result.layers] == [("conv1", "conv2d"), ("conv2", "conv2d"),
                                                         ("fc1", "linear"), ("fc2", "linear")]
    assert result.notes == []
    model = onnx.load(MODEL)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    for rec in result.layers:
        # weights and biases are the QDQ initializers' integers (the biases recognised at accumulator scale)
        assert np.array_equal(rec.b.codes.reshape(inits[f"{rec.name}.weight_q"].shape), inits[f"{rec.name}.weight_q"])
        assert np.array_equal(rec.bias, inits[f"{rec.name}.bias_q"]) and "float_bias" not in rec.meta
        assert (rec.a.bits, rec.a.signed, rec.b.bits, rec.b.signed) == (8, False, 8, True)
        assert rec.meta["check"]["max_error_over_bound"] <= 1
    report = accsim.audit(result.trace, acc="64")
    assert [layer["output_verified"] for layer in report["layers"]] == [True] * 4
    top1 = float(np.mean(result.outputs["logits"].argmax(axis=1) == labels))
    assert top1 >= 0.85   # the float network: 90.2 % on all 10,000


def test_qdq_network_in_the_loop(images):
    path, _ = images
    r = evaluate_in_loop(MODEL, [path], ["24", "12"])
    wide, narrow = r["points"]
    assert wide["outputs_corrupted"] == 0 and wide["argmax_agreement"] == 1.0
    assert narrow["outputs_corrupted"] > 0 and narrow["argmax_agreement"] < 0.5
