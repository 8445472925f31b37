#!/usr/bin/python3
"""accsim sweep and audit under mpirun (Open MPI): the same files byte for byte as one process for
any rank and thread count; a whole job killed midway resumes to the same files without
recomputing a journalled point; a rank that dies ends the job with a clear error and loses no
finished point; errors found on any rank come out once, from rank 0; other commands refuse to
run under mpirun.

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_distributed.py
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
EXAMPLES = os.path.join(ROOT, "traces", "examples")
TINY_FACE = os.path.join(EXAMPLES, "tiny-face-detector.trace")
SSD = os.path.join(EXAMPLES, "ssd-mobilenetv1.trace")
PPOCR = os.path.join(EXAMPLES, "ppocr-v4-svtr.trace")
OS32 = os.path.join(ROOT, "configs", "asic", "systolic-32x32-os.json")
TMP = tempfile.mkdtemp(prefix="accsim-mpi-test-")
atexit.register(shutil.rmtree, TMP, ignore_errors=True)

MPIRUN = shutil.which("mpirun")
# CI runs as root; one machine needs no UCX (ob1 over shared memory starts faster), and
# containers may forbid the single-copy shared-memory path.
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,vader",
           OMPI_MCA_btl_vader_single_copy_mechanism="none")

# 360 points over 12 layers: two layouts, ten widths, three array shapes... and bandwidths.
SWEEP = ["--trace", TINY_FACE, "--config", OS32, "--acc-grid", "32x16,32;64x16,32",
         "--grid", "accumulator.stages.0.bits=12..21", "--grid", "array.rows=16,32,64",
         "--grid", "array.cols=16,32", "--grid", "memory.dram.bandwidth_bytes_per_cycle=8,16,32"]
# 1,080 points over 30 layers: long enough (seconds) to stop midway.
LONG = ["--trace", SSD, "--config", OS32, "--acc-grid", "32x16,32;64x16,32;128x16,32",
        "--grid", "accumulator.stages.0.bits=12..23", "--grid", "array.rows=16,32,64",
        "--grid", "array.cols=16,32", "--grid", "memory.dram.bandwidth_bytes_per_cycle=4,8,16,32,64"]
OUTPUTS = ("sweep.json", "sweep.csv", "sweep.html")

pytestmark = pytest.mark.skipif(MPIRUN is None, reason="mpirun (openmpi-bin) is not installed")


def one(*args, ok=0):
    p = subprocess.run([ACCSIM, *args], capture_output=True, text=True)
    assert p.returncode == ok, (args, p.returncode, p.stderr)
    return p


def mpi_command(n, *args):
    return [MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", str(n), ACCSIM, *args]


def mpi(n, *args, ok=0):
    p = subprocess.run(mpi_command(n, *args), capture_output=True, text=True, env=ENV,
                       timeout=600)
    assert p.returncode == ok, (args, p.returncode, p.stderr)
    return p


def read(d, names):
    return [open(os.path.join(d, f), "rb").read() for f in names]


def journal_records(d):
    """The journal's complete records, by point (a line cut short by a kill is not one)."""
    lines = open(os.path.join(d, "points.jsonl")).read().split("\n")
    records = {}
    for line in lines[1:]:
        try:
            j = json.loads(line)
        except ValueError:
            continue
        records[j["index"]] = line
    return records


@pytest.fixture(scope="module")
def sweep_one():
    out = os.path.join(TMP, "sweep-one")
    one("sweep", *SWEEP, "--out", out, "--quiet")
    return out


@pytest.mark.parametrize("ranks,threads", [(1, 2), (2, 1), (2, 2), (3, 1), (4, 1)])
def test_sweep_files_do_not_depend_on_ranks_or_threads(sweep_one, ranks, threads):
    out = os.path.join(TMP, f"sweep-{ranks}x{threads}")
    p = mpi(ranks, "sweep", *SWEEP, "--out", out, "--threads", str(threads))
    assert p.stdout.startswith("accsim sweep: tiny-face-detector, 12 layers, 360 points, ")
    assert read(out, OUTPUTS) == read(sweep_one, OUTPUTS)
    # The journal holds the same records (in the order they finished).
    assert journal_records(out) == journal_records(sweep_one)


def test_a_derivation_is_the_same_on_every_rank_count(sweep_one):
    # --no-derive replays everything: the derived sweep's numbers, whatever ran where.
    out = os.path.join(TMP, "sweep-brute")
    mpi(3, "sweep", *SWEEP, "--out", out, "--no-derive", "--quiet")
    derived = json.load(open(os.path.join(sweep_one, "sweep.json")))
    brute = json.load(open(os.path.join(out, "sweep.json")))
    for doc in (derived, brute):
        doc.pop("summary")
        for p in doc["points"]:
            p.pop("replays")
            for l in p["layers"]:
                l.pop("replay")
    assert derived == brute


AUDITS = [
    # Big linear layers split by channel blocks, small ones whole, on 3 ranks.
    ("llm", None, "128x16,32:sat"),
    # The attention matmuls alone: split by heads (groups).
    ("llm", "attn.qk|attn.av", "64x14,20"),
    # Convolutions: depthwise (groups) and pointwise, overflowing.
    (SSD, None, "32x13,18"),
    (PPOCR, None, "16:sat"),
]


@pytest.fixture(scope="module")
def llm_block():
    path = os.path.join(TMP, "llm-block.trace")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "make_llm_block.py"),
                    "--out", path, "--tokens", "16"], check=True, capture_output=True)
    return path


@pytest.mark.parametrize("trace,layers,acc", AUDITS)
def test_audit_files_do_not_depend_on_ranks(llm_block, trace, layers, acc):
    trace = llm_block if trace == "llm" else trace
    args = ["audit", "--trace", trace, "--acc", acc] + (["--layers", layers] if layers else [])
    single = os.path.join(TMP, "audit-one")
    shutil.rmtree(single, ignore_errors=True)
    one(*args, "--out", single, "--threads", "2")
    names = ("report.json", "layers.csv", "report.html")
    for ranks, threads in ((2, 1), (3, 1), (3, 2)):
        out = os.path.join(TMP, f"audit-{ranks}x{threads}")
        shutil.rmtree(out, ignore_errors=True)
        p = mpi(ranks, *args, "--out", out, "--threads", str(threads))
        assert read(out, names) == read(single, names), (trace, ranks, threads)
        assert p.stderr == ""


def test_dump_outputs_under_mpirun(llm_block):
    args = ["audit", "--trace", llm_block, "--acc", "128x16,32:sat", "--layers", "attn.q_proj"]
    one(*args, "--dump-outputs", os.path.join(TMP, "dump-one"))
    mpi(2, *args, "--dump-outputs", os.path.join(TMP, "dump-two"))
    names = sorted(os.listdir(os.path.join(TMP, "dump-one")))
    assert read(os.path.join(TMP, "dump-two"), names) == read(os.path.join(TMP, "dump-one"), names)


@pytest.fixture(scope="module")
def long_one():
    out = os.path.join(TMP, "long-one")
    one("sweep", *LONG, "--out", out, "--quiet")
    return out


def start(n, out, *extra):
    return subprocess.Popen(mpi_command(n, "sweep", *LONG, "--out", out, "--threads", "1", *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            start_new_session=True)


def wait_for_records(out, count, proc):
    deadline = time.time() + 300
    path = os.path.join(out, "points.jsonl")
    while time.time() < deadline and proc.poll() is None:
        try:
            if os.path.getsize(path) > 0 and len(journal_records(out)) >= count:
                return True
        except (OSError, IndexError):
            pass
        time.sleep(0.002)
    return False


def resumed_count(stdout):
    m = re.search(r"1080 points \((\d+) resumed\)|(\d+) resumed", stdout)
    assert m, stdout
    return int(m.group(1) or m.group(2))


def test_a_killed_job_resumes_without_recomputing(long_one):
    out = os.path.join(TMP, "long-killed")
    proc = start(2, out)
    if not wait_for_records(out, 1, proc):
        proc.kill()
        pytest.fail("the sweep ended before a point was journalled")
    os.killpg(proc.pid, signal.SIGTERM)  # the whole job, as a scheduler's time limit does
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode != 0
    kept = journal_records(out)
    assert 1 <= len(kept) < 1080, len(kept)
    assert not os.path.exists(os.path.join(out, "sweep.json"))
    p = mpi(2, "sweep", *LONG, "--out", out, "--resume", "--threads", "1")
    # Every journalled point was taken from the journal, none recomputed.
    assert resumed_count(p.stdout) == len(kept), p.stdout
    assert read(out, OUTPUTS) == read(long_one, OUTPUTS)
    after = journal_records(out)
    assert all(after[i] == line for i, line in kept.items())


def ranks_of(out):
    """The pids of the MPI job writing to `out`, by rank (from their environment)."""
    ranks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if out.encode() not in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0"):
                continue
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        for e in env:
            if e.startswith(b"OMPI_COMM_WORLD_RANK="):
                ranks[int(e.split(b"=")[1])] = int(pid)
    return ranks


def test_a_dead_rank_ends_the_job_and_loses_nothing(long_one):
    out = os.path.join(TMP, "long-dead-rank")
    proc = start(3, out)
    if not wait_for_records(out, 1, proc):
        proc.kill()
        pytest.fail("the sweep ended before a point was journalled")
    ranks = ranks_of(out)
    assert sorted(ranks) == [0, 1, 2], ranks
    os.kill(ranks[2], signal.SIGKILL)
    try:
        _, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the job went on without its rank 2")
    assert proc.returncode != 0
    # Open MPI names the rank that died; rank 0 says where the finished points are.
    assert "rank 2" in stderr, stderr
    assert f"the finished points are kept in {out}/points.jsonl: run the same command with " \
           "--resume" in stderr, stderr
    kept = journal_records(out)
    assert 1 <= len(kept) < 1080, len(kept)
    # One process resumes what three left: the journal does not care who wrote it.
    p = one("sweep", *LONG, "--out", out, "--resume")
    assert resumed_count(p.stdout) == len(kept)
    assert read(out, OUTPUTS) == read(long_one, OUTPUTS)


def test_errors_come_out_once_from_rank_0():
    p = mpi(3, "audit", "--trace", TINY_FACE, "--acc", "16", "--layers", "nothing", ok=2)
    assert p.stdout == ""
    assert p.stderr.count("accsim: error:") == 1
    assert p.stderr.startswith('accsim: error: command line: --layers: "nothing" matches no '
                               "layer (layers: ")


def test_an_error_on_another_rank_reaches_rank_0():
    # A trace whose recorded output disagrees with the replay of one big layer: whichever rank
    # replays the part that disagrees, the job ends with the mismatch, once.
    bad = os.path.join(TMP, "mismatch.trace")
    shutil.copytree(SSD, bad)
    path = os.path.join(bad, "tensors.safetensors")
    data = bytearray(open(path, "rb").read())
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    manifest = json.load(open(os.path.join(bad, "manifest.json")))
    def output_size(layer):
        begin, end = header[layer["output"]["tensor"]]["data_offsets"]
        return end - begin
    layer = max((l for l in manifest["layers"] if "output" in l), key=output_size)
    begin, end = header[layer["output"]["tensor"]]["data_offsets"]
    data[8 + size + (begin + end) // 2] ^= 0x40
    open(path, "wb").write(bytes(data))
    expected = one("audit", "--trace", bad, "--acc", "32", ok=2).stderr
    assert "accsim: error:" in expected and expected.count("\n") == 1
    for ranks in (2, 3):
        p = mpi(ranks, "audit", "--trace", bad, "--acc", "32", "--threads", "1", ok=2)
        # (mpirun adds its own note on the exit code after it.)
        assert p.stderr.startswith(expected) and p.stderr.count("accsim: error:") == 1
        assert p.stdout == ""


@pytest.mark.parametrize("command", ["audit", "sweep"])
@pytest.mark.parametrize("failing", [0, 1, 2])
def test_a_rank_that_cannot_read_the_trace_ends_the_job(command, failing):
    # One rank's machine lacks the trace (MPMD: its own --trace): the job ends at once with that
    # rank's error, from rank 0, rather than leaving the others waiting for it.
    missing = os.path.join(TMP, "not-on-this-machine.trace")
    rest = (["--acc", "16"] if command == "audit" else
            ["--config", OS32, "--grid", "accumulator.stages.0.bits=12,13",
             "--out", os.path.join(TMP, f"unread-{failing}")]) + ["--threads", "1"]
    argv = [MPIRUN, "--oversubscribe", "--bind-to", "none"]
    for rank in range(3):
        trace = missing if rank == failing else TINY_FACE
        argv += (["-np", "1", ACCSIM, command, "--trace", trace, *rest] +
                 ([":"] if rank < 2 else []))
    p = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode == 2, p.stderr
    where = f" (on rank {failing})" if failing else ""
    assert p.stderr.startswith(f"accsim: error: {missing}: file: no such trace directory{where}\n")
    assert p.stderr.count("accsim: error:") == 1
    assert p.stdout == ""


@pytest.mark.parametrize("command", [
    ["run", "--trace", TINY_FACE, "--config", OS32],
    ["inspect", "--trace", TINY_FACE],
    ["validate", "--config", OS32],
    ["sweep-merge", "--out", os.path.join(TMP, "m"), os.path.join(TMP, "s")],
])
def test_other_commands_refuse_mpirun(command):
    p = mpi(2, *command, ok=2)
    assert p.stderr.startswith(f"accsim: error: command line: {command[0]}: runs in one process: start "
                        "it without mpirun (sweep and audit spread over an MPI job's ranks)\n")
