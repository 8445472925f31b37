#!/usr/bin/python3
"""accsim sweep --shard K/N and accsim sweep-merge (batch jobs without MPI): the N shards merged
give the files of one run byte for byte (and a journal a plain --resume accepts); a shard
resumes; every wrong set of shard directories and every bad --shard ends in its own message.

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_shards.py
"""
import atexit
import json
import os
import shutil
import subprocess
import tempfile

import accsim
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
TINY_FACE = os.path.join(ROOT, "traces", "examples", "tiny-face-detector.trace")
OS32 = os.path.join(ROOT, "configs", "asic", "systolic-32x32-os.json")
TMP = tempfile.mkdtemp(prefix="accsim-shards-test-")
atexit.register(shutil.rmtree, TMP, ignore_errors=True)

# 12 points: two layouts, three inner widths, two DRAM bandwidths; overflowing and clean ones.
ARGS = ["--trace", TINY_FACE, "--config", OS32, "--layers", "conv0|conv1_dw|conv3_pw|conv5_pw",
        "--acc-grid", "32x13,24;64x13,24", "--grid", "accumulator.stages.0.bits=13..19:3",
        "--grid", "memory.dram.bandwidth_bytes_per_cycle=8,32", "--quiet"]
OUTPUTS = ("sweep.json", "sweep.csv", "sweep.html")


def cli(*args, ok=0):
    p = subprocess.run([ACCSIM, *args], capture_output=True, text=True)
    assert p.returncode == ok, (args, p.returncode, p.stderr)
    return p


def files(d, names=OUTPUTS):
    return [open(os.path.join(d, f), "rb").read() for f in names]


@pytest.fixture(scope="module")
def whole():
    out = os.path.join(TMP, "whole")
    cli("sweep", *ARGS, "--out", out)
    return out


def shards(name, n, *extra):
    dirs = []
    for k in range(1, n + 1):
        d = os.path.join(TMP, f"{name}-{k}of{n}")
        cli("sweep", *ARGS, "--shard", f"{k}/{n}", "--out", d, *extra)
        dirs.append(d)
    return dirs


def test_merged_shards_equal_one_run(whole):
    for n in (1, 2, 5, 12, 13):  # 13 > 12 points: one shard is empty
        dirs = shards(f"s{n}", n)
        for d in dirs:  # a shard writes its journal and marker, not the sweep's files
            assert sorted(os.listdir(d)) == ["points.jsonl", "shard.json"]
        counts = [len(json.load(open(os.path.join(d, "shard.json")))["points"]) for d in dirs]
        assert sum(counts) == 12 and max(counts) - min(counts) <= 12 // n + 1
        merged = os.path.join(TMP, f"merged{n}")
        p = cli("sweep-merge", "--out", merged, *reversed(dirs))  # any order
        assert p.stdout == f"merged {n} shards: 12 points\nwrote {merged}/sweep.csv, " \
                           f"{merged}/sweep.json, {merged}/sweep.html\n"
        assert files(merged) == files(whole)
        # The merged journal is the whole sweep's (its records in point order, a run's in the
        # order they finished): a plain --resume takes every point from it.
        m, w = (open(os.path.join(d, "points.jsonl")).read().splitlines() for d in (merged, whole))
        assert m[0] == w[0] and sorted(m[1:]) == sorted(w[1:])
        assert [json.loads(line)["index"] for line in m[1:]] == list(range(12))


def test_merged_directory_resumes_as_a_whole_sweep(whole):
    dirs = shards("r", 3)
    merged = os.path.join(TMP, "merged-resume")
    cli("sweep-merge", "--out", merged, *dirs)
    p = cli("sweep", *[a for a in ARGS if a != "--quiet"], "--out", merged, "--resume")
    assert "(12 resumed)" in p.stdout
    assert files(merged) == files(whole)


def test_a_shard_resumes_without_recomputing():
    d = shards("resume", 2)[1]
    journal = open(os.path.join(d, "points.jsonl")).read()
    p = cli("sweep", *[a for a in ARGS if a != "--quiet"], "--shard", "2/2", "--out", d,
            "--resume")
    assert p.stdout.startswith("shard 2/2: 6 points (6 from the journal)\n")
    # The same records (rewritten in point order; the run wrote them as they finished).
    before, after = journal.splitlines(), open(os.path.join(d, "points.jsonl")).read().splitlines()
    assert after[0] == before[0] and sorted(after[1:]) == sorted(before[1:])


def test_the_slice_depends_on_the_grid_alone():
    a = shards("slice-a", 3)
    b = shards("slice-b", 3, "--threads", "1", "--no-derive")
    for x, y in zip(a, b):
        assert json.load(open(os.path.join(x, "shard.json"))) == \
               json.load(open(os.path.join(y, "shard.json")))


def error(*args):
    p = cli(*args, ok=2)
    assert p.stdout == ""
    return p.stderr


def test_wrong_shard_sets_are_refused():
    dirs = shards("bad", 3)
    out = os.path.join(TMP, "bad-out")
    assert error("sweep-merge", "--out", out, dirs[0], dirs[2]) == (
        "accsim: error: command line: SHARD_DIR: shard 2/3 is missing: give the directories of "
        "all 3 shards\n")
    assert error("sweep-merge", "--out", out, *dirs, dirs[1]) == (
        f"accsim: error: {dirs[1]}: SHARD_DIR: shard 2/3 given twice (also {dirs[1]})\n")
    other = shards("other", 3, "--grid", "memory.dram.latency_cycles=50")
    assert error("sweep-merge", "--out", out, dirs[0], other[1], dirs[2]) == (
        f"accsim: error: {other[1]}/points.jsonl: definition: a shard of another sweep than "
        f"{dirs[0]} (trace, layers, config, grid or shard count differ)\n")
    fewer = shards("fewer", 2)
    assert "a shard of another sweep" in error("sweep-merge", "--out", out, dirs[0], fewer[1])
    whole = os.path.join(TMP, "not-a-shard")
    cli("sweep", *ARGS, "--out", whole)
    assert error("sweep-merge", "--out", out, whole) == (
        f"accsim: error: {whole}/points.jsonl: shard: this is the journal of a whole sweep, not "
        "of a shard (--shard k/N)\n")
    assert error("sweep-merge", "--out", out, os.path.join(TMP, "nowhere")) == (
        f"accsim: error: {TMP}/nowhere/points.jsonl: SHARD_DIR: missing: not the directory of an "
        "`accsim sweep --shard k/N` run\n")
    assert not os.path.exists(out)


def test_an_unfinished_or_damaged_shard_is_refused():
    dirs = shards("damaged", 2)
    out = os.path.join(TMP, "damaged-out")
    marker = os.path.join(dirs[0], "shard.json")
    kept = open(marker).read()
    os.remove(marker)  # what a killed shard leaves
    assert error("sweep-merge", "--out", out, *dirs) == (
        f"accsim: error: {marker}: shard: missing: shard 1/2 has not finished (run it again with "
        "--resume)\n")
    with open(marker, "w") as f:
        f.write(kept)
    journal = os.path.join(dirs[0], "points.jsonl")
    lines = open(journal).read().splitlines(True)
    first = json.loads(lines[1])["index"]
    with open(journal, "w") as f:
        f.writelines([lines[0]] + lines[2:])
    assert error("sweep-merge", "--out", out, *dirs) == (
        f"accsim: error: {journal}: point {first}: missing or damaged: run shard 1/2 again with "
        "--resume\n")


@pytest.mark.parametrize("change,problem", [
    (lambda h: h.update(definition={}), "definition/grid: expected an array"),
    (lambda h: h["definition"]["grid"][0].update(path=5),
     "definition/grid: expected axes of a path and values (strings)"),
    (lambda h: h["definition"]["grid"][0].update(values=[]),
     "definition/grid: expected axes of a path and values (strings)"),
    (lambda h: h["definition"].update(acc_grid=[3]),
     "definition: expected layer names and accumulator layouts as strings"),
    (lambda h: h["definition"].update(base_config=[]),
     "definition/base_config: expected a configuration with its name"),
    (lambda h: h.update(trace={"model": 1}), "trace: expected the trace's model and path"),
])
def test_a_forged_journal_header_is_refused(change, problem):
    # Headers with the right format and version but not what accsim writes: every shard's the
    # same, so that only the header's content is wrong.
    dirs = shards("forged", 2)
    for d in dirs:
        journal = os.path.join(d, "points.jsonl")
        lines = open(journal).read().splitlines(True)
        header = json.loads(lines[0])
        change(header)
        with open(journal, "w") as f:
            f.writelines([json.dumps(header) + "\n"] + lines[1:])
    out = os.path.join(TMP, "forged-out")
    assert error("sweep-merge", "--out", out, *dirs) == (
        f"accsim: error: {dirs[0]}/points.jsonl: line 1: {problem}: not a journal accsim wrote "
        "(run the shard again)\n")
    assert not os.path.exists(out)


@pytest.mark.parametrize("shard", [{"k": 1, "n": 4294967297}, {"k": 4294967297, "n": 1},
                                   {"k": 0, "n": 2}, {"k": 3, "n": 2}])
def test_shard_numbers_out_of_range_are_refused(shard):
    dirs = shards("numbers", 1)
    journal = os.path.join(dirs[0], "points.jsonl")
    lines = open(journal).read().splitlines(True)
    header = json.loads(lines[0])
    header["shard"] = shard
    with open(journal, "w") as f:
        f.writelines([json.dumps(header, separators=(",", ":")) + "\n"] + lines[1:])
    assert error("sweep-merge", "--out", os.path.join(TMP, "numbers-out"), *dirs) == (
        f"accsim: error: {journal}: shard: not a shard k/N with 1 <= k <= N <= 100000: "
        f"{json.dumps(shard, separators=(',', ':'))}\n")


@pytest.mark.parametrize("command", [["audit", "--trace", TINY_FACE, "--acc", "16", "--quiet"],
                                     ["sweep", *ARGS, "--out", os.path.join(TMP, "srun")]])
def test_srun_tasks_that_are_not_an_mpi_job_are_refused(command):
    # srun -n 4 without an MPI plugin: four jobs of one, each of which would run everything.
    env = dict(os.environ, SLURM_STEP_NUM_TASKS="4", SLURM_PROCID="2")
    p = subprocess.run([ACCSIM, *command], capture_output=True, text=True, env=env)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith(
        "accsim: error: command line: srun: started 4 tasks that are not one MPI job (Slurm's "
        f"MPI plugin is none), so each would run the whole {command[0]}: use srun --mpi=pmix "
        "(or mpirun), or start one task"), p.stderr
    assert not os.path.exists(os.path.join(TMP, "srun"))
    # One task, or each task its own shard: fine.
    one = dict(os.environ, SLURM_STEP_NUM_TASKS="1", SLURM_PROCID="0")
    assert subprocess.run([ACCSIM, *command], capture_output=True, env=one).returncode == 0
    if command[0] == "sweep":
        shard = [*command[:-1], os.path.join(TMP, "srun-3of4"), "--shard", "3/4"]
        assert subprocess.run([ACCSIM, *shard], capture_output=True, env=env).returncode == 0


@pytest.mark.parametrize("value,problem", [
    ("0/3", "1 <= k <= N <= 100000, got 0/3"), ("4/3", "got 4/3"), ("2/0", "got 2/0"),
    ("3", 'expected K/N (e.g. 2/8), got "3"'), ("a/b", 'expected K/N (e.g. 2/8), got "a/b"'),
    ("1/", 'expected K/N (e.g. 2/8), got "1/"'), ("-1/2", 'expected K/N (e.g. 2/8), got "-1/2"'),
    ("1/200000", "got 1/200000"),
])
def test_bad_shard_values(value, problem):
    stderr = error("sweep", *ARGS, "--shard", value, "--out", os.path.join(TMP, "never"))
    assert stderr.startswith("accsim: error: command line: --shard: ") and problem in stderr, stderr


def test_the_module_shards_and_merges_the_same(whole):
    kw = dict(config=OS32, layers="conv0|conv1_dw|conv3_pw|conv5_pw", acc_grid="32x13,24;64x13,24",
              grid={"accumulator.stages.0.bits": "13..19:3",
                    "memory.dram.bandwidth_bytes_per_cycle": [8, 32]})
    dirs = [os.path.join(TMP, f"module-{k}") for k in (1, 2)]
    parts = [accsim.sweep(TINY_FACE, out=d, shard=s, **kw) for d, s in zip(dirs, ("1/2", (2, 2)))]
    assert sum(len(p["points"]) for p in parts) == 12
    merged = accsim.sweep_merge(os.path.join(TMP, "module-merged"), dirs)
    assert merged == json.load(open(os.path.join(whole, "sweep.json")))
    with pytest.raises(accsim.InputError, match="^command line: --shard: a shard needs --out DIR$"):
        accsim.sweep(TINY_FACE, shard="1/2", **kw)
    with pytest.raises(accsim.InputError, match='expected K/N'):
        accsim.sweep(TINY_FACE, shard="1-2", out=dirs[0], **kw)
    with pytest.raises(accsim.InputError, match="shard 2/2 is missing"):
        accsim.sweep_merge(os.path.join(TMP, "module-never"), dirs[:1])


def test_sweep_merge_needs_out_and_shards():
    assert error("sweep-merge", os.path.join(TMP, "x")) == (
        "accsim: error: command line: --out: sweep-merge needs --out DIR\n")
    assert error("sweep-merge", "--out", os.path.join(TMP, "y")) == (
        "accsim: error: command line: SHARD_DIR: sweep-merge needs the shards' directories\n")
