#!/usr/bin/python3
"""--threads changes how fast, never what: audits (through the accsim module, in this process)
and the plain-C++ timed run give identical reports, and `accsim run` (SystemC, through the CLI:
SystemC runs once per process) byte-identical report.json and layers.csv, for 1, 2, 3 and 7
threads on real traces, with accumulators that overflow (wrap and saturate), several stages and
trees (so the slow paths of the fast replay run too, on tasks split across threads).

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_threads.py
"""
import json
import os
import subprocess
import sys
import tempfile

import accsim
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
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


def same_report(call, what):
    """call(threads) -> report dict: the same JSON text for every thread count."""
    one = json.dumps(call(1))
    for n in (2, 3, 7):
        assert json.dumps(call(n)) == one, f"{what}: the report differs at threads={n}"
    return json.loads(one)


def audit_invariant(trace, **kwargs):
    return same_report(lambda n: accsim.audit(trace, threads=n, **kwargs),
                       f"audit {os.path.basename(trace)} {kwargs}")


def invariant(command, trace, *extra):
    one = outputs(command, trace, 1, *extra)
    for n in (2, 3, 7):
        other = outputs(command, trace, n, *extra)
        for name in one:
            assert other[name] == one[name], f"{command} {os.path.basename(trace)} {extra}: {name} differs at --threads {n}"
    return one


def test_audit_overflowing_wrap():
    r = audit_invariant(TINY_FACE, acc="14")
    assert any(l["status"] == "corrupted" for l in r["layers"])  # the slow paths ran


def test_audit_saturate_two_stages():
    audit_invariant(TINY_FACE, acc="32x13:sat,17")


def test_audit_tree_and_matmuls():
    audit_invariant(PPOCR, acc="64x15:tree,20:sat")


def test_audit_safe_default_config():
    audit_invariant(PPOCR, config=os.path.join(ROOT, "configs", "default.json"))


def test_run_timing():
    config = os.path.join(ROOT, "configs", "default.json")
    same_report(lambda n: accsim.run_timing(SMALL_CNN, config=config, acc="12", threads=n),
                "run_timing small-cnn")


def test_run_tlm():
    r = invariant("run", SMALL_CNN, "--config", os.path.join(ROOT, "configs", "default.json"), "--acc", "12")
    assert '"status": "corrupted"' in r["report.json"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
