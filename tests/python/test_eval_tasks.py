#!/usr/bin/python3
"""Every accsim-eval task on its real network and data: with an accumulator wide enough for every
sum the network's output equals the exactly quantized network's bit for bit, batch by batch; a
narrow wrapping accumulator changes it; and the task's metric at the wide point equals the
quantized baseline. (A task whose Debian data is missing is skipped, saying what to install.)

    PYTHONPATH=build/python /usr/bin/python3 -m pytest tests/python/test_eval_tasks.py
"""
import os
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from accsim_eval.loop import LoopModel  # noqa: E402
from accsim_eval.task import TaskUnavailable, get_task, task_names  # noqa: E402
from accsim_export import ExportConfig, quantize  # noqa: E402

# Few examples each: the point is equality on every output, not the metric's precision.
LIMITS = {"fashion-mnist": 1000, "face-detector": 2, "ppocr": 3, "fortune-lm": 32}
WIDE, NARROW = "32", "12"


def _flat(y):
    if isinstance(y, torch.Tensor):
        return [y.detach().numpy()]
    if isinstance(y, np.ndarray):
        return [y]
    if isinstance(y, (tuple, list)):
        return [a for v in y for a in _flat(v)]
    if isinstance(y, dict):
        return [a for k in sorted(y) for a in _flat(y[k])]
    return []


def test_every_task_has_a_limit_here():
    assert set(task_names()) == set(LIMITS)


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_wide_equals_exact_and_narrow_wrapping_differs(name):
    task = get_task(name)
    try:
        model = task.model()
        calibration = task.calibration()
    except TaskUnavailable as e:
        pytest.skip(str(e))
    q = quantize(model, calibration, ExportConfig(weight_bits=task.weight_bits, act_bits=task.act_bits,
                                                  activations=task.activations))
    exact, wide, narrow = (LoopModel(model, q, acc=a) for a in (None, WIDE, NARROW))
    seen = {"batches": 0, "narrow_differs": 0}

    def forward(*inputs):
        want = exact(*inputs)
        got = wide(*inputs)
        for a, b in zip(_flat(want), _flat(got)):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name
        if any(not np.array_equal(a, b, equal_nan=True) for a, b in zip(_flat(want), _flat(narrow(*inputs)))):
            seen["narrow_differs"] += 1
        seen["batches"] += 1
        return want

    reference = task.evaluate(_no_grad(model), limit=LIMITS[name]).details
    base = task.evaluate(forward, reference=reference, limit=LIMITS[name])
    assert seen["batches"] > 0 and seen["narrow_differs"] > 0, seen
    assert all(s.events == 0 for s in wide.stats.values())
    assert sum(s.outputs_corrupted for s in narrow.stats.values()) > 0
    # The metric of the wide run is the quantized baseline's, to the last digit.
    assert task.evaluate(LoopModel(model, q, acc=WIDE), reference=reference, limit=LIMITS[name]).metric == base.metric


def _no_grad(model):
    def forward(*inputs):
        with torch.no_grad():
            return model(*inputs)
    return forward
