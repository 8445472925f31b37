#!/usr/bin/python3
"""Every preset in configs/ validates and runs: JSON presets on a bundled trace, SCALE-Sim .cfg
presets on the bundled ResNet-18 topology.

    /usr/bin/python3 tests/python/test_presets.py BUILD/bin/accsim
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner import run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "bin", "accsim")
PRESETS = sorted(glob.glob(os.path.join(ROOT, "configs", "**", "*.json"), recursive=True) +
                 glob.glob(os.path.join(ROOT, "configs", "**", "*.cfg"), recursive=True))


def accsim(*args):
    p = subprocess.run([ACCSIM, *args], capture_output=True, text=True)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


def test_there_are_presets_for_every_kind_of_array():
    kinds = set()
    for path in PRESETS:
        if path.endswith(".json"):
            kinds.add(json.load(open(path))["array"]["kind"])
    assert kinds == {"systolic", "vector", "tensor_core"}, kinds
    assert len(PRESETS) >= 10


def test_every_preset_validates_and_runs():
    trace = os.path.join(ROOT, "traces", "examples", "small-cnn.trace")
    topology = os.path.join(ROOT, "configs", "scalesim", "resnet18.csv")
    for path in PRESETS:
        accsim("validate", "--config", path, "--quiet")
        with tempfile.TemporaryDirectory() as tmp:
            if path.endswith(".cfg"):
                accsim("run", "--topology", topology, "--config", path, "--out", tmp, "--quiet")
            else:
                accsim("run", "--trace", trace, "--config", path, "--out", tmp, "--quiet")
            report = json.load(open(os.path.join(tmp, "report.json")))
            assert report["totals"]["cycles"] > 0, path
            assert all(l["cycles"]["total"] >= l["cycles"]["compute"] > 0 for l in report["layers"]), path


if __name__ == "__main__":
    sys.exit(run_tests(globals()))
