#!/usr/bin/python3
"""accsim sweep: every point reports what `accsim run` (or `accsim audit`) reports for its config
(asked of the accsim module in this process: its reports equal the CLI's, tests/python/test_module.py);
derived points equal brute force; results do not depend on --threads; --resume recomputes
nothing and gives the same files; sweep.html is self-contained and renders.

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_sweep.py
"""
import atexit
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

import accsim
import pytest


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
CHECK = os.path.join(ROOT, "tools", "check_report_html")
TINY_FACE = os.path.join(ROOT, "traces", "examples", "tiny-face-detector.trace")
PPOCR = os.path.join(ROOT, "traces", "examples", "ppocr-v4-svtr.trace")
OS32 = os.path.join(ROOT, "configs", "asic", "systolic-32x32-os.json")
FINN = os.path.join(ROOT, "configs", "fpga", "finn-mvau-16x32.json")
TMP = tempfile.mkdtemp(prefix="accsim-sweep-test-")
atexit.register(shutil.rmtree, TMP, ignore_errors=True)

# A grid with two layouts of two stages, three inner widths and two DRAM bandwidths: 12 points,
# overflowing and clean ones, on the layers with the most MACs and a depthwise one.
LAYERS = "conv0|conv1_dw|conv3_pw|conv5_pw"
GRID = ["--acc-grid", "32x13,24;64x13,24", "--grid", "accumulator.stages.0.bits=13..19:3",
        "--grid", "memory.dram.bandwidth_bytes_per_cycle=8,32"]


def cli(*args, ok=(0,)):
    p = subprocess.run([ACCSIM, *args], capture_output=True, text=True)
    assert p.returncode in ok, (args, p.stderr)
    return p


def sweep(out, *args):
    p = cli("sweep", "--out", out, *args)
    with open(os.path.join(out, "sweep.json")) as f:
        doc = json.load(f)
    with open(os.path.join(out, "sweep.csv")) as f:
        table = f.read()
    return doc, table, p


def report(point, trace, config=None, layers=None):
    """What `accsim run` (with a config; `accsim audit` without) reports for the point's config."""
    values = dict(point["values"])
    acc = values.pop("acc", None)
    sets = [f"{k}={v}" for k, v in values.items()]
    if config is None:
        return accsim.audit(trace, acc=acc, set=sets, layers=layers)
    return accsim.run_timing(trace, config=config, acc=acc, set=sets, layers=layers)


def same_as_report(point, rep):
    t, r = point["totals"], rep["totals"]
    assert t["events"] == r["overflow"]["events"]
    assert t["outputs_corrupted"] == r["overflow"]["outputs_corrupted"]
    assert t["cycles"] == r["cycles"]
    assert t["energy_pj"] == r["energy_pj"]
    assert t["power_mw"] == r["power_mw"]
    if rep.get("fpga"):
        assert t["fpga"]["lut"] == rep["fpga"]["resources"]["lut"]
    for a, b in zip(point["layers"], rep["layers"]):
        assert a["name"] == b["name"]
        assert a["events"] == b["overflow"]["events"], a["name"]
        assert a["outputs_corrupted"] == b["overflow"]["outputs_corrupted"], a["name"]
        assert a["max_abs_error"] == b["overflow"]["max_abs_error"], a["name"]
        assert a["observed_bits"] == b["bounds"]["observed_bits"], a["name"]
        assert a["exact_bits"] == b["bounds"]["exact_bits_with_bias"], a["name"]
        assert a["cycles"] == (b["cycles"] or {}).get("total"), a["name"]
        assert a["energy_pj"] == (b["energy_pj"] or {}).get("total"), a["name"]


def test_every_point_equals_accsim_run():
    doc, _, _ = sweep(os.path.join(TMP, "asic"), "--trace", TINY_FACE, "--config", OS32,
                      "--layers", LAYERS, "--quiet", *GRID)
    points = doc["points"]
    assert len(points) == 12
    assert any(p["totals"]["outputs_corrupted"] > 0 for p in points)
    assert any(p["totals"]["outputs_corrupted"] == 0 for p in points)
    for p in points:
        same_as_report(p, report(p, TINY_FACE, OS32, LAYERS))


def test_narrowest_safe_is_the_narrowest_clean_point_of_each_layer():
    doc, _, _ = sweep(os.path.join(TMP, "narrowest"), "--trace", TINY_FACE, "--config", OS32,
                      "--layers", LAYERS, "--quiet", *GRID)
    points = doc["points"]
    for l, entry in enumerate(doc["narrowest_safe"]):
        for what, key in (("no_corrupted_outputs", "outputs_corrupted"), ("no_events", "events")):
            clean = [p for p in points if p["layers"][l][key] == 0]
            if not clean:
                assert entry[what] is None
                continue
            narrowest = min(sum(p["stage_bits"]) for p in clean)
            chosen = points[entry[what]["index"]]
            assert chosen["layers"][l][key] == 0 and sum(chosen["stage_bits"]) == narrowest, \
                (entry["layer"], what)


def test_fpga_points_equal_accsim_run():
    doc, _, _ = sweep(os.path.join(TMP, "fpga"), "--trace", TINY_FACE, "--config", FINN, "--quiet",
                      "--grid", "accumulator.stages.0.bits=14,17,20")
    luts = [p["totals"]["fpga"]["lut"] for p in doc["points"]]
    assert luts == sorted(luts) and luts[0] < luts[-1]  # wider trees cost LUTs
    for p in doc["points"]:
        same_as_report(p, report(p, TINY_FACE, FINN))


def test_audit_only_points_equal_accsim_audit():
    doc, _, _ = sweep(os.path.join(TMP, "audit"), "--trace", PPOCR, "--quiet",
                      "--acc-grid", "16;14:sat;64x15:tree,20")
    for p in doc["points"]:
        rep = report(p, PPOCR)
        assert p["totals"]["cycles"] is None and p["totals"]["energy_pj"] is None
        for a, b in zip(p["layers"], rep["layers"]):
            assert (a["events"], a["outputs_corrupted"], a["observed_bits"]) == (
                b["overflow"]["events"], b["overflow"]["outputs_corrupted"], b["bounds"]["observed_bits"])


def strip_derivation(doc):
    doc = json.loads(json.dumps(doc))
    doc.pop("summary")
    for p in doc["points"]:
        p.pop("replays")
        for l in p["layers"]:
            l.pop("replay")
    return doc


def test_derived_points_equal_brute_force():
    args = ["--trace", TINY_FACE, "--config", OS32, "--layers", LAYERS, "--quiet", *GRID,
            "--grid", "accumulator.stages.1.bits=24,32"]
    derived, _, _ = sweep(os.path.join(TMP, "derived"), *args)
    brute, _, _ = sweep(os.path.join(TMP, "brute"), *args, "--no-derive")
    rep = derived["summary"]["layer_replays"]
    assert all(rep[k] > 0 for k in ("derived_static", "derived_dominated", "derived_equivalent", "shared")), rep
    for k in ("derived_static", "derived_dominated", "derived_equivalent"):
        assert brute["summary"]["layer_replays"][k] == 0
    assert strip_derivation(derived) == strip_derivation(brute)


def test_results_do_not_depend_on_threads():
    files = []
    for n in (1, 2, 3):
        out = os.path.join(TMP, f"threads{n}")
        sweep(out, "--trace", TINY_FACE, "--config", OS32, "--layers", LAYERS, "--quiet", *GRID,
              "--threads", str(n))
        files.append([open(os.path.join(out, f), "rb").read() for f in ("sweep.json", "sweep.csv", "sweep.html")])
    assert files[0] == files[1] == files[2]


def test_resume_recomputes_nothing_and_gives_the_same_files():
    out = os.path.join(TMP, "resume")
    args = ["--trace", TINY_FACE, "--config", OS32, "--layers", LAYERS, *GRID]
    first, table, _ = sweep(out, *args, "--quiet")
    journal = open(os.path.join(out, "points.jsonl")).read()
    again, table2, p = sweep(out, *args, "--resume")
    assert "(12 resumed)" in p.stdout
    assert p.stderr == ""  # no progress bar: nothing to compute
    assert again == first and table2 == table
    # The journal keeps its points (rewritten in point order).
    assert sorted(open(os.path.join(out, "points.jsonl")).read().splitlines()) == sorted(journal.splitlines())


def test_resume_after_an_interruption():
    out = os.path.join(TMP, "interrupted")
    args = ["--trace", TINY_FACE, "--config", OS32, "--layers", LAYERS, *GRID]
    full, table, _ = sweep(out, *args, "--quiet")
    lines = open(os.path.join(out, "points.jsonl")).read().splitlines(keepends=True)
    # Killed after 5 points, in the middle of writing the 6th.
    with open(os.path.join(out, "points.jsonl"), "w") as f:
        f.writelines(lines[:6])
        f.write(lines[6][:40])
    resumed, table2, p = sweep(out, *args, "--quiet", "--resume")
    assert strip_derivation(resumed) == strip_derivation(full)
    # The same table but for the columns that say how each point was obtained.
    rows = [list(csv.reader(io.StringIO(t))) for t in (table, table2)]
    keep = [i for i, h in enumerate(rows[0][0]) if h not in ("layers_simulated", "layers_derived")]
    assert [[r[i] for i in keep] for r in rows[0]] == [[r[i] for i in keep] for r in rows[1]]


def test_resume_recomputes_damaged_records_and_refuses_foreign_journals():
    small = os.path.join(ROOT, "traces", "examples", "small-cnn.trace")
    out = os.path.join(TMP, "damaged")
    args = ["sweep", "--trace", small, "--acc", "16", "--grid", "accumulator.stages.0.bits=12..14", "--out", out]
    cli(*args, "--quiet")
    path = os.path.join(out, "points.jsonl")
    good = open(path).read().splitlines(keepends=True)
    fresh = open(os.path.join(out, "sweep.json")).read()

    def resume_with(lines):
        with open(path, "w") as f:
            f.writelines(lines)
        return subprocess.run([ACCSIM, *args, "--resume"], capture_output=True, text=True)

    # Records that cannot be trusted are recomputed, never used and never a crash: the wrong
    # shape, an edited field (its checksum no longer holds), a record under another point's
    # index, a line nested 100,000 deep. The results are those of a fresh sweep.
    edited = json.loads(good[1])
    edited["record"]["totals"]["events"] = 2 ** 63 - 1
    moved = json.loads(good[2])
    moved["index"] = 0
    for damage in (['{"index":0,"record":{"totals":{}}}\n'], ['{"index":0,"record":5}\n'],
                   [json.dumps(edited) + "\n"], [json.dumps(moved) + "\n"],
                   ["[" * 100000 + "]" * 100000 + "\n"], ["not json\n"]):
        p = resume_with(good[:1] + damage + good[2:] if damage[0].startswith('{"index":0')
                        else good[:1] + damage + good[1:])
        assert p.returncode == 0, p.stderr
        assert "recomputed 1 journal record" in p.stdout, p.stdout
        assert open(os.path.join(out, "sweep.json")).read() == fresh
        # The rewritten journal holds only trusted records, all three points now.
        lines = open(path).read().splitlines()
        assert len(lines) == 4 and sorted(lines[1:]) == sorted(l.rstrip("\n") for l in good[1:])
    # A journal written by another accsim version, or with a header field of the wrong type.
    head = json.loads(good[0])
    for version in ("0.0.0-other", None, 7):
        head["accsim"] = version
        p = resume_with([json.dumps(head) + "\n"] + good[1:])
        assert p.returncode == 2 and "written by another accsim" in p.stderr, p.stderr
    # A header cut short (killed while writing it): nothing had finished, the sweep starts over.
    p = resume_with([good[0][:30]])
    assert p.returncode == 0, p.stderr
    assert sorted(open(path).read().splitlines()) == sorted(l.rstrip("\n") for l in good)


def test_an_interrupted_sweep_loses_no_journalled_point():
    # Points are journalled as soon as their values are replayed, in every mode: kill a
    # --no-derive sweep once some are, resume, and get the files of an uninterrupted run.
    ssd = os.path.join(ROOT, "traces", "examples", "ssd-mobilenetv1.trace")
    args = ["--trace", ssd, "--acc-grid", "32x13,24;64x13,24;128x13,24",
            "--grid", "accumulator.stages.0.bits=13..18", "--no-derive", "--threads", "1", "--quiet"]
    whole = os.path.join(TMP, "whole")
    cli("sweep", "--out", whole, *args)
    out = os.path.join(TMP, "killed")
    journal = os.path.join(out, "points.jsonl")
    proc = subprocess.Popen([ACCSIM, "sweep", "--out", out, *args])
    # Whole lines only: a long record may be caught half written, and is then not a point.
    seen = 0
    while proc.poll() is None and seen < 2:
        if os.path.exists(journal):
            seen = open(journal).read().count("\n")
    running = proc.poll() is None
    proc.kill()
    proc.wait()
    assert running, "the sweep journalled no point before it ended"
    kept = open(journal).read().count("\n") - 1
    assert 1 <= kept < 18
    # A journal rewrite killed half way leaves its new file behind: it is ignored.
    with open(journal + ".new", "w") as f:
        f.write("half a rewrite")
    p = cli("sweep", "--out", out, *[a for a in args if a != "--quiet"], "--resume")
    assert f"({kept} resumed)" in p.stdout, p.stdout
    # --no-derive replays everything either way: even the CSV and the page are the same.
    for name in ("sweep.csv", "sweep.html"):
        assert open(os.path.join(whole, name)).read() == open(os.path.join(out, name)).read(), name
    assert strip_derivation(json.load(open(os.path.join(out, "sweep.json")))) == \
        strip_derivation(json.load(open(os.path.join(whole, "sweep.json"))))


KILL_SHIM = os.environ.get("ACCSIM_KILL_SHIM", os.path.join(ROOT, "build", "tests", "libkill_in_rewrite.so"))


@pytest.mark.parametrize("step", ["write", "fsync", "rename"])
def test_a_sweep_killed_inside_the_journal_rewrite_loses_nothing(step):
    # --resume rewrites the journal before it computes anything. Kill it (SIGKILL, from a
    # preloaded shim) half way through writing the new file, when flushing it and just before
    # renaming it: the journal on disk stays as it was, and the next --resume recomputes
    # exactly the points that had not finished.
    small = os.path.join(ROOT, "traces", "examples", "small-cnn.trace")
    out = os.path.join(TMP, "rewrite-" + step)
    args = ["sweep", "--trace", small, "--acc", "16", "--grid", "accumulator.stages.0.bits=10..17",
            "--out", out, "--quiet"]
    cli(*args)
    journal = os.path.join(out, "points.jsonl")
    whole = open(os.path.join(out, "sweep.json")).read()
    lines = open(journal).read().splitlines(keepends=True)
    assert len(lines) == 9
    with open(journal, "w") as f:  # five of the eight points had finished
        f.writelines(lines[:6])
    before = open(journal, "rb").read()
    env = dict(os.environ, ACCSIM_KILL_IN_REWRITE=step,
               LD_PRELOAD=(os.environ.get("LD_PRELOAD", "") + " " + KILL_SHIM).strip())
    p = subprocess.run([ACCSIM, *args, "--resume"], env=env, capture_output=True)
    assert p.returncode == -9, (p.returncode, p.stderr)  # killed where asked, not before
    assert open(journal, "rb").read() == before
    assert os.path.exists(journal + ".new")
    p = cli(*[a for a in args if a != "--quiet"], "--resume")
    assert "(5 resumed)" in p.stdout, p.stdout
    assert strip_derivation(json.load(open(os.path.join(out, "sweep.json")))) == \
        strip_derivation(json.loads(whole))
    assert sorted(open(journal).read().splitlines()) == sorted(l.rstrip("\n") for l in lines)


def test_csv_has_the_swept_values_totals_and_every_layer():
    out = os.path.join(TMP, "csv")
    doc, table, _ = sweep(out, "--trace", TINY_FACE, "--config", FINN, "--quiet",
                          "--grid", "accumulator.stages.0.bits=14,20", "--layers", LAYERS)
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) == 2
    r = rows[0]
    assert r["accumulator.stages.0.bits"] == "14"
    for key in ("events", "outputs_corrupted", "max_abs_error", "exact_bits", "observed_bits", "cycles",
                "energy_pj", "power_mw", "lut", "ff", "dsp", "bram18", "uram", "pareto_energy", "pareto_lut",
                "pareto_cycles", "conv0.events", "conv5_pw.outputs_corrupted", "conv3_pw.energy_pj"):
        assert key in r, key
    assert int(r["conv0.events"]) == doc["points"][0]["layers"][0]["events"]
    # The 20-bit point has no corrupted output and is on the LUT front only if no cheaper clean
    # point exists: here both are on it (fewer LUTs with corruption, none at more LUTs).
    assert rows[1]["outputs_corrupted"] == "0" and rows[1]["pareto_lut"] == "1"
    assert doc["narrowest_safe"][0]["no_corrupted_outputs"]["index"] in (0, 1)


def test_html_is_self_contained_and_renders():
    out = os.path.join(TMP, "html")
    sweep(out, "--trace", TINY_FACE, "--config", FINN, "--quiet", "--grid", "accumulator.stages.0.bits=12..20:2")
    page = os.path.join(out, "sweep.html")
    text = open(page, encoding="utf-8").read()
    assert text.startswith("<!DOCTYPE html>")
    for outside in ("http://", "https://", "src=", "<link", "<script"):
        assert outside not in text, outside
    assert text.count("<svg") == 5  # energy, LUTs, cycles, error against energy, accumulator bits
    assert "Pareto front" in text and "Narrowest safe configuration per layer" in text
    p = subprocess.run([sys.executable, CHECK, page, os.path.join(out, "sweep.png"), "--min-svg", "5"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
