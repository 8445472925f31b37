#!/usr/bin/python3
"""--threads changes how fast, never what: `accsim audit` and `accsim run` give byte-identical
report.json and layers.csv for 1, 2, 3 and 7 threads on real traces, with accumulators that
overflow (wrap and saturate), several stages and trees (so the slow paths of the fast replay run
too, on tasks split across threads).

    /usr/bin/python3 tests/python/test_threads.py BUILD/bin/accsim
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner import run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "bin", "accsim")
TINY_FACE = os.path.join(ROOT, "traces", "examples", "tiny-face-detector.trace")
PPOCR = os.path.join(ROOT, "traces", "examples", "ppocr-v4-svtr.trace")
SMALL_CNN = os.path.join(ROOT, "traces", "examples", "small-cnn.trace")


def outputs(command, trace, threads, *extra):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        p = subprocess.run([ACCSIM, command, "--trace", trace, "--out", out, "--quiet",
                            "--threads", str(threads), *extra], capture_output=True, text=True)
        assert p.returncode in (0, 1), p.stderr  # 1: outputs corrupted (a finding, not an error)
        files = {}
        for name in ("report.json", "layers.csv"):
            with open(os.path.join(out, name)) as f:
                files[name] = f.read()
        return files


def invariant(command, trace, *extra):
    one = outputs(command, trace, 1, *extra)
    for n in (2, 3, 7):
        other = outputs(command, trace, n, *extra)
        for name in one:
            assert other[name] == one[name], f"{command} {os.path.basename(trace)} {extra}: {name} differs at --threads {n}"
    return one


def test_audit_overflowing_wrap():
    r = invariant("audit", TINY_FACE, "--acc", "14")
    assert '"status": "corrupted"' in r["report.json"]  # the slow paths ran


def test_audit_saturate_two_stages():
    invariant("audit", TINY_FACE, "--acc", "32x13:sat,17")


def test_audit_tree_and_matmuls():
    invariant("audit", PPOCR, "--acc", "64x15:tree,20:sat")


def test_audit_safe_default_config():
    invariant("audit", PPOCR, "--config", os.path.join(ROOT, "configs", "default.json"))


def test_run_tlm():
    invariant("run", SMALL_CNN, "--config", os.path.join(ROOT, "configs", "default.json"), "--acc", "12")


if __name__ == "__main__":
    sys.exit(run_tests(globals()))
