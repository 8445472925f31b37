#!/usr/bin/python3
"""Checks of accsim-eval's task "ppocr" (tools/accsim_eval/tasks/ppocr.py): the float network
rebuilt from tools/nets/data/ppocr_lines.npz reads every stored line as recorded when the file
was made (which is what onnxruntime read with the whole recognizer), the character error rate
and its edit distance on hand cases, and the task's registration, calibration and scoring.

    /usr/bin/python3 -m pytest tests/python/test_ppocr_task.py
"""
import os
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from accsim_eval.task import Task, get_task, task_names  # noqa: E402
from accsim_eval.tasks.ppocr import DATA, character_error_rate, edit_distance  # noqa: E402


@pytest.fixture(scope="module")
def task():
    return get_task("ppocr")


@pytest.fixture(scope="module")
def model(task):
    return task.model()


@pytest.fixture(scope="module")
def stored():
    with np.load(DATA, allow_pickle=False) as f:
        return {k: f[k] for k in ("boxes", "float_text", "onnx_text", "truth")}


def test_registered(task):
    assert "ppocr" in task_names()
    assert isinstance(task, Task)
    assert (task.name, task.metric, task.higher_is_better) == ("ppocr", "cer", False)
    assert (task.weight_bits, task.act_bits) == (8, 8)
    assert task.description and "\n" not in task.description


def test_data_file(stored):
    n = len(stored["boxes"])
    assert n == 7
    assert stored["boxes"].shape == (n, 4)
    x0, y0, x1, y1 = stored["boxes"].T
    assert np.all(x0 < x1) and np.all(y0 < y1) and np.all(np.diff(y0) > 0)  # top to bottom
    assert len(stored["float_text"]) == len(stored["onnx_text"]) == len(stored["truth"]) == n
    assert os.path.getsize(DATA) < 4_000_000


def test_float_reading_is_the_recorded_one(task, model, stored):
    score = task.evaluate(model)
    assert score.metric == 0.0 and score.examples == 7
    assert score.details == [str(t) for t in stored["float_text"]]
    # the rebuilt neck + head on the float16 data read what the whole ONNX model read
    assert score.details == [str(t) for t in stored["onnx_text"]]
    assert score.details[0] == "Region-based segmentation"
    assert score.extra["page_cer"] < 0.05


def test_scored_against_the_float_reading(task, model):
    reference = task.evaluate(model).details
    same = task.evaluate(lambda x: model(x).numpy().reshape(-1), reference=reference)  # numpy, flattened
    assert same.metric == 0.0 and same.extra["line_accuracy"] == 1.0 and same.details == reference
    # all blanks: nothing read, every reference character deleted
    def blanks(x):
        out = torch.zeros(1, x.shape[-1], 6625)
        out[..., 0] = 1.0
        return out
    blank = task.evaluate(blanks, reference=reference)
    assert blank.details == [""] * 7
    assert blank.metric == 1.0 and blank.extra["line_accuracy"] == 0.0


def test_limit(task, model):
    reference = task.evaluate(model, limit=2)
    assert reference.examples == 2 and len(reference.details) == 2
    score = task.evaluate(model, reference=reference.details, limit=2)
    assert score.examples == 2 and score.metric == 0.0


def test_calibration(task, model):
    batches = task.calibration()
    assert batches and all(isinstance(b, tuple) and len(b) == 1 for b in batches)
    x = batches[0][0]
    assert x.dtype == torch.float32 and x.shape[1:3] == (480, 1)
    tokens = sum(t.shape[-1] for t in task.lines())
    assert x.shape[0] * x.shape[-1] >= tokens  # every token of every line is in a window


def test_attention_products_are_matmul_modules(model):
    from accsim_export import Matmul
    names = [n for n, m in model.named_modules() if isinstance(m, Matmul)]
    assert names == ["blocks.0.qk", "blocks.0.av", "blocks.1.qk", "blocks.1.av"]


def test_edit_distance_hand_cases():
    assert edit_distance("markers", "markers") == 0
    assert edit_distance("markers", "narkers") == 1          # one substitution
    assert edit_distance("markers", "markerss") == 1         # one insertion
    assert edit_distance("markers", "makers") == 1           # one deletion
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "") == 3 and edit_distance("", "") == 0
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("the markers", "themarkers") == 1   # a space the recognizer drops


def test_character_error_rate_hand_cases():
    ref = ["Region-based segmentation", "histogram of grey values:"]
    assert character_error_rate(ref, ref) == 0.0
    assert character_error_rate(["Region-based segmentatiom", ref[1]], ref) == 1 / 50   # substitution
    assert character_error_rate([ref[0] + "s", ref[1]], ref) == 1 / 50                  # insertion
    assert character_error_rate([ref[0], "histogram of grey values"], ref) == 1 / 50    # deletion
    assert character_error_rate(["", ""], ref) == 1.0
    # an empty reference: every character read is an error, counted over at least one character
    assert character_error_rate([""], [""]) == 0.0
    assert character_error_rate(["abc"], [""]) == 3.0
    assert character_error_rate(["ab", ""], ["ab", ""]) == 0.0
    with pytest.raises(ValueError):
        character_error_rate(["a"], ["a", "b"])
