#!/usr/bin/python3
"""The quantized network with accsim in the loop (tools/accsim_eval/loop.py): its convolution
lowering against PyTorch, its exact GEMM against int64 arithmetic, and on a real network (the
bundled tiny face detector) the equality, bit for bit, of a wide accumulator with the exact run,
corruption on a narrow one, and per-layer overrides.

    PYTHONPATH=build/python /usr/bin/python3 -m pytest tests/python/test_eval_loop.py
"""
import os
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import accsim  # noqa: E402
from accsim_eval.loop import LoopModel, exact_gemm, im2col  # noqa: E402
from accsim_eval.specs import describe, family_label  # noqa: E402
from accsim_export import ExportConfig, Matmul, quantize  # noqa: E402
from accsim_export.capture import conv_padding  # noqa: E402
from accsim_export.bundled import tiny_face_detector  # noqa: E402


@pytest.mark.parametrize("case", range(40))
def test_im2col_and_exact_gemm_equal_torch_conv(case):
    rng = np.random.default_rng(case)
    groups = int(rng.choice([1, 2, 3]))
    cin, cout = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pad = [int(v) for v in rng.integers(0, 3, size=4)]  # top, left, bottom, right
    zp = int(rng.integers(-5, 6))
    h, w = int(rng.integers(kh * dilation[0], 9)), int(rng.integers(kw * dilation[1], 9))
    x = rng.integers(-128, 128, size=(2, cin, h, w)).astype(np.int64)
    wt = rng.integers(-127, 128, size=(cout, cin // groups, kh, kw)).astype(np.int64)
    cols, (ho, wo) = im2col(x, (kh, kw), stride, pad, dilation, zp)
    y = exact_gemm(cols, wt.reshape(cout, -1), groups).reshape(2, ho, wo, cout).transpose(0, 3, 1, 2)
    xp = F.pad(torch.from_numpy(x).double(), (pad[1], pad[3], pad[0], pad[2]), value=zp)
    want = F.conv2d(xp, torch.from_numpy(wt).double(), stride=stride, dilation=dilation, groups=groups)
    assert np.array_equal(y, want.numpy().astype(np.int64))


def test_exact_gemm_on_each_of_its_paths():
    x = np.full((1, 4), 1 << 20, dtype=np.int64)
    w = np.full((1, 4), (1 << 31) - 1, dtype=np.int64)   # sums beyond 2^53: the int64 path
    assert exact_gemm(x, w)[0, 0] == 4 * (1 << 20) * ((1 << 31) - 1)
    # Just under 2^24 (float32) and just over (float64): odd sums a float32 would round.
    for k, v in ((250, 65793), (256, 65793)):   # bounds 1.64e7 < 2^24 < 1.68e7
        x = np.full((1, k), 255, dtype=np.int64)
        w = np.full((2, k), v // 255, dtype=np.int64)
        w[1, 0] += 1
        assert exact_gemm(x, w).tolist() == [[k * 255 * (v // 255), k * 255 * (v // 255) + 255]]


@pytest.fixture(scope="module")
def face():
    model, x = tiny_face_detector(size=64)
    q = quantize(model, [x], ExportConfig(activations="asymmetric"))
    return model, q, x


def test_wide_accumulator_equals_the_exact_run_bit_for_bit(face):
    model, q, x = face
    exact = LoopModel(model, q, acc=None)(x)
    # The exporter's own quantized run (float arithmetic on dequantized values) agrees closely.
    assert np.abs(exact.double().numpy() - q.quantized_outputs[0][0]).max() < 1e-4 * np.abs(exact.numpy()).max()
    for spec in ("32", "64", "24:sat", "64x20,32", "8x18:tree,32"):
        run = LoopModel(model, q, acc=spec)
        assert torch.equal(run(x), exact), spec
        assert all(s.outputs_corrupted == 0 and s.events == 0 for s in run.stats.values()), spec
        assert all(s.calls == 1 for s in run.stats.values())


def test_a_narrow_wrapping_accumulator_corrupts_and_the_damage_travels(face):
    model, q, x = face
    exact = LoopModel(model, q, acc=None)(x)
    run = LoopModel(model, q, acc="14")
    y = run(x)
    assert not torch.equal(y, exact)
    assert run.stats["conv0"].outputs_corrupted > 0
    assert run.stats["conv0"].observed_bits[0] > 14
    # Only the last layer narrowed: every earlier layer exact, so the damage is that layer's own.
    last = LoopModel(model, q, acc=None, overrides=[(r"^conv8$", "12")])
    y_last = last(x)
    assert last.specs["conv8"] == "12" and last.specs["conv0"] is None
    assert last.stats["conv8"].outputs_corrupted > 0
    assert sum(s.outputs_corrupted for n, s in last.stats.items() if n != "conv8") == 0
    # The corrupted outputs of conv8 are exactly where accsim.replay says the sums wrapped.
    diff = (y_last != exact).numpy()
    assert 0 < diff.sum() <= last.stats["conv8"].outputs_corrupted


def test_loop_counts_equal_accsim_on_the_same_layer(face):
    # conv0 sees the same codes in both runs: its counts must equal a direct replay of them.
    model, q, x = face
    run = LoopModel(model, q, acc="13")
    run(x)
    layer = q.layers["conv0"]
    codes = layer.act[0].quantize(x.double().numpy())
    w = layer.wq.codes
    cols, _ = im2col(codes, w.shape[2:], layer.module.stride, conv_padding(layer.module), layer.module.dilation,
                     layer.act[0].zero_point)
    r = accsim.replay(cols.astype(np.int16), w.reshape(w.shape[0], -1).astype(np.int8), "13", bias=layer.bias_int,
                      x_bits=layer.act[0].bits, x_signed=layer.act[0].signed)
    assert run.stats["conv0"].outputs_corrupted == r["overflow"]["outputs_corrupted"] > 0
    assert run.stats["conv0"].events == r["overflow"]["events"]


def test_saturation_loses_less_than_wrapping_here(face):
    model, q, x = face
    exact = LoopModel(model, q, acc=None)(x).numpy()
    err = {s: np.abs(LoopModel(model, q, acc=s)(x).numpy() - exact).mean() for s in ("15", "15:sat")}
    assert 0 < err["15:sat"] < err["15"]


def test_float_accumulator_after_integer_tiles(face):
    model, q, x = face
    exact = LoopModel(model, q, acc=None)(x)
    run = LoopModel(model, q, acc="32x32,e8m23")
    y = run(x)
    # FP32 accumulation of exact 32-term integer tiles: close, and at most a rounding apart.
    assert np.allclose(y.numpy(), exact.numpy(), rtol=1e-5, atol=1e-5 * float(exact.abs().max()))
    narrow = LoopModel(model, q, acc="32x32,e5m10")(x)   # FP16 accumulation: visibly worse
    assert np.abs(narrow.numpy() - exact.numpy()).mean() > np.abs(y.numpy() - exact.numpy()).mean()


def test_describe_specs():
    assert describe("16") == describe("16")
    d = describe("128x16,32")
    assert (d.width, d.family, d.a2q_bits) == (16, "128xP,32", 16)
    d = describe("12:sat")
    assert (d.width, d.family, d.a2q_bits) == (12, "P:sat", 12)
    d = describe("128x32,e8m23")
    assert (d.width, d.a2q_bits) == (32, None)
    with pytest.raises(accsim.InputError, match="--acc: 13q"):
        describe("13q")
    with pytest.raises(ValueError, match="--acc: e8m23: the quantized network's operands are integer codes"):
        describe("e8m23")
    assert family_label("P", "plain") == "wrap" and family_label("P:sat", "plain") == "saturate"
    assert family_label("P:sat", "a2q", modes_merged=True) == "A2Q weights"
    assert family_label("P:sat", "a2q") == "saturate, A2Q weights"
    assert family_label("128xP,32", "a2q", modes_merged=True) == "128xP,32, A2Q weights"


def test_broadcast_and_batched_matmul_layers_equal_exact_and_torch():
    # torch.matmul broadcasts leading dimensions; the loop's grouped GEMM must too.
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(6, 5)
            self.mm = Matmul()
            self.mm2 = Matmul()

        def forward(self, x, y, z):
            h = self.proj(x)                       # [2, 3, 4, 5]
            return self.mm(h, y), self.mm2(z, h)   # [2, 3, 4, 5] @ [5, 7]; [7, 4] @ [2, 3, 4, 5]

    torch.manual_seed(0)
    net = Net().eval()
    inputs = (torch.randn(2, 3, 4, 6), torch.randn(5, 7), torch.randn(7, 4))
    q = quantize(net, [inputs], ExportConfig())
    exact = LoopModel(net, q, acc=None)(*inputs)
    wide = LoopModel(net, q, acc="40")(*inputs)
    with torch.no_grad():
        want = net(*inputs)
    assert exact[0].shape == (2, 3, 4, 7) and exact[1].shape == (2, 3, 7, 5)
    for a, b, f in zip(exact, wide, want):
        assert torch.equal(a, b)
        assert a.shape == f.shape and torch.allclose(a, f, atol=0.1 * float(f.abs().max()))
