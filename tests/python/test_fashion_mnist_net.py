#!/usr/bin/python3
"""Checks of the Fashion-MNIST network and task (tools/nets/fashion_mnist.py,
tools/accsim_eval/tasks/fashion_mnist.py): the IDX reader against the dataset's known shape and
class counts and against corrupt files, the committed weights against the accuracy recorded
when they were trained, and the task's registration, calibration data and scoring.

    /usr/bin/python3 -m pytest tests/python/test_fashion_mnist_net.py

The data checks need the Debian package dataset-fashion-mnist and are skipped without it.
"""
import gzip
import os
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from nets import fashion_mnist as fm  # noqa: E402
from accsim_eval.task import TaskUnavailable, get_task, task_names  # noqa: E402

needs_data = pytest.mark.skipif(not fm.available(), reason=f"the Debian package {fm.PACKAGE} is not installed")


@pytest.fixture(scope="module")
def train_split():
    return fm.load_split("train")


@pytest.fixture(scope="module")
def test_split():
    return fm.load_split("test")


def idx_bytes(a: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file holding `a` (uint8 by default)."""
    header = bytes([0, 0, type_code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    return header + a.tobytes()


def write_split(root, split: str, images: np.ndarray, labels: np.ndarray):
    img_path, lab_path = fm.data_files(split, str(root))
    with gzip.open(img_path, "wb") as f:
        f.write(idx_bytes(images))
    with gzip.open(lab_path, "wb") as f:
        f.write(idx_bytes(labels))
    return img_path, lab_path


# ---------------------------------------------------------------- the IDX reader


@needs_data
def test_train_split_has_the_known_shape_and_class_counts(train_split):
    x, y = train_split
    assert x.dtype == torch.float32 and tuple(x.shape) == (60000, 1, 28, 28)
    assert y.dtype == torch.int64 and tuple(y.shape) == (60000,)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert np.bincount(y.numpy(), minlength=10).tolist() == [6000] * 10


@needs_data
def test_test_split_has_the_known_shape_and_class_counts(test_split):
    x, y = test_split
    assert tuple(x.shape) == (10000, 1, 28, 28) and tuple(y.shape) == (10000,)
    assert np.bincount(y.numpy(), minlength=10).tolist() == [1000] * 10
    # pixels are bytes / 255: every value is a multiple of 1/255
    codes = x[:100].numpy() * 255
    assert np.array_equal(codes, np.round(codes))


def test_read_idx_reads_plain_and_gzipped_files_of_any_type(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(idx_bytes(a))
    assert np.array_equal(fm.read_idx(tmp_path / "a.idx"), a)
    b = np.array([[1.5, -2.0], [3.25, 0.0]], dtype=">f4")
    with gzip.open(tmp_path / "b.idx.gz", "wb") as f:
        f.write(idx_bytes(b, 0x0D))
    got = fm.read_idx(tmp_path / "b.idx.gz")
    assert got.dtype == np.float32 and np.array_equal(got, b)


def test_load_split_reads_from_another_root(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3, 1], dtype=np.uint8)
    write_split(tmp_path, "test", images, labels)
    x, y = fm.load_split("test", root=str(tmp_path))
    assert tuple(x.shape) == (5, 1, 28, 28) and y.tolist() == labels.tolist()
    assert torch.equal(x[:, 0], torch.from_numpy(images.astype(np.float32) / 255))


def test_truncated_idx_file_is_a_clear_error(tmp_path):
    a = np.zeros((10, 28, 28), dtype=np.uint8)
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(idx_bytes(a)[:-100])  # a whole gzip stream of a cut IDX body
    with pytest.raises(fm.IdxFormatError, match="truncated"):
        fm.read_idx(tmp_path / "short.gz")
    (tmp_path / "long.idx").write_bytes(idx_bytes(a) + b"\0")
    with pytest.raises(fm.IdxFormatError, match="trailing data"):
        fm.read_idx(tmp_path / "long.idx")
    (tmp_path / "header.idx").write_bytes(idx_bytes(a)[:9])
    with pytest.raises(fm.IdxFormatError, match="truncated IDX header"):
        fm.read_idx(tmp_path / "header.idx")


def test_cut_gzip_stream_and_bad_magic_are_clear_errors(tmp_path):
    a = np.arange(28 * 28 * 50, dtype=np.uint32).astype(np.uint8).reshape(50, 28, 28)
    whole = gzip.compress(idx_bytes(a))
    (tmp_path / "cut.gz").write_bytes(whole[:len(whole) // 2])  # the download that stopped halfway
    with pytest.raises(fm.IdxFormatError, match="gzip"):
        fm.read_idx(tmp_path / "cut.gz")
    (tmp_path / "junk.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(fm.IdxFormatError, match="gzip"):
        fm.read_idx(tmp_path / "junk.gz")
    (tmp_path / "magic.idx").write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x05")
    with pytest.raises(fm.IdxFormatError, match="magic"):
        fm.read_idx(tmp_path / "magic.idx")


def test_load_split_rejects_mismatched_or_wrong_files(tmp_path):
    img_path, lab_path = write_split(tmp_path, "train", np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8))
    with pytest.raises(fm.IdxFormatError, match="3 images but"):
        fm.load_split("train", root=str(tmp_path))
    write_split(tmp_path, "train", np.zeros((2, 28, 28), np.uint8), np.array([1, 10], np.uint8))
    with pytest.raises(fm.IdxFormatError, match="label 10"):
        fm.load_split("train", root=str(tmp_path))
    write_split(tmp_path, "train", np.zeros((2, 14, 14), np.uint8), np.zeros(2, np.uint8))
    with pytest.raises(fm.IdxFormatError, match="28x28"):
        fm.load_split("train", root=str(tmp_path))
    with pytest.raises(ValueError, match="split"):
        fm.load_split("validation", root=str(tmp_path))


def test_missing_files_name_the_debian_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fm.load_split("test", root=str(tmp_path))


# ---------------------------------------------------------------- the network and its weights


def test_network_is_plain_conv_and_linear_of_the_stated_size():
    model = fm.load_model()
    kinds = [type(m).__name__ for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert kinds == ["Conv2d", "Conv2d", "Linear", "Linear"]
    assert not any("Norm" in type(m).__name__ for m in model.modules())
    macs = []
    hooks = [m.register_forward_hook(lambda m, i, o: macs.append(o[0].numel() * m.weight[0].numel()))
             for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        assert tuple(model(torch.zeros(1, 1, 28, 28)).shape) == (1, 10)
    for h in hooks:
        h.remove()
    assert sum(macs) == fm.load_record()["macs_per_image"] == 1117056


def test_committed_weights_are_the_recorded_ones_and_small():
    record = fm.load_record()
    assert os.path.getsize(fm.WEIGHTS) < 1 << 20
    with np.load(fm.WEIGHTS) as f:
        assert all(f[k].dtype == np.float32 for k in f.files)
        assert fm.weights_digest({k: f[k] for k in f.files}) == record["weights_sha256"]
    assert record["training"]["train_images"] == 60000
    assert record["float_test_top1"] >= 0.90


@needs_data
def test_committed_weights_give_the_recorded_float_accuracy():
    task = get_task("fashion-mnist")
    model = task.model()
    # The model on each batch of 1,000 in pieces of 250: the same logits, bit for bit, and four
    # times faster here (PyTorch's CPU kernels page-fault on the 50 MB buffers of a 1,000 batch).
    score = task.evaluate(lambda x: torch.cat([model(c) for c in x.split(250)]))
    record = fm.load_record()
    assert score.examples == 10000
    assert score.details["correct"] == record["float_test_correct"]
    assert score.metric == record["float_test_top1"]
    assert score.details["predictions"].dtype == np.int64 and len(score.details["predictions"]) == 10000


# ---------------------------------------------------------------- the task


def test_task_is_registered_with_its_settings():
    assert "fashion-mnist" in task_names()
    task = get_task("fashion-mnist")
    assert (task.name, task.metric, task.higher_is_better) == ("fashion-mnist", "top1", True)
    assert (task.weight_bits, task.act_bits) == (8, 8)
    assert task.description and "\n" not in task.description
    model = task.model()
    assert not model.training


@needs_data
def test_calibration_is_the_first_thousand_training_images(train_split):
    batches = get_task("fashion-mnist").calibration()
    assert all(isinstance(b, tuple) and len(b) == 1 for b in batches)
    x = torch.cat([b[0] for b in batches])
    assert torch.equal(x, train_split[0][:1000])


@needs_data
def test_evaluate_takes_numpy_outputs_a_limit_and_a_reference():
    task = get_task("fashion-mnist")
    model = task.model()
    ref = task.evaluate(model, limit=2000)  # two batches of 1,000 through the model itself
    assert ref.examples == 2000 and len(ref.details["predictions"]) == 2000
    as_numpy = task.evaluate(lambda x: model(x).numpy(), reference=ref.details, limit=2000)
    assert as_numpy.metric == ref.metric
    assert np.array_equal(as_numpy.details["predictions"], ref.details["predictions"])
    assert as_numpy.extra["agreement_with_float"] == 1.0
    # a forward that always answers class 3: exactly the test images of class 3 are right
    _, y = fm.load_split("test")
    const = task.evaluate(lambda x: np.tile(np.eye(10)[3], (len(x), 1)), reference=ref.details, limit=2000)
    assert const.details["correct"] == int((y[:2000] == 3).sum())
    assert const.extra["agreement_with_float"] == float(np.mean(ref.details["predictions"] == 3))


def test_task_without_the_package_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(fm, "DATA_DIR", str(tmp_path))
    task = get_task("fashion-mnist")
    with pytest.raises(TaskUnavailable, match=r"apt-get install dataset-fashion-mnist"):
        task.calibration()
    with pytest.raises(TaskUnavailable, match=r"apt-get install dataset-fashion-mnist"):
        task.evaluate(lambda x: x)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
