#!/usr/bin/python3
"""Checks of accsim-eval's face-detector task (tools/accsim_eval/tasks/face_detector.py): the
float tiny face detector finds the faces it should on skimage's photos and LFW mosaics, the
IoU matching that scores a run against it, the decoding of corrupted outputs, and the task's
registration.

    /usr/bin/python3 -m pytest tests/python/test_face_detector_task.py

Needs python3-torch, python3-pil and python3-skimage (Debian); skipped without the last two.
"""
import os
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from accsim_eval.task import Score, TaskUnavailable, get_task  # noqa: E402
import accsim_eval.tasks.face_detector as fd  # noqa: E402

# What the float network finds at 416x416, score >= 0.3, per photo (the task's order).
EXPECTED = {"astronaut": 1, "camera": 1, "lfw-faces-1": 14, "lfw-faces-2": 14, "lfw-faces-3": 16,
            "lfw-faces-4": 16, "lfw-faces-5": 15, "lfw-faces-6": 16,
            "chelsea": 0, "coffee": 0, "rocket": 0, "lfw-background": 0}


@pytest.fixture(scope="module")
def task():
    t = get_task("face-detector")
    try:
        fd.photos()
    except TaskUnavailable as exc:
        pytest.skip(str(exc))
    return t


@pytest.fixture(scope="module")
def model(task):
    return task.model()


@pytest.fixture(scope="module")
def float_score(task, model):
    return task.evaluate(model)


def test_registered():
    t = get_task("face-detector")
    assert t.name == "face-detector" and t.metric == "detections_kept" and t.higher_is_better
    assert (t.weight_bits, t.act_bits) == (8, 8) and t.description and "\n" not in t.description


def test_float_model_finds_the_faces(float_score):
    found = float_score.details
    assert list(found) == list(EXPECTED)
    assert {name: len(d) for name, d in found.items()} == EXPECTED
    assert float_score.metric == 1.0 and float_score.examples == 93
    # Eileen Collins' face: about (133, 61) to (227, 151) in the 416x416 input.
    (score, box), = found["astronaut"]
    assert score > 0.9
    assert fd.iou(box, [133 / 416, 61 / 416, 94 / 416, 90 / 416]) > 0.9
    # One box per face of the mosaics: every centre in its own grid cell.
    for name, dets in found.items():
        if name.startswith("lfw-faces"):
            cells = {(int((x + w / 2) * 4), int((y + h / 2) * 4)) for _, (x, y, w, h) in dets}
            assert len(cells) == len(dets), name


def test_float_run_against_itself(task, model, float_score):
    s = task.evaluate(lambda x: model(x).numpy(), reference=float_score.details, limit=2)  # numpy output
    assert isinstance(s, Score) and s.metric == 1.0 and s.examples == 2
    assert s.extra == {"mean_abs_score_change": 0.0, "extra_detections": 0.0}


def test_run_that_finds_nothing(task, float_score):
    s = task.evaluate(lambda x: torch.full((1, 25, 13, 13), -10.0), reference=float_score.details, limit=3)
    assert s.metric == 0.0 and s.examples == 16 and s.extra["extra_detections"] == 0.0
    assert list(s.details) == ["astronaut", "camera", "lfw-faces-1"]


def test_corrupted_output_decodes_to_finite_boxes():
    out = np.full((1, 25, 13, 13), 1e6)
    out[0, 0, 0, 0] = np.nan
    dets = fd._decode(out)
    assert dets and all(np.isfinite(s) and np.all(np.isfinite(b)) for s, b in dets)
    assert fd._decode(torch.from_numpy(out)) == dets


def box(x, y, w=0.2, h=0.2, score=0.8):
    return [score, [x, y, w, h]]


def test_iou():
    assert fd.iou([0, 0, 1, 1], [0, 0, 1, 1]) == 1.0
    assert fd.iou([0, 0, 1, 1], [2, 2, 1, 1]) == 0.0
    assert fd.iou([0, 0, 2, 1], [1, 0, 2, 1]) == pytest.approx(1 / 3)
    assert fd.iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0


def test_identical_boxes_are_all_kept():
    ref = {"a": [box(0.1, 0.1), box(0.5, 0.5, score=0.6)], "b": [box(0.3, 0.2)]}
    s = fd.compare(ref, ref)
    assert s.metric == 1.0 and s.examples == 3
    assert s.extra == {"mean_abs_score_change": 0.0, "extra_detections": 0.0}


def test_shifted_box_is_not_kept():
    ref = {"a": [box(0.1, 0.1), box(0.5, 0.5)]}
    # Shifted by 0.07 of 0.2: IoU = 0.13 * 0.2 / (2 * 0.04 - 0.026) = 0.48 < 0.5; by 0.06: 0.54.
    assert fd.iou(ref["a"][0][1], [0.17, 0.1, 0.2, 0.2]) < 0.5 < fd.iou(ref["a"][1][1], [0.56, 0.5, 0.2, 0.2])
    run = {"a": [box(0.17, 0.1, score=0.7), box(0.56, 0.5, score=0.9)]}
    s = fd.compare(ref, run)
    assert s.metric == 0.5 and s.examples == 2
    assert s.extra["mean_abs_score_change"] == pytest.approx(0.1)
    assert s.extra["extra_detections"] == 1.0  # the shifted box matches nothing


def test_extra_detection_is_counted():
    ref = {"a": [box(0.1, 0.1)], "b": []}
    run = {"a": [box(0.1, 0.1), box(0.6, 0.6, score=0.4)], "b": [box(0.3, 0.3)]}
    s = fd.compare(ref, run)
    assert s.metric == 1.0 and s.examples == 1 and s.extra["extra_detections"] == 2.0


def test_greedy_matching_uses_each_box_once():
    # Two reference faces side by side and one box of the run between them, nearer the first:
    # it keeps the first; the second is lost.
    ref = {"a": [box(0.10, 0.1), box(0.14, 0.1)]}
    run = {"a": [box(0.11, 0.1)]}
    assert fd.match(ref["a"], run["a"]) == [(0, 0)]
    s = fd.compare(ref, run)
    assert s.metric == 0.5 and s.extra["extra_detections"] == 0.0


def test_reference_must_cover_the_photos():
    with pytest.raises(ValueError, match="no detections for photo 'b'"):
        fd.compare({"a": []}, {"b": []})


def test_missing_photo_says_what_to_install(task):
    import skimage.data
    with pytest.raises(TaskUnavailable, match="apt-get install python3-skimage"):
        fd._load(skimage.data, "no_such_photo")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
