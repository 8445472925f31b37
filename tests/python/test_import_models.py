"""accsim-import on real quantized models trained by others (tools/nets/qonnx): the TFC MNIST
MLPs, ESPCN super-resolution and an FP8 Brevitas layer. Each imports, replays with accsim bit
for bit (output_verified), and the network still does its job on a real input."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))

from accsim_import import import_model, run_model  # noqa: E402
from accsim_import.inputs import read_array  # noqa: E402
from accsim_import.finn_width import finn_dtype_bits  # noqa: E402

accsim = pytest.importorskip("accsim")
NETS = os.path.join(ROOT, "tools", "nets", "qonnx")
DIGIT = os.path.join(NETS, "mnist_digit", "digit_2.pb")
IMAGE = os.path.join(NETS, "espcn", "test_data", "input_0.pb")


@pytest.fixture(scope="module")
def digit01(tmp_path_factory):
    """The real MNIST "2", scaled to [0, 1] as the TFC models were trained."""
    path = tmp_path_factory.mktemp("digit") / "digit01.npy"
    np.save(path, (read_array(DIGIT) / np.float32(255)).astype(np.float32))
    return str(path)


def _verified(trace: str, acc: str = "64") -> list:
    report = accsim.audit(trace, acc=acc)
    return [layer["output_verified"] for layer in report["layers"]]


@pytest.mark.parametrize("name", ["TFC_1W1A", "TFC_1W2A", "TFC_2W2A"])
def test_tfc_imports_replays_and_reads_the_digit(name, digit01, tmp_path):
    result = import_model(os.path.join(NETS, "tfc", f"{name}.onnx"), [digit01], out=tmp_path / "t.trace")
    assert [r.op for r in result.layers] == ["linear"] * 4
    assert [r.b.codes.shape for r in result.layers] == [(64, 784), (64, 64), (64, 64), (10, 64)]
    assert result.notes == []
    report = accsim.audit(result.trace, acc="64")
    assert [layer["output_verified"] for layer in report["layers"]] == [True] * 4
    logits = next(iter(result.outputs.values()))
    cnn = read_array(os.path.join(NETS, "mnist_digit", "mnist_cnn_logits.pb"))
    assert int(np.argmax(logits)) == int(np.argmax(cnn)) == 2
    for rec in result.layers:
        # bipolar (1-bit) operands hold +-1, 2-bit Brevitas ones (narrow) -1..1: all in a 2-bit signed declaration
        assert (rec.a.bits, rec.a.signed, rec.b.bits, rec.b.signed) == (2, True, 2, True)
        assert set(np.unique(rec.a.codes)) <= {-1, 0, 1} and set(np.unique(rec.b.codes)) <= {-1, 0, 1}
        assert rec.meta["check"]["max_error_over_bound"] <= 1
        # FINN's width from the weights and the input datatype, recomputed here by brute force
        lo, hi = (-1, 1) if rec.meta["kinds"][0] == "bipolar" else (-2, 1)
        w = rec.b.codes.astype(np.int64)
        top = np.where(w > 0, w * hi, w * lo).sum(axis=1).max()
        bottom = np.where(w > 0, w * lo, w * hi).sum(axis=1).min()
        assert rec.meta["finn_accumulator"]["bits"] == finn_dtype_bits(int(bottom), int(top))[0]
    # The quantizers' ranges are declared (bipolar and narrow 2-bit: -1..1), so accsim's exact
    # bound knows the inputs never reach -2: it is FINN's width or, for the narrow ones that FINN
    # types as INT2 (-2..1), narrower.
    manifest = __import__("json").load(open(os.path.join(result.trace, "manifest.json")))
    assert [layer["input"]["range"] for layer in manifest["layers"]] == [[-1, 1]] * 4
    for rec, layer in zip(result.layers, report["layers"]):
        finn = rec.meta["finn_accumulator"]["bits"]
        exact = layer["bounds"]["exact_bits"]
        assert exact == finn if rec.meta["kinds"][0] == "bipolar" else exact <= finn


def test_tfc_batch_of_inputs_is_one_trace(digit01, tmp_path):
    r = import_model(os.path.join(NETS, "tfc", "TFC_2W2A.onnx"), [digit01, digit01, digit01], out=tmp_path / "b.trace")
    assert r.layers[0].a.codes.shape == (3, 784)
    out = next(iter(r.outputs.values()))
    assert out.shape == (3, 10) and np.array_equal(out[0], out[2])


def _psnr(a, b) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


def test_espcn_nn_resize_all_four_convolutions_and_psnr(tmp_path):
    quant = os.path.join(NETS, "espcn", "nn_resize", "quant_model.onnx")
    result = import_model(quant, [IMAGE], out=tmp_path / "e.trace")
    assert [r.name for r in result.layers] == ["Conv_10", "Conv_22", "Conv_34", "Conv_48"]
    assert [(r.a.bits, r.a.signed, r.b.bits, r.b.signed) for r in result.layers] == [
        (8, False, 8, True), (4, False, 4, True), (4, False, 4, True), (8, False, 8, True)]
    assert all("float_bias" in r.meta for r in result.layers)  # the Conv biases are float
    assert _verified(result.trace) == [True] * 4
    image = next(iter(result.outputs.values()))
    float_run = run_model(os.path.join(NETS, "espcn", "nn_resize", "float_model.onnx"), [IMAGE], strict_shape=False)
    reference = float_run.values[float_run.graph.outputs[0]]
    assert image.shape == reference.shape == (1, 3, 256, 256)
    assert _psnr(image, np.clip(reference, 0, 1)) > 30.0


def test_espcn_subpixel_leaves_the_float_first_layer_out(tmp_path):
    result = import_model(os.path.join(NETS, "espcn", "subpixel", "quant_model.onnx"), [IMAGE],
                          out=tmp_path / "s.trace")
    assert [r.name for r in result.layers] == ["Conv_17", "Conv_29", "Conv_41"]
    assert len(result.notes) == 1 and '"Conv_5"' in result.notes[0] and "float layer" in result.notes[0]
    assert _verified(result.trace) == [True] * 3
    manifest_notes = __import__("json").load(open(os.path.join(result.trace, "manifest.json")))["meta"]["left_out"]
    assert manifest_notes == result.notes


def test_fp8_floatquant_layer_matches_brevitas(tmp_path):
    folder = os.path.join(NETS, "floatquant_exec")
    x = os.path.join(folder, "test_data", "input.npy")
    result = import_model(os.path.join(folder, "qonnx_act_weight_fp8.onnx"), [x], out=tmp_path / "f.trace")
    out = next(iter(result.outputs.values()))
    assert np.array_equal(out, np.load(os.path.join(folder, "test_data", "output.npy")))
    (rec,) = result.layers
    assert (rec.a.format, rec.b.format) == ("e4m3", "e4m3")
    quantized = np.load(os.path.join(folder, "test_data", "activation.npz"))
    assert np.allclose(rec.a.codes * rec.a.scale, quantized["input_quant"], rtol=1e-6, atol=0)
    assert np.allclose(rec.b.codes * rec.b.scale[:, None], quantized["weight_quant"], rtol=1e-6, atol=0)
    assert _verified(result.trace, acc="e8m23") == [True]


def test_cli_prints_the_audit_table(digit01, tmp_path):
    out = tmp_path / "cli.trace"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "python"))
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "accsim-import"),
                        os.path.join(NETS, "tfc", "TFC_2W2A.onnx"), "--input", digit01, "--out", str(out)],
                       capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].endswith("4 layer(s) from TFC_2W2A.onnx")
    assert lines[1].split() == ["layer", "op", "K", "x", "w", "check", "(err/bound)", "datatype", "a2q",
                                "exact", "observed", "FINN"]
    first = lines[2].split()
    assert first[:5] == ["MatMul_20", "linear", "784", "i2[-1,1]", "i2[-1,1]"]
    assert first[-1] == "10" and int(first[-2]) <= int(first[-3])  # FINN; observed <= exact
    assert os.path.exists(out / "manifest.json")


def test_the_accsim_module_imports_too(digit01, tmp_path):
    r = accsim.import_onnx(os.path.join(NETS, "tfc", "TFC_2W2A.onnx"), [digit01], out=tmp_path / "m.trace")
    assert len(r.layers) == 4 and os.path.exists(os.path.join(r.trace, "manifest.json"))
    with pytest.raises(accsim.InputError, match=r"README\.md: model: not an ONNX model"):
        accsim.import_onnx(os.path.join(ROOT, "README.md"), [digit01], out=tmp_path / "never.trace")
    assert not os.path.exists(tmp_path / "never.trace")
