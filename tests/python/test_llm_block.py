#!/usr/bin/python3
"""tools/make_llm_block.py: the LLM-shaped trace is deterministic, has the shapes of a 1B-class
decoder block, records exact outputs that accsim verifies bit for bit, carries its outlier
channels, and gives the same audit for any --threads (the big layers are split across threads).
Run on 16 tokens (the weights are full size: 2048 x 2048, 8192 x 2048).

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_llm_block.py
"""
import hashlib
import json
import os
import subprocess
import tempfile

import accsim
import numpy as np
import pytest
from accsim_trace import Trace, read_safetensors

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GENERATOR = os.path.join(ROOT, "tools", "make_llm_block.py")
TOKENS = 16


@pytest.fixture(scope="module")
def block():
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name in ("a", "b"):
            path = os.path.join(tmp, name + ".trace")
            subprocess.run(["/usr/bin/python3", GENERATOR, "--out", path, "--tokens", str(TOKENS)],
                           check=True, capture_output=True)
            paths.append(path)
        yield paths


def digest(path):
    h = hashlib.sha256()
    for name in ("manifest.json", "tensors.safetensors"):
        with open(os.path.join(path, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def test_the_same_seed_gives_the_same_trace(block):
    assert digest(block[0]) == digest(block[1])


def test_shapes_of_a_decoder_block(block):
    manifest = json.load(open(os.path.join(block[0], "manifest.json")))
    layers = {l["name"]: l for l in manifest["layers"]}
    assert list(layers) == ["attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.qk", "attn.av",
                            "attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
    tensors = read_safetensors(os.path.join(block[0], "tensors.safetensors"))
    shape = lambda layer, role: list(tensors[layers[layer][role]["tensor"]].shape)  # noqa: E731
    assert shape("attn.q_proj", "weight") == [2048, 2048]
    assert shape("mlp.gate_proj", "weight") == [8192, 2048]
    assert shape("mlp.down_proj", "weight") == [2048, 8192]
    assert shape("attn.qk", "lhs") == [16, TOKENS, 128] and shape("attn.qk", "rhs") == [16, 128, TOKENS]
    assert shape("attn.av", "lhs") == [16, TOKENS, TOKENS] and shape("attn.av", "rhs") == [16, TOKENS, 128]
    # W4A8: 4-bit signed weights, 8-bit unsigned activations with a zero point (in the bias).
    q = layers["attn.q_proj"]
    assert (q["weight"]["bits"], q["weight"]["signed"]) == (4, True)
    assert (q["input"]["bits"], q["input"]["signed"]) == (8, False)
    assert "bias" in q and q["input"]["zero_point"] > 0
    w = tensors[q["weight"]["tensor"]]
    assert w.min() >= -8 and w.max() <= 7 and w.min() < -4 and w.max() > 4


def test_the_outlier_channels_stand_out(block):
    manifest = json.load(open(os.path.join(block[0], "manifest.json")))
    outliers = manifest["meta"]["outlier_channels"]
    assert len(outliers) == 6
    tensors = read_safetensors(os.path.join(block[0], "tensors.safetensors"))
    q = next(l for l in manifest["layers"] if l["name"] == "attn.q_proj")
    x = tensors[q["input"]["tensor"]].astype(np.int64) - q["input"]["zero_point"]
    spread = np.abs(x).mean(axis=0)
    others = np.delete(spread, outliers)
    assert spread[outliers].min() > 10 * np.median(others)


def test_every_output_is_verified_and_threads_change_nothing(block):
    one = accsim.audit(block[0], acc="128x16,32:sat", threads=1)
    two = accsim.audit(block[0], acc="128x16,32:sat", threads=2)
    assert one == two
    assert all(l["output_verified"] for l in one["layers"])
    # A narrow first stage overflows: the replay's slow paths run on the same trace.
    narrow = accsim.audit(block[0], acc="128x10,32:sat", threads=2)
    assert narrow["totals"]["overflow"]["events"] > 0
    assert narrow == accsim.audit(block[0], acc="128x10,32:sat", threads=1)
