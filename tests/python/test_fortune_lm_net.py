#!/usr/bin/python3
"""Checks of the fortunes language model (tools/nets/fortune_lm.py) and its accsim-eval task:
the corpus split is deterministic and disjoint, the model is causal, the committed weights
give the recorded validation perplexity, the exporter captures every Linear and Matmul layer,
and the task is registered.

    /usr/bin/python3 -m pytest tests/python/test_fortune_lm_net.py

Needs the Debian package `fortunes` for the corpus checks (they skip without it).
"""
import math
import os
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from nets import fortune_lm as flm  # noqa: E402

HAVE_FORTUNES = os.path.isdir(flm.DATA_DIR)
needs_fortunes = pytest.mark.skipif(not HAVE_FORTUNES, reason="the Debian package `fortunes` is not installed")


@pytest.fixture(scope="module")
def corpus():
    return flm.load_corpus()


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return flm.load_model()


@pytest.fixture(scope="module")
def record():
    return flm.load_record()


def test_split_entries():
    text = "one\n%\n\ntwo\nlines\n\n%\n%\nthree\n"
    assert flm.split_entries(text) == ["one", "two\nlines", "three"]


def test_missing_package_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="fortunes"):
        flm.load_corpus(str(tmp_path / "absent"))


def test_corpus_from_a_small_directory(tmp_path):
    (tmp_path / "b").write_text("".join(f"b{i}\n%\n" for i in range(8)))
    (tmp_path / "a").write_text("a0\n%\nshared\n%\n")
    (tmp_path / "c").write_bytes(b"bad \xff byte\n%\n")
    (tmp_path / "a.dat").write_bytes(b"\0\0")
    os.symlink("a", tmp_path / "a.u8")
    (tmp_path / "off").mkdir()
    (tmp_path / "d").write_text("shared\n%\nd0\n")
    c = flm.load_corpus(str(tmp_path), split_every=3)
    assert c.files == ["a", "b", "d"] and c.skipped == ["c"] and c.duplicates == 1
    entries = ["a0", "shared"] + [f"b{i}" for i in range(8)] + ["d0"]
    assert c.valid_entries == entries[2::3]
    assert c.train_entries == [e for i, e in enumerate(entries) if i % 3 != 2]
    assert bytes(c.valid) == "".join(e + "\n%\n" for e in entries[2::3]).encode()


@needs_fortunes
def test_corpus_split_is_deterministic_and_disjoint(corpus):
    again = flm.load_corpus()
    assert np.array_equal(corpus.train, again.train) and np.array_equal(corpus.valid, again.valid)
    assert corpus.files == again.files and len(corpus.files) > 0
    assert not set(corpus.train_entries) & set(corpus.valid_entries)
    n = len(corpus.train_entries) + len(corpus.valid_entries)
    assert len(corpus.valid_entries) == n // flm.SPLIT_EVERY
    assert corpus.train.dtype == np.uint8 and int(corpus.valid.max()) < flm.VOCAB


def test_causal():
    torch.manual_seed(0)
    m = flm.FortuneLM().eval()
    x = torch.randint(0, flm.VOCAB, (2, flm.CONTEXT))
    t = 57
    y = x.clone()
    y[:, t] = (y[:, t] + 1) % flm.VOCAB
    with torch.no_grad():
        a, b = m(x), m(y)
    assert a.shape == (2, flm.CONTEXT, flm.VOCAB)
    assert torch.equal(a[:, :t], b[:, :t])
    assert not torch.allclose(a[:, t], b[:, t])


def test_training_is_deterministic(tmp_path):
    (tmp_path / "f").write_text("".join(f"fortune number {i} says hello\n%\n" for i in range(40)))
    c = flm.load_corpus(str(tmp_path))
    threads = torch.get_num_threads()
    a, settings = flm.train(seed=3, steps=3, batch_size=2, corpus=c, log=None)
    b, _ = flm.train(seed=3, steps=3, batch_size=2, corpus=c, log=None)
    assert settings["training_tokens"] == 3 * 2 * flm.CONTEXT
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()


def test_perplexity_of_uniform_logits():
    logits = np.zeros((3, 5, 7))
    assert flm.perplexity(logits, np.zeros((3, 5), dtype=np.int64)) == pytest.approx(7.0, rel=1e-12)
    assert flm.perplexity(torch.zeros(4, 10), torch.arange(4)) == pytest.approx(10.0, rel=1e-12)


def test_weights_file_is_small_and_float16():
    assert os.path.getsize(flm.WEIGHTS) < 1_000_000
    with np.load(flm.WEIGHTS) as z:
        assert {z[k].dtype for k in z.files} == {np.dtype(np.float16)}


@needs_fortunes
def test_loaded_weights_give_the_recorded_perplexity(corpus, model, record):
    if corpus.digest() != record["corpus"]["sha256"]:
        pytest.skip("the installed fortunes differ from the corpus the weights were measured on")
    quick = record["validation"]["first_windows"]
    ppl, _, windows, tokens = flm.evaluate(model, corpus.valid, limit=quick["windows"])
    assert windows == quick["windows"] and tokens == windows * flm.CONTEXT
    assert ppl == pytest.approx(quick["perplexity"], rel=1e-5)
    v = record["validation"]
    assert v["perplexity"] < v["unigram_perplexity"] / 4
    assert v["windows"] == (len(corpus.valid) - 1) // flm.CONTEXT


@needs_fortunes
def test_the_exporter_captures_every_linear_and_matmul(model):
    from accsim_eval.task import get_task
    from accsim_export import ExportConfig, quantize
    task = get_task("fortune-lm")
    batch = task.calibration()[0][0][:2]
    q = quantize(model, [(batch,)], ExportConfig(weight_bits=4, act_bits=8))
    blocks = len(model.blocks)
    assert len(q.order) == 6 * blocks + 1
    kinds = [q.layers[n].kind for n in q.order]
    assert kinds.count("matmul") == 2 * blocks and kinds.count("linear") == 4 * blocks + 1
    assert q.order[:3] == ["blocks.0.attn.qkv", "blocks.0.attn.scores", "blocks.0.attn.mix"]
    out = q.quantized_outputs[0][0]
    assert out.shape == (2, flm.CONTEXT, flm.VOCAB) and np.isfinite(out).all()


@needs_fortunes
def test_the_task_is_registered_and_scores_the_float_model(model, record):
    from accsim_eval.task import get_task
    task = get_task("fortune-lm")
    assert (task.metric, task.higher_is_better, task.weight_bits, task.act_bits) == ("perplexity", False, 4, 8)
    cal = task.calibration()
    assert len(cal) == 2 and all(len(b) == 1 and b[0].dtype == torch.int64 and b[0].shape == (16, flm.CONTEXT)
                                 for b in cal)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(cal, task.calibration()))
    score = task.evaluate(lambda x: model(x).numpy(), limit=4)
    assert score.examples == 4
    assert score.metric == pytest.approx(math.exp(score.details["nll"]), rel=1e-12)
    assert 1.0 < score.metric < record["validation"]["unigram_perplexity"]


def test_the_task_says_what_to_install(monkeypatch, tmp_path):
    from accsim_eval.task import TaskUnavailable, get_task
    real = flm.load_corpus
    monkeypatch.setattr(flm, "load_corpus", lambda: real(str(tmp_path / "absent")))
    with pytest.raises(TaskUnavailable, match="apt-get install fortunes"):
        get_task("fortune-lm").calibration()
