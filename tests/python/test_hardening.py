"""Inputs that used to hang, crash or end in an internal error now end in one located line and
exit 2: FIFOs and devices where files belong, patterns that overflowed the regex engine's stack,
text with line breaks or bytes that are not UTF-8, a sweep definition holding such bytes.

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_hardening.py
"""
import os
import subprocess
import tempfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
TINY = os.path.join(ROOT, "traces", "examples", "tiny-linear.trace")
CFG = os.path.join(ROOT, "configs", "scalesim", "scale_32x32_os.cfg")
TOPOLOGY = os.path.join(ROOT, "configs", "scalesim", "resnet18.csv")


def refused(args, cwd=None):
    """Runs accsim (bytes arguments allowed); returns its one error line. Hangs fail the test."""
    p = subprocess.run([ACCSIM, *args], capture_output=True, timeout=20, cwd=cwd)
    assert p.returncode == 2, (args, p.returncode, p.stderr)
    err = p.stderr.decode("utf-8")  # valid UTF-8 whatever the input held
    assert err.count("\n") == 1 and err.startswith("accsim: error: "), err
    return err.rstrip("\n")


@pytest.fixture
def tmp():
    with tempfile.TemporaryDirectory() as d:
        yield d


def test_fifos_and_devices_are_refused_without_blocking(tmp):
    os.makedirs(os.path.join(tmp, "t.trace"))
    os.mkfifo(os.path.join(tmp, "t.trace", "manifest.json"))
    os.mkfifo(os.path.join(tmp, "c.cfg"))
    os.mkfifo(os.path.join(tmp, "c.json"))
    assert refused(["audit", "--trace", "t.trace", "--acc", "16"], cwd=tmp) == \
        "accsim: error: t.trace/manifest.json: file: not a regular file"
    assert refused(["run", "--topology", TOPOLOGY, "--config", "c.cfg"], cwd=tmp) == \
        "accsim: error: c.cfg: file: not a regular file"
    assert refused(["validate", "--config", "c.json"], cwd=tmp) == \
        "accsim: error: c.json: file: not a regular file"
    assert refused(["run", "--topology", "/dev/zero", "--config", CFG]) == \
        "accsim: error: /dev/zero: file: not a regular file"
    assert refused(["validate", "--config", "/dev/zero"]) == \
        "accsim: error: /dev/zero: file: not a regular file"


def test_a_fifo_as_the_sweep_journal_is_refused(tmp):
    out = os.path.join(tmp, "out")
    os.makedirs(out)
    os.mkfifo(os.path.join(out, "points.jsonl"))
    err = refused(["sweep", "--trace", TINY, "--acc", "16", "--grid",
                   "accumulator.stages.0.bits=12,14", "--out", out, "--resume", "--quiet"])
    assert err.endswith("points.jsonl: file: not a regular file"), err


def test_patterns_that_overflowed_std_regex():
    assert refused(["audit", "--trace", TINY, "--acc", "16", "--layers", "a" * 20000]) == \
        "accsim: error: command line: --layers: the pattern has 20000 characters (at most 1000)"
    err = refused(["audit", "--trace", TINY, "--acc", "16", "--layers", "(" * 400 + ")" * 400])
    assert err.endswith(": too complex (at character 401)"), err


def test_line_breaks_nul_and_non_utf8_bytes_are_escaped():
    assert refused(["audit", "--trace", TINY, "--acc", "16\n"]).startswith(
        'accsim: error: --acc: 16\\n: stage 1 "16\\n": expected stages like')
    assert refused(["audit", "--trace", TINY, "--acc", "16", "--set", b"accumulator.bi\xffas=first"]) \
        .startswith("accsim: error: --set: /accumulator: unknown key \"bi\\xffas\"")
    err = refused(["audit", "--trace", TINY, "--acc", "16", "--layers", "x\ny"])
    assert err == 'accsim: error: command line: --layers: "x\\ny" matches no layer (layers: fc)'


def test_a_sweep_definition_with_bytes_that_are_not_utf8_is_no_internal_error(tmp):
    out = os.path.join(tmp, "out")
    p = subprocess.run([ACCSIM, "sweep", "--trace", TINY, "--acc", "16", "--grid",
                        b"accumulator.bias=first,l\xffast", "--out", out, "--quiet"],
                       capture_output=True, timeout=60)
    assert p.returncode == 2, p.stderr  # the value is refused by the config, as a bad input
    assert p.stderr.decode("utf-8").startswith("accsim: error: --grid: point 1 "), p.stderr


def test_a_sweep_over_values_that_are_not_utf8_journals_and_resumes(tmp):
    # The config name takes any text: the grid's bytes reach the journal's definition.
    out = os.path.join(tmp, "out")
    args = [ACCSIM, "sweep", "--trace", TINY, "--acc", "16", "--grid", b"name=a,b\xff", "--out", out]
    p = subprocess.run(args + ["--quiet"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(args + ["--resume"], capture_output=True, timeout=60)
    assert p.returncode == 0 and b"(2 resumed)" in p.stdout, p.stdout + p.stderr
