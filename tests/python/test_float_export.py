#!/usr/bin/python3
"""FP8 export (tools/accsim_export, --float): the bundled real networks (face-api's tiny face
detector, PP-OCRv4's SVTR neck, rebuilt offline from their traces) exported as e4m3 / e5m2 traces
with per-tensor, per-channel and DeepSeek-V3 block scales, replayed by accsim through H100's FP8
accumulator with and without promotion every 128 products, every F64 output verified bit for bit;
the FP8 quantizer's scales; bad inputs.

    /usr/bin/python3 -m pytest tests/python/test_float_export.py
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import torch
from torch import nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "traces", "python"))
import accsim_trace as at  # noqa: E402
from accsim_export import ExportConfig, Matmul, export_trace, fp8, quantize  # noqa: E402
from accsim_export.bundled import ppocr_svtr_neck, tiny_face_detector  # noqa: E402
import accsim  # noqa: E402

PROMOTED = "128xe8m13:g32:f13:rz,e8m23"   # H100 FP8: 13-bit accumulation, promoted to fp32 every 128
UNPROMOTED = "e8m13:g32:f13:rz"           # the same tensor core without the promotion


@pytest.fixture(scope="module")
def tmp():
    with tempfile.TemporaryDirectory() as d:
        yield d


def export(model_and_input, path, **cfg):
    model, x = model_and_input
    report = export_trace(model, x, path, model_name=os.path.basename(path), source="test",
                          config=ExportConfig(**cfg))
    return report, at.read_trace(path)


def verified_audit(path, acc):
    rep = accsim.audit(path, acc=acc)
    assert all(l["output_verified"] is True for l in rep["layers"]), [l["name"] for l in rep["layers"]]
    return {l["name"]: l for l in rep["layers"]}


def largest(layers: dict):
    return max(layers.values(), key=lambda l: l["macs"])


def test_face_detector_fp8_replays_with_and_without_promotion(tmp):
    path = os.path.join(tmp, "face-e4m3-channel.trace")
    report, trace = export(tiny_face_detector(), path, float_format="e4m3", float_scaling="channel")
    assert len(trace.layers) == 12 and report.model_output_rel_error < 0.1
    conv0 = trace.layer("conv0")
    assert conv0["input"]["format"] == conv0["weight"]["format"] == "e4m3" and "bias" not in conv0
    assert at.safetensors_dtype(trace.tensors["conv0.weight"]) == "F8_E4M3"
    assert at.safetensors_dtype(trace.tensors["conv0.output"]) == "F64"
    # weights per output channel: each channel's largest magnitude is e4m3's 448
    w = at.decode_float(trace.tensors["conv1_pw.weight"], "e4m3").reshape(32, -1)
    assert np.all(np.abs(w).max(axis=1) == 448)
    assert trace.tensors["conv1_pw.weight_scale"].shape == (32,)
    assert "FP8 e4m3" in trace.manifest["source"] and "dequantized" in trace.manifest["source"]
    assert at.validate_trace(trace, verify_outputs=True) == []   # the Python reference agrees

    promoted, plain = verified_audit(path, PROMOTED), verified_audit(path, UNPROMOTED)
    # the largest layer (conv0, 6.9 M MACs) has K = 27 < 128: promotion never happens there
    big = largest(promoted)
    assert big["name"] == "conv0" and big["dot_length"] < 128
    same = ("max_rel_error", "mean_rel_error", "max_abs_error", "inexact_outputs", "swamped")
    assert [plain["conv0"]["float"][k] for k in same] == [promoted["conv0"]["float"][k] for k in same]
    # where K > 128 the 13-bit accumulator without promotion loses more
    for name in ("conv5_pw", "conv8"):
        assert promoted[name]["dot_length"] > 128
        assert plain[name]["float"]["mean_rel_error"] > promoted[name]["float"]["mean_rel_error"]
        assert plain[name]["float"]["max_abs_error"] > promoted[name]["float"]["max_abs_error"]


def test_ppocr_fp8_largest_layer_needs_the_promotion(tmp):
    path = os.path.join(tmp, "ppocr-e4m3-channel.trace")
    report, trace = export(ppocr_svtr_neck(), path, float_format="e4m3", float_scaling="channel")
    assert [l["op"] for l in trace.layers].count("matmul") == 4
    assert at.validate_trace(trace, verify_outputs=True) == []
    promoted, plain = verified_audit(path, PROMOTED), verified_audit(path, UNPROMOTED)
    big = largest(promoted)["name"]  # conv4: K = 2880 (the backbone's and the blocks' features), 9.2 M MACs
    assert big == "conv4" and promoted[big]["dot_length"] == 2880
    assert plain[big]["float"]["max_rel_error"] > promoted[big]["float"]["max_rel_error"]
    assert plain[big]["float"]["swamped"] > promoted[big]["float"]["swamped"]
    assert plain["conv1"]["float"]["max_rel_error"] > promoted["conv1"]["float"]["max_rel_error"]  # K = 1440


def test_ppocr_deepseek_block_scaling(tmp):
    path = os.path.join(tmp, "ppocr-e4m3-block.trace")
    report, trace = export(ppocr_svtr_neck(tokens=40), path, float_format="e4m3", float_scaling="block")
    fc2 = trace.layer("blocks.0.fc2")  # K = 240: two blocks, the second one 112 long
    assert fc2["input"]["block_scale"] == {"tensor": "blocks.0.fc2.input_block_scale", "block": 128}
    assert fc2["weight"]["block_scale"] == {"tensor": "blocks.0.fc2.weight_block_scale", "block": 128,
                                            "block_channels": 128}
    assert trace.tensors["blocks.0.fc2.input_block_scale"].shape == (1, 40, 2)
    assert trace.tensors["blocks.0.fc2.weight_block_scale"].shape == (1, 2)
    # each 1 x 128 activation tile's amax maps to 448
    x = at.decode_float(trace.tensors["blocks.0.fc2.input"], "e4m3")[0]
    assert np.all(np.abs(x[:, :128]).max(axis=1) == 448) and np.all(np.abs(x[:, 128:]).max(axis=1) == 448)
    conv = trace.layer("conv1")  # no block scales on conv2d: per channel instead, and the trace says so
    assert "block_scale" not in conv["input"] and isinstance(conv["weight"]["scale"], str)
    assert conv["meta"]["scaling"] == "channel" and trace.layer("blocks.0.qk")["meta"]["scaling"] == "tensor"
    assert "conv2d layers per-channel" in trace.manifest["meta"]["scaling"]
    assert "conv2d layers per-channel" in trace.manifest["source"]
    assert at.validate_trace(trace, verify_outputs=True) == []
    verified_audit(path, PROMOTED)
    # F32 block scales need a stage to promote into
    with pytest.raises(accsim.InputError, match="promote"):
        accsim.audit(path, acc=UNPROMOTED)


def test_command_line_e5m2_per_tensor(tmp):
    out = os.path.join(tmp, "face-e5m2.trace")
    tool = os.path.join(ROOT, "tools", "accsim-export")
    p = subprocess.run([sys.executable, tool, "--model", "bundled:tiny-face-detector", "--float", "e5m2",
                        "--float-scaling", "tensor", "--out", out], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "(FP8 e5m2, tensor scaling)" in p.stdout
    trace = at.read_trace(out)
    assert trace.layer("conv8")["weight"]["format"] == "e5m2"
    assert isinstance(trace.layer("conv8")["weight"]["scale"], float)
    assert "rebuilt offline" in trace.manifest["source"] and "FP8 e5m2" in trace.manifest["source"]
    verified_audit(out, PROMOTED)
    bad = subprocess.run([sys.executable, tool, "--model", "bundled:tiny-face-detector", "--float-scaling", "block",
                          "--out", out], capture_output=True, text=True)
    assert bad.returncode == 2 and "need --float" in bad.stderr
    bad = subprocess.run([sys.executable, tool, "--model", "bundled:nothing", "--float", "e4m3", "--out", out],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown bundled network 'nothing'" in bad.stderr


class Small(nn.Module):
    """A linear layer with K = 200 (a short last block), attention matmuls, a grouped conv."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1, groups=2)
        self.q, self.k = nn.Linear(200, 16), nn.Linear(200, 16)
        self.qk = Matmul()
        self.fc = nn.Linear(200, 130, bias=False)

    def forward(self, x):
        t = torch.relu(self.conv(x)).flatten(2).transpose(1, 2).reshape(x.shape[0], -1, 200)
        a = torch.softmax(self.qk(self.q(t), self.k(t).transpose(1, 2)), dim=-1)
        return self.fc(t) + a.sum()


def test_small_model_every_scaling_and_the_forward_pass_sees_fp8(tmp):
    torch.manual_seed(0)
    net, x = Small(), torch.randn(2, 4, 10, 10) * 3
    for fmt in ("e4m3", "e5m2"):
        for scaling in ("tensor", "channel", "block"):
            path = os.path.join(tmp, f"small-{fmt}-{scaling}.trace")
            report, trace = export((net, x), path, float_format=fmt, float_scaling=scaling)
            assert at.validate_trace(trace, verify_outputs=True) == []
            verified_audit(path, PROMOTED)
            assert report.model_output_rel_error < (0.1 if fmt == "e4m3" else 0.2)
    # the recorded input of fc is the FP8 quantization of what the quantized network computed:
    # re-quantizing its dequantized values gives the same codes
    q = quantize(net, x, ExportConfig(float_format="e4m3", float_scaling="block"))
    state = q.states["fc"]
    codes = state.codes[0][0]
    deq = at.decode_float(codes, "e4m3") * np.repeat(state.block_scales[0], 128, axis=-1)[..., :200]
    again, _ = fp8.quantize_values(deq, np.repeat(state.block_scales[0], 128, axis=-1)[..., :200], "e4m3")
    assert np.array_equal(again, codes)
    # a 128 x 128 weight block's amax is 448; fc's 130 rows make a second, 2-row block
    wv = at.decode_float(state.weight.codes, "e4m3")
    assert state.weight.scale.shape == (2, 2)
    assert np.abs(wv[:128, :128]).max() == 448 and np.abs(wv[128:, 128:]).max() == 448


def test_bad_inputs_are_refused():
    for cfg, words in ((dict(float_format="e4m2"), "float_format"),
                       (dict(float_format="e4m3", float_scaling="row"), "float_scaling"),
                       (dict(float_format="e4m3", block=0), "block"),
                       (dict(float_format="e4m3", acc_bits=16), "accumulator-aware")):
        with pytest.raises(ValueError, match=words):
            ExportConfig(**cfg).check()
    with pytest.raises(ValueError, match="multiple of 32"):
        tiny_face_detector(size=100)
    # the writer refuses what accsim would
    with tempfile.TemporaryDirectory() as d:
        w = at.TraceWriter(os.path.join(d, "bad.trace"), model="bad")
        x8, w8 = at.to_e4m3(np.ones((2, 256))), at.to_e4m3(np.ones((4, 256)))
        f8 = dict(input_format="e4m3", weight_format="e4m3")
        with pytest.raises(ValueError, match="takes no bias"):
            w.linear("a", x8, w8, bias=np.zeros(4, np.int32), **f8)
        with pytest.raises(ValueError, match="not a e4m3 value"):
            w.linear("a", np.full((2, 256), 0.1), w8, **f8)
        with pytest.raises(ValueError, match=r"expected \[2, 2\]"):
            w.linear("a", x8, w8, input_block_scale=np.ones((2, 3)), block=128, **f8)
        with pytest.raises(ValueError, match="blocks differ"):
            w.linear("a", x8, w8, input_block_scale=at.BlockScale(np.ones((2, 2)), 128),
                     weight_block_scale=at.BlockScale(np.ones((4, 4)), 64), **f8)
        with pytest.raises(ValueError, match="positive finite"):
            w.linear("a", x8, w8, weight_block_scale=np.array([[1.0, np.nan]] * 4), block=128, **f8)
        with pytest.raises(ValueError, match="float64"):
            w.linear("a", x8, w8, output=np.zeros((2, 4), np.int64), **f8)
        with pytest.raises(ValueError, match="both operands of a layer are float or both integer"):
            w.linear("a", x8, np.ones((4, 256), np.int8), input_format="e4m3", weight_bits=8, weight_signed=True)
        assert not w.manifest["layers"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
