#!/usr/bin/python3
"""Checks of the PyTorch exporter (tools/accsim_export): quantization math, the layers it
captures (conv with stride, padding, dilation and groups; linear; attention matmuls), export
and audit end to end through the accsim binary, the accumulator-aware option on a real layer,
and the errors for layers it cannot export.

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_accsim_export.py

No pytest needed: every function named test_* runs; the exit status is 0 when all pass.
"""
import json
import os
import subprocess
import sys
import tempfile

import pytest

import numpy as np

import torch
from torch import nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "traces", "python"))
import accsim_trace as at  # noqa: E402
from accsim_export import (ExportConfig, Matmul, PaddedConv2d, UnsupportedLayerError, export_trace,  # noqa: E402
                           quantize, tf_same_padding)
import accsim_export.quantization as qz  # noqa: E402
import accsim  # noqa: E402

ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
TINY_FACE = os.path.join(ROOT, "traces", "examples", "tiny-face-detector.trace")


def audit(trace, acc):
    """accsim audit through the module (the CLI's report, in this process); returns (exit status
    the CLI would give, report dict or None, its error line)."""
    try:
        return 0, accsim.audit(trace, acc=acc), ""
    except accsim.InputError as e:
        return 2, None, f"accsim: error: {e}\n"


def layer(report, name):
    return next(l for l in report["layers"] if l["name"] == name)


# ---------------------------------------------------------------- quantization math


def test_weights_per_channel_symmetric_with_both_rounding_modes():
    w = np.array([[0.26, -0.74, 1.0], [0.1, 0.2, -0.05]])
    # M = 3 bits: codes in [-3, 3]; channel 0 scale 1/3 -> w/s = [0.78, -2.22, 3]
    near = qz.quantize_weights(w, 3, "nearest")
    assert np.allclose(near.scale, [1 / 3, 0.2 / 3])
    assert near.codes[0].tolist() == [1, -2, 3]
    trunc = qz.quantize_weights(w, 3, "toward_zero")
    assert trunc.codes[0].tolist() == [0, -2, 3]
    assert trunc.codes[1].tolist() == [1, 3, 0]  # [1.5, 3, -0.75] truncated
    # ties go to even, as torch.round: 2.5 -> 2, 1.5 -> 2
    tie = qz.quantize_weights(np.array([[2.5, 1.5, 3.0]]), 3, "nearest")  # scale exactly 1
    assert tie.codes[0].tolist() == [2, 2, 3]
    # an all-zero channel gets codes 0, not a division by zero
    zero = qz.quantize_weights(np.zeros((1, 4)), 8)
    assert zero.codes.tolist() == [[0, 0, 0, 0]] and zero.scale[0] == 1.0
    assert np.abs(near.dequantize() - w).max() <= near.scale.max() / 2 + 1e-12


def test_activations_unsigned_when_non_negative_signed_otherwise():
    relu = qz.activation_quant(0.0, 5.1, 8)
    assert (relu.signed, relu.zero_point, relu.lo, relu.hi) == (False, 0, 0, 255)
    assert abs(relu.scale - 5.1 / 255) < 1e-15
    sym = qz.activation_quant(-1.0, 3.0, 8)
    assert (sym.signed, sym.zero_point) == (True, 0) and abs(sym.scale - 3.0 / 127) < 1e-15
    asym = qz.activation_quant(-1.0, 3.0, 8, "asymmetric")
    assert asym.signed and abs(asym.scale - 4.0 / 255) < 1e-15
    assert asym.zero_point == round(1.0 / asym.scale) - 128
    codes = asym.quantize(np.array([-1.0, 0.0, 3.0]))
    assert codes[1] == asym.zero_point  # real 0 is exactly the zero point: padding is exact
    assert np.abs(asym.dequantize(codes) - [-1.0, 0.0, 3.0]).max() <= asym.scale / 2 + 1e-12
    assert codes.min() >= -128 and codes.max() <= 127
    low = qz.activation_quant(0.0, 1.0, 4)
    assert low.quantize(np.array([2.0]))[0] == 15  # clamps to the format


def test_bias_folding_carries_the_zero_point_correction():
    w = np.array([[1.0, -2.0, 0.5]])
    wq = qz.quantize_weights(w, 8)
    s_x, zp = 0.1, 7
    b = qz.fold_bias(np.array([0.3]), s_x, wq, zp)
    expected = round(0.3 / (s_x * wq.scale[0])) - zp * int(wq.codes.sum())
    assert b.tolist() == [expected]
    # the integer dot product of codes plus b_int equals the real result / (s_x s_w)
    x = np.array([0.4, -0.2, 0.9])
    act = qz.ActQuant(8, True, s_x, zp)
    codes = act.quantize(x)
    y_int = int((wq.codes[0] * codes).sum() + b[0])
    real = float(wq.dequantize()[0] @ act.dequantize(codes) + 0.3)
    assert abs(y_int * s_x * wq.scale[0] - real) <= s_x * wq.scale[0]


def test_a_dead_channel_with_a_bias_still_fits_32_bits():
    w = np.array([[1e-9, -1e-9], [0.5, 0.25]])
    bias = np.array([2.0, 0.1])
    floor = qz.bias_scale_floor(bias, 0.01)
    wq = qz.quantize_weights(w, 8, min_scale=floor)
    b = qz.fold_bias(bias, 0.01, wq, 0)
    assert abs(int(b[0])) < 2 ** 31
    try:
        qz.fold_bias(bias, 0.01, qz.quantize_weights(w, 8), 0, name="dead")
        raise AssertionError("expected the plain scale to overflow 32 bits")
    except ValueError as exc:
        assert "dead" in str(exc) and "32 bits" in str(exc)


def test_accumulator_aware_weights_fit_the_a2q_budget_with_the_bias():
    rng = np.random.default_rng(1)
    for acc_bits in (12, 16, 20):
        for act in (qz.ActQuant(8, False, 0.02), qz.ActQuant(8, True, 0.05, 0), qz.ActQuant(6, True, 0.1, -3)):
            w = rng.normal(size=(16, 64))
            b = rng.normal(size=16) * 0.5
            wq, b_int = qz.accumulator_aware_weights(w, b, 8, act, acc_bits)
            worst = wq.l1() * (1 << (act.bits - int(act.signed))) + np.abs(b_int)
            assert worst.max() <= (1 << (acc_bits - 1)) - 1, (acc_bits, act)
            assert np.all(np.abs(wq.codes) <= 127)
            # rounded toward zero: never larger in magnitude than the exact ratio
            assert np.all(np.abs(wq.codes) <= np.abs(w / wq.scale[:, None]) + 1e-9)
    assert qz.a2q_l1_budget(16, qz.ActQuant(8, False, 1.0)) == 127  # A2Q's example: P=16, N=8 unsigned
    assert qz.a2q_l1_budget(16, qz.ActQuant(8, True, 1.0)) == 255


def test_tf_same_padding():
    assert tf_same_padding(128, 3, 2) == (0, 1)
    assert tf_same_padding(127, 3, 2) == (1, 1)
    assert tf_same_padding(8, 3, 1) == (1, 1)
    assert tf_same_padding(4, 1, 2) == (0, 0)


# ---------------------------------------------------------------- capture and export


class Zoo(nn.Module):
    """Every kind of layer the exporter captures, with awkward geometry."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.dilated = nn.Conv2d(8, 8, 3, padding=(2, 1), dilation=(2, 1), groups=2)
        self.depthwise = nn.Conv2d(8, 16, 3, padding=1, groups=8)       # channel multiplier 2
        self.same = nn.Conv2d(16, 16, 2, padding="same", bias=False)    # even kernel: asymmetric
        self.tf = PaddedConv2d(nn.Conv2d(16, 12, 3, stride=2), [0, 0, 1, 1])
        self.q = nn.Linear(12, 12)
        self.k = nn.Linear(12, 12)
        self.v = nn.Linear(12, 12)
        self.qk = Matmul()
        self.av = Matmul()
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        y = torch.relu(self.stem(x))
        y = torch.relu(self.dilated(y))
        y = torch.relu(self.depthwise(y))
        y = self.same(y)
        y = self.tf(y)
        t = y.flatten(2).transpose(1, 2)                                  # [B, tokens, 12]
        q, k, v = self.q(t), self.k(t), self.v(t)
        a = torch.softmax(self.qk(q, k.transpose(1, 2)) / 12 ** 0.5, dim=-1)
        return self.fc(self.av(a, v))


def test_every_layer_kind_exports_and_replays_bit_exactly():
    torch.manual_seed(3)
    net = Zoo()
    x = torch.randn(2, 3, 16, 16) + 1.0  # lopsided around 0: an asymmetric input gets a zero point
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "zoo.trace")
        report = export_trace(net, x, path, model_name="zoo", config=ExportConfig(activations="asymmetric"))
        trace = at.read_trace(path)
        assert at.validate_trace(trace, verify_outputs=True) == []
        names = [l["name"] for l in trace.manifest["layers"]]
        assert names == ["stem", "dilated", "depthwise", "same", "tf", "q", "k", "v", "qk", "av", "fc"]
        conv = {l["name"]: l for l in trace.manifest["layers"] if l["op"] == "conv2d"}
        assert conv["stem"]["conv2d"] == {"stride": [2, 2], "padding": [1, 1, 1, 1], "dilation": [1, 1], "groups": 1}
        assert conv["dilated"]["conv2d"] == {"stride": [1, 1], "padding": [2, 1, 2, 1], "dilation": [2, 1], "groups": 2}
        assert conv["depthwise"]["conv2d"]["groups"] == 8
        assert conv["same"]["conv2d"]["padding"] == [0, 0, 1, 1]   # PyTorch pads the extra pixel after
        assert conv["tf"]["conv2d"]["padding"] == [0, 0, 1, 1]
        ops = {l["name"]: l["op"] for l in trace.manifest["layers"]}
        assert ops["qk"] == ops["av"] == "matmul" and ops["q"] == "linear"
        layers = {l["name"]: l for l in trace.manifest["layers"]}
        assert layers["av"]["lhs"]["signed"] is False     # softmax output: unsigned
        assert layers["qk"]["lhs"]["signed"] is True
        assert layers["stem"]["input"]["zero_point"] != 0  # asymmetric input, corrected in the bias
        assert report.model_output_rel_error < 0.1
        status, rep, err = audit(path, "64")
        assert status == 0, err
        assert all(l["output_verified"] is True for l in rep["layers"]), "accsim must reproduce every output"
        assert rep["totals"]["overflow"]["events"] == 0


def test_export_then_audit_end_to_end_on_a_narrow_accumulator():
    torch.manual_seed(4)
    net = Zoo()
    x = torch.randn(1, 3, 16, 16) * 3
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "zoo.trace")
        export_trace(net, x, path, model_name="zoo")
        status, rep, err = audit(path, "12")
        assert status == 0, err
        assert rep["totals"]["overflow"]["events"] > 0       # 8x8-bit products overflow 12 bits
        stem = layer(rep, "stem")
        assert stem["bounds"]["exact_bits"] > 12 and stem["status"] in ("overflow", "corrupted")
        status, rep, _ = audit(path, "32")
        assert status == 0 and rep["totals"]["overflow"]["events"] == 0


def test_the_layers_option_chooses_what_goes_into_the_trace():
    torch.manual_seed(5)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "some.trace")
        report = export_trace(Zoo(), torch.randn(1, 3, 16, 16), path, model_name="zoo",
                              config=ExportConfig(layers=r"^(stem|qk)$"))
        trace = at.read_trace(path)
        assert [l["name"] for l in trace.manifest["layers"]] == ["stem", "qk"]
        assert trace.manifest["meta"]["layers_left_out"][0] == "dilated"
        assert sum(l.in_trace for l in report.layers) == 2 and len(report.layers) == 11
        try:
            quantize(Zoo(), torch.randn(1, 3, 16, 16), ExportConfig(layers="nothing"))
            raise AssertionError("expected an error")
        except ValueError as exc:
            assert "matches no layer" in str(exc)


def test_several_batches_are_calibrated_together_and_concatenated():
    torch.manual_seed(6)
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    batches = [torch.randn(2, 2, 6, 6), torch.randn(3, 2, 6, 6)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "b.trace")
        export_trace(net, batches, path, model_name="b")
        trace = at.read_trace(path)
        assert trace.tensors["0.input"].shape == (5, 2, 6, 6)
        assert trace.tensors["3.input"].shape == (5, 64)
        assert at.validate_trace(trace, verify_outputs=True) == []


# ---------------------------------------------------------------- accumulator-aware option on a real layer


def _real_layer(name):
    """A layer of the bundled tiny-face-detector trace as a float nn.Conv2d and its real input."""
    trace = at.read_trace(TINY_FACE)
    entry = trace.layer(name)
    t = trace.tensors
    scale_w = t[entry["weight"]["scale"]].astype(np.float64)
    w = t[entry["weight"]["tensor"]].astype(np.float64) * scale_w.reshape(-1, 1, 1, 1)
    s_x, zp = entry["input"]["scale"], entry["input"].get("zero_point", 0)
    x = (t[entry["input"]["tensor"]].astype(np.float64) - zp) * s_x
    p = entry["conv2d"]
    conv = nn.Conv2d(w.shape[1] * p["groups"], w.shape[0], w.shape[2:], stride=p["stride"],
                     dilation=p["dilation"], groups=p["groups"], bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
    top, left, bottom, right = p["padding"]
    model = PaddedConv2d(conv, [top, left, bottom, right]) if any(p["padding"]) else conv
    return nn.Sequential(model), torch.from_numpy(x.astype(np.float32))


def test_accumulator_aware_option_gives_zero_events_at_its_width_on_a_real_layer():
    net, x = _real_layer("conv8")   # K = 512: corrupts outputs in a 16-bit accumulator when quantized plainly
    with tempfile.TemporaryDirectory() as tmp:
        plain = os.path.join(tmp, "plain.trace")
        export_trace(net, x, plain, model_name="conv8")
        status, rep, err = audit(plain, "16")
        assert status == 0, err
        assert rep["totals"]["overflow"]["outputs_corrupted"] > 0, "the layer must overflow 16 bits without the option"
        aware = os.path.join(tmp, "aware.trace")
        report = export_trace(net, x, aware, model_name="conv8", config=ExportConfig(acc_bits=16))
        status, rep, err = audit(aware, "16")
        assert status == 0, err
        only = rep["layers"][0]
        assert only["overflow"]["events"] == 0 and only["status"] == "safe"
        assert only["bounds"]["a2q_bits"] <= 16 and only["bounds"]["exact_bits_with_bias"] <= 16
        # and the report says what it cost
        assert report.plain_model_output_rel_error < report.model_output_rel_error
        assert "without the accumulator-aware option" in report.summary()
        manifest = at.read_trace(aware).manifest
        assert manifest["meta"]["acc_bits"] == 16 and manifest["meta"]["rounding"] == "toward_zero"


# ---------------------------------------------------------------- what the exporter refuses


def _refused(model, *words):
    try:
        quantize(model, torch.randn(1, 4, 8, 8))
    except UnsupportedLayerError as exc:
        for word in words:
            assert word in str(exc), f"{word!r} not in {str(exc)!r}"
        return
    raise AssertionError(f"no UnsupportedLayerError for {words}")


class WithConv1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(4, 4, 1), nn.Flatten(2))
        self.temporal = nn.Conv1d(4, 4, 3)

    def forward(self, x):
        return self.temporal(self.body(x))


class CustomWeight(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4, 4))

    def forward(self, x):
        return x


def test_unsupported_layers_are_named_not_skipped():
    _refused(WithConv1d(), "temporal", "Conv1d")
    mha = nn.Sequential(nn.Conv2d(4, 4, 1))
    mha.attn = nn.MultiheadAttention(8, 2)
    _refused(mha, "attn", "MultiheadAttention", "accsim_export.Matmul")
    custom = nn.Sequential(nn.Conv2d(4, 4, 1), CustomWeight())
    _refused(custom, "1", "CustomWeight", "2-D weight")
    _refused(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")), "0", "reflect")
    _refused(nn.Sequential(nn.ConvTranspose2d(4, 4, 2)), "transposed")
    # a module used twice in one forward pass is refused too
    shared = nn.Conv2d(4, 4, 1)
    try:
        quantize(nn.Sequential(shared, nn.ReLU(), shared), torch.randn(1, 4, 8, 8))
        raise AssertionError("expected an error")
    except ValueError as exc:
        assert "runs 2 times" in str(exc)


def test_command_line():
    with tempfile.TemporaryDirectory() as tmp:
        model_py = os.path.join(tmp, "net.py")
        with open(model_py, "w") as f:
            f.write("import torch\nfrom torch import nn\n"
                    "def build():\n    torch.manual_seed(0)\n"
                    "    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(36, 2))\n")
        np.save(os.path.join(tmp, "x.npy"), np.random.default_rng(0).normal(size=(2, 3, 8, 8)).astype(np.float32))
        tool = os.path.join(ROOT, "tools", "accsim-export")
        out = os.path.join(tmp, "net.trace")
        p = subprocess.run([sys.executable, tool, "--model", f"{model_py}:build", "--input",
                            os.path.join(tmp, "x.npy"), "--out", out, "--acc-aware", "14"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "without the accumulator-aware option (14 bits)" in p.stdout
        status, rep, err = audit(out, "14")
        assert status == 0 and rep["totals"]["overflow"]["events"] == 0, err
        bad = subprocess.run([sys.executable, tool, "--model", f"{model_py}:nothing", "--input",
                              os.path.join(tmp, "x.npy"), "--out", out], capture_output=True, text=True)
        assert bad.returncode == 2 and "has no function 'nothing'" in bad.stderr, bad.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
