#!/usr/bin/python3
"""tools/accsim-eval from the command line: bad input gets its one-line error and exit 2; a
short real run writes eval.json (the keys the tool documents), eval.csv, eval.svg and a
self-contained eval.html that headless Chromium renders; at 32 bits the metric equals the
exactly quantized network's.

    PYTHONPATH=build/python /usr/bin/python3 -m pytest tests/python/test_eval_cli.py
"""
import csv
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EVAL = os.path.join(ROOT, "tools", "accsim-eval")
CHECK = os.path.join(ROOT, "tools", "check_report_html")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from accsim_eval.task import TaskUnavailable, get_task  # noqa: E402


def run(*args):
    return subprocess.run([EVAL, *args], capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (["--acc-grid", "16", "--out", "X"], "accsim: error: command line: --task: missing (--list shows the tasks)"),
    (["--task", "nope", "--acc-grid", "16", "--out", "X"], 'accsim: error: command line: --task: unknown task "nope" (known: '),
    (["--task", "fashion-mnist", "--out", "X"], 'accsim: error: command line: --acc-grid: missing, e.g. "10;12;14;16;32"'),
    (["--task", "fashion-mnist", "--acc-grid", "16"], "accsim: error: command line: --out: missing"),
    (["--task", "fashion-mnist", "--acc-grid", "16;;", "--out", "X"], 'accsim: error: command line: --acc-grid: "16;;": an empty layout'),
    (["--task", "fashion-mnist", "--acc-grid", "16;13q", "--out", "X"], 'accsim: error: command line: --acc: 13q: stage 1 "13q": expected stages like'),
    (["--task", "fashion-mnist", "--acc-grid", "16", "--per-layer", "1", "--out", "X"], "accsim: error: command line: --acc: 1: stage 1 \"1\": bits must be in [2, 64], got 1"),
    (["--task", "fashion-mnist", "--acc-grid", "16", "--weights", "plain,fancy", "--out", "X"], 'accsim: error: command line: --weights: expected "plain", "a2q" or "plain,a2q", got "plain,fancy"'),
    (["--task", "fashion-mnist", "--acc-grid", "16", "--limit", "0", "--out", "X"], "accsim: error: command line: --limit: expected a positive count, got 0"),
    (["--task", "fashion-mnist", "--acc-grid", "16", "--weight-bits", "1", "--out", "X"], "accsim: error: command line: --weight-bits: expected 2..16, got 1"),
    (["--task", "fashion-mnist", "--acc-grid", "16", "--limit", "ten", "--out", "X"], "accsim: error: command line: argument --limit: invalid int value: 'ten'"),
    (["--bogus"], "accsim: error: command line: unrecognized arguments: --bogus"),
    (["--task", "fashion-mnist", "--acc-grid", "16;e8m23", "--out", "X"], "accsim: error: command line: --acc: e8m23: the quantized network's operands are integer codes, which float stages take after integer tiles, e.g. 32x32,e8m23"),
    (["--task", "fashion-mnist", "--acc-grid", "16", "--per-layer", "128xe8m13:g32,e8m23", "--out", "X"], "accsim: error: command line: --acc: 128xe8m13:g32,e8m23: the quantized network's operands are integer codes"),
    (["--task", "fashion-mnist", "--acc-grid", "3;16", "--weights", "a2q", "--out", "X"], "accsim: error: command line: --acc-grid: 3: A2Q weights need an integer stage of at least 4 bits"),
    (["--task", "fashion-mnist", "--acc-grid", "16", "--layer-acc", "fc1", "--out", "X"], 'accsim: error: command line: --layer-acc: expected REGEX=SPEC, got "fc1"'),
    (["--task", "fashion-mnist", "--acc-grid", "16", "--layer-acc", "fc(=16", "--out", "X"], 'accsim: error: command line: --layer-acc: "fc(": not a regular expression'),
    (["--task", "fashion-mnist", "--acc-grid", "16", "--layer-acc", "fc1=16q", "--out", "X"], 'accsim: error: command line: --acc: 16q: stage 1'),
])
def test_bad_input_gets_one_line_and_exit_2(args, message):
    p = run(*args)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith(message), p.stderr
    assert p.stderr.count("\n") == 1 and p.stdout == ""


def test_out_onto_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    p = run("--task", "fashion-mnist", "--acc-grid", "16", "--out", str(f))
    assert p.returncode == 2 and p.stderr == f"accsim: error: command line: --out: {f} exists and is not a directory\n"


def test_list_names_every_task():
    p = run("--list")
    assert p.returncode == 0
    names = [line.split()[0] for line in p.stdout.splitlines()]
    assert {"fashion-mnist", "fortune-lm", "face-detector"} <= set(names)


def test_a_short_real_run(tmp_path):
    try:
        get_task("fashion-mnist").calibration()
    except TaskUnavailable as e:
        pytest.skip(str(e))
    out = tmp_path / "fm"
    p = run("--task", "fashion-mnist", "--acc-grid", "10;14;32;12:sat", "--weights", "plain,a2q",
            "--limit", "300", "--layer-acc", "^fc2$=exact", "--out", str(out), "--quiet")
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    r = json.loads((out / "eval.json").read_text())
    assert r["task"] == "fashion-mnist" and r["metric"] == "top1" and r["examples"] == 300
    assert set(r["baseline"]) >= {"float", "quantized"}
    keys = {"acc", "weights", "metric", "events", "outputs_corrupted", "seconds"}
    assert all(keys <= set(pt) for pt in r["points"])
    by = {(pt["acc"], pt["weights"]): pt for pt in r["points"]}
    assert set(by) == {(a, w) for a in ("10", "14", "32", "12:sat") for w in ("plain", "a2q")}
    # At 32 bits nothing overflows: the metric equals the exactly quantized network's.
    assert by["32", "plain"]["metric"] == r["baseline"]["quantized"]
    assert by["32", "plain"]["events"] == 0 and by["32", "plain"]["outputs_corrupted"] == 0
    # A2Q weights never overflow their width; a 10-bit wrapping register with plain weights does.
    assert all(by[a, "a2q"]["events"] == 0 for a in ("10", "14", "32", "12:sat"))
    assert by["10", "plain"]["outputs_corrupted"] > 0
    assert by["10", "plain"]["metric"] < r["baseline"]["quantized"]
    layers = r["per_layer"]["layers"]
    # --per-layer auto: the widest spec that loses accuracy with plain weights.
    lost = [pt for pt in r["points"] if pt["weights"] == "plain" and pt["metric"] < r["baseline"]["quantized"]]
    assert r["per_layer"]["acc"] == max(lost, key=lambda pt: pt["width"])["acc"]
    assert len(layers) == len(r["quantization"]["layers"])
    assert sum(row["outputs_corrupted"] for row in layers) > 0
    # --layer-acc: fc2 exact at every point.
    assert r["overrides"] == [{"layers": "^fc2$", "acc": None}]
    assert all(pt["layers"]["fc2"]["acc"] is None and pt["layers"]["fc1"]["acc"] == pt["acc"] for pt in r["points"])
    rows = list(csv.DictReader(open(out / "eval.csv")))
    assert [(row["acc"], row["weights"]) for row in rows] == [(pt["acc"], pt["weights"]) for pt in r["points"]]
    assert (out / "eval.svg").read_text().startswith("<svg")
    c = subprocess.run([CHECK, str(out / "eval.html"), str(tmp_path / "shot.png")], capture_output=True, text=True)
    assert c.returncode == 0, c.stdout + c.stderr
