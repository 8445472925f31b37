"""The Python module `accsim` (tools/python, built into build/python) against the CLI and against
a plain Python model of the datapath's arithmetic (datapath/README.md):

- accsim.replay equals a slow, separately written reference on thousands of random GEMMs (every
  overflow mode, 1-3 stages, trees, widths 2..64, signed and unsigned operands of 1..16 bits at
  their extremes), and its bounds and overflow equal an audit of the same GEMM written as a trace;
- accsim.audit / run_timing / run / sweep return the content of the CLI's report.json and
  sweep.json, and sweep writes the same files;
- bad input raises accsim.InputError carrying the CLI's message (tests/bad cases replayed here).

Run through ctest (tests/CMakeLists.txt), or by hand:
    ACCSIM=build/bin/accsim PYTHONPATH=build/python:traces/python /usr/bin/python3 -m pytest tests/python/test_module.py
"""
import json
import os
import random
import shlex
import subprocess
import threading

import numpy as np
import pytest

import accsim
import accsim_trace

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
TRACES = os.path.join(ROOT, "traces", "examples")
TINY_LINEAR = os.path.join(TRACES, "tiny-linear.trace")
TINY_FACE = os.path.join(TRACES, "tiny-face-detector.trace")
SMALL_CNN = os.path.join(TRACES, "small-cnn.trace")
CONFIGS = os.path.join(ROOT, "configs")


# ---------------------------------------------------------------------------------------------
# A plain model of the arithmetic, written from datapath/README.md, one addition at a time.

def fit(v, bits, saturate):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if lo <= v <= hi:
        return v, 0
    if saturate:
        return (lo if v < lo else hi), 1
    return ((v - lo) % (1 << bits)) + lo, 1


def width(lo, hi):
    """Narrowest two's-complement width holding [lo, hi]; 1 for an empty range."""
    if lo is None:
        return 1
    b = 1
    while not (-(1 << (b - 1)) <= lo and hi <= (1 << (b - 1)) - 1):
        b += 1
    return b


def reduce_tile(inputs, stage, bias_first=None, bias_last=None):
    """One tile in the hardware's registers: (result, events)."""
    bits, sat, tree = stage["bits"], stage["sat"], stage["tree"]
    events = 0
    if not tree:
        r = 0
        if bias_first is not None:
            r, e = fit(bias_first, bits, sat)
            events += e
        for v in inputs:
            r, e = fit(r + v, bits, sat)
            events += e
    else:
        level = []
        for v in ([bias_first] if bias_first is not None else []) + list(inputs):
            f, e = fit(v, bits, sat)
            level.append(f)
            events += e
        while len(level) > 1:
            nxt = []
            for i in range(0, len(level) - 1, 2):
                f, e = fit(level[i] + level[i + 1], bits, sat)
                nxt.append(f)
                events += e
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        r = level[0]
    if bias_last is not None:
        r, e = fit(r + bias_last, bits, sat)
        events += e
    return r, events


def partial_sums(inputs, tree):
    """Every partial sum of one tile with unbounded registers, and its result."""
    if not tree:
        sums, r = [], 0
        for v in inputs:
            r += v
            sums.append(r)
        return sums, r
    level, sums = list(inputs), list(inputs)
    while len(level) > 1:
        nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        sums += nxt
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return sums, level[0]


def reference_dot(products, stages, bias, placement):
    """(final value, exact, events per stage, observed (lo, hi) per stage) of one output."""
    adds = bias is not None and placement != "none"
    exact = sum(products) + (bias if adds else 0)
    events, observed = [], []
    bounded, unbounded = list(products), list(products)
    for j, st in enumerate(stages):
        last = j + 1 == len(stages)
        n = len(bounded) if last else st["length"]
        nb, nu, ev, lo, hi = [], [], 0, None, None
        for t in range(0, len(bounded), n):
            bf = bias if last and adds and placement == "first" else None
            bl = bias if last and adds and placement == "last" else None
            r, e = reduce_tile(bounded[t:t + n], st, bf, bl)
            nb.append(r)
            ev += e
            sums, u = partial_sums(unbounded[t:t + n], st["tree"])
            nu.append(u)
            lo = min(sums + ([lo] if lo is not None else []))
            hi = max(sums + ([hi] if hi is not None else []))
        events.append(ev)
        observed.append((lo, hi))
        bounded, unbounded = nb, nu
    return bounded[0], exact, events, observed


def random_stages(rng):
    count = rng.choice([1, 1, 2, 2, 3])
    stages = []
    for j in range(count):
        bits = rng.choice([2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 63, 64])
        stages.append({"bits": bits, "sat": rng.random() < 0.4, "tree": rng.random() < 0.3,
                       "length": rng.randint(1, 9) if j + 1 < count else None})
    return stages


def spec_of(stages):
    parts = []
    for s in stages:
        p = (f"{s['length']}x" if s["length"] else "") + str(s["bits"])
        p += ":sat" if s["sat"] else (":wrap" if random.random() < 0.3 else "")
        p += ":tree" if s["tree"] else ""
        parts.append(p)
    return ",".join(parts)


DTYPES = [(np.int8, 8, True), (np.uint8, 8, False), (np.int16, 16, True), (np.uint16, 16, False),
          (np.int32, 32, True)]


def random_operand(rng, shape):
    """An array with its declared format: values often at the format's extremes."""
    dtype, dbits, dsigned = rng.choice(DTYPES)
    signed = dsigned if rng.random() < 0.8 or dtype == np.int32 else not dsigned
    if dtype == np.int32:
        bits = rng.randint(1, 16)
    elif rng.random() < 0.5:
        bits = dbits
    else:
        bits = rng.randint(1, dbits - (0 if signed == dsigned else 1) if dbits > 1 else 1)
    if not dsigned and signed:
        bits = min(bits, dbits)  # a signed format read from an unsigned array
    lo, hi = accsim_trace.operand_range(bits, signed)
    info = np.iinfo(dtype)
    lo, hi = max(lo, int(info.min)), min(hi, int(info.max))
    pick = lambda: rng.choice([lo, hi, lo, hi, 0, rng.randint(lo, hi)])  # noqa: E731
    values = np.array([[pick() for _ in range(shape[1])] for _ in range(shape[0])], dtype=dtype)
    given = dtype == np.int32 or bits != dbits or signed != dsigned
    return values, bits, signed, given


def random_case(rng):
    rows, channels, k = rng.randint(1, 4), rng.randint(1, 5), rng.randint(1, 40)
    x, xb, xs, xg = random_operand(rng, (rows, k))
    w, wb, ws, wg = random_operand(rng, (channels, k))
    stages = random_stages(rng)
    bias = None
    if rng.random() < 0.5:
        bias = np.array([rng.randint(-(1 << 31), (1 << 31) - 1) if rng.random() < 0.3
                         else rng.randint(-300, 300) for _ in range(channels)], dtype=np.int64)
    placement = rng.choice(["last", "last", "first", "none"])
    kwargs = dict(bias=bias, bias_placement=placement, threads=rng.choice([0, 1, 2, 3]))
    if xg:
        kwargs.update(x_bits=xb, x_signed=xs)
    if wg:
        kwargs.update(w_bits=wb, w_signed=ws)
    return x, w, stages, kwargs, (xb, xs, wb, ws)


def check_against_reference(x, w, stages, kwargs):
    acc = spec_of(stages)
    got = accsim.replay(x, w, acc, **kwargs)
    bias, placement = kwargs["bias"], kwargs["bias_placement"]
    rows, channels = x.shape[0], w.shape[0]
    observed = [(None, None)] * len(stages)
    for r in range(rows):
        for c in range(channels):
            products = [int(a) * int(b) for a, b in zip(x[r], w[c])]
            final, exact, events, obs = reference_dot(
                products, stages, None if bias is None else int(bias[c]), placement)
            where = f"acc {acc}, row {r}, channel {c}"
            assert got["values"][r, c] == final, where
            assert got["exact"][r, c] == exact, where
            assert list(got["events"][r, c]) == events, where
            assert bool(got["corrupted"][r, c]) == (final != exact), where
            observed = [(lo if a is None else min(a, lo), hi if b is None else max(b, hi))
                        for (a, b), (lo, hi) in zip(observed, obs)]
    assert got["observed_bits"] == [width(lo, hi) for lo, hi in observed], acc
    assert got["values"].dtype == np.int64 and got["events"].shape == (rows, channels, len(stages))
    assert got["corrupted"].dtype == np.bool_
    return acc, got


def test_version():
    out = subprocess.run([ACCSIM, "--version"], capture_output=True, text=True).stdout.split()
    assert accsim.__version__ == out[1]


def test_replay_worked_example():
    # README's tiny-linear example, row 0 x q1 on a 12-bit wrap register: 2400 wraps (event 1),
    # -2296 wraps (event 2), 2310 wraps (event 3); the output ends 4096 off.
    x = np.array([[200, 100, 50, 255], [10, 20, 30, 40]], dtype=np.uint8)
    w = np.array([[10, -5, 3, 1], [12, 4, -20, 2], [11, 2, -12, 0]], dtype=np.int8)
    r = accsim.replay(x, w, "12")
    assert r["values"][0].tolist() == [1905, 2310 - 4096, 1800]
    assert r["exact"][0].tolist() == [1905, 2310, 1800]
    assert r["events"][0, :, 0].tolist() == [0, 3, 2]
    assert r["corrupted"].tolist() == [[False, True, False], [False, False, False]]
    assert r["observed_bits"] == [13]
    assert (r["bounds"]["datatype_bits"], r["bounds"]["a2q_bits"], r["bounds"]["a2q_plus_bits"],
            r["bounds"]["exact_bits"], r["bounds"]["observed_bits"]) == (19, 15, 14, 14, 13)
    assert r["overflow"]["events"] == 5 and r["overflow"]["outputs_corrupted"] == 1
    sat = accsim.replay(x, w, "12:sat")
    assert sat["overflow"]["events"] == 4 and sat["overflow"]["outputs_corrupted"] == 2


def test_replay_boundaries():
    # 2^(B-1) - 1 fits a B-bit register; 2^(B-1) is one event, wrapping to -2^(B-1).
    for bits in (2, 8, 16, 31):
        top = (1 << (bits - 1)) - 1
        x = np.array([[1, 1]], dtype=np.int32)
        fits = accsim.replay(x, np.array([[top - 1, 1]], dtype=np.int32), str(bits), x_bits=2,
                             w_bits=16) if top < (1 << 15) else None
        if fits is not None:
            assert fits["values"][0, 0] == top and fits["events"].sum() == 0
            over = accsim.replay(x, np.array([[top, 1]], dtype=np.int32), str(bits), x_bits=2,
                                 w_bits=16)
            assert over["values"][0, 0] == -(top + 1) and over["events"].sum() == 1
            sat = accsim.replay(x, np.array([[top, 1]], dtype=np.int32), f"{bits}:sat",
                                x_bits=2, w_bits=16)
            assert sat["values"][0, 0] == top and sat["events"].sum() == 1
    # 64-bit registers take the widest products and biases without an event.
    x = np.full((2, 3), -32768, dtype=np.int16)
    w = np.full((1, 3), -32768, dtype=np.int16)
    r = accsim.replay(x, w, "64", bias=np.array([(1 << 62)]))
    assert r["values"][0, 0] == 3 * (1 << 30) + (1 << 62) and r["events"].sum() == 0


def test_replay_equals_reference_on_random_gemms():
    rng = random.Random(20261202)
    random.seed(7)
    for _ in range(2500):
        x, w, stages, kwargs, _ = random_case(rng)
        check_against_reference(x, w, stages, kwargs)


def trace_of(tmp_path, x, w, bias, formats, name="gemm"):
    """The GEMM as a one-layer linear trace (rows of x are tokens)."""
    xb, xs, wb, ws = formats
    manifest = {"format": "accsim-trace", "version": 1, "model": name,
                "source": "tests/python/test_module.py", "tensors": "t.safetensors",
                "layers": [{"name": "fc", "op": "linear",
                            "input": {"tensor": "fc.input", "bits": xb, "signed": xs},
                            "weight": {"tensor": "fc.weight", "bits": wb, "signed": ws}}]}
    tensors = {"fc.input": x.astype(np.int32) if x.dtype == np.int32 else x,
               "fc.weight": w.astype(np.int32) if w.dtype == np.int32 else w}
    if bias is not None:
        manifest["layers"][0]["bias"] = {"tensor": "fc.bias", "bits": 32}
        tensors["fc.bias"] = bias.astype(np.int32)
    path = os.path.join(str(tmp_path), name + ".trace")
    accsim_trace.write_trace(path, manifest, tensors)
    return path


def test_replay_equals_the_audit_of_the_same_gemm(tmp_path):
    rng = random.Random(11)
    for i in range(300):
        x, w, stages, kwargs, formats = random_case(rng)
        if kwargs["bias"] is not None:
            kwargs["bias"] = np.clip(kwargs["bias"], -(1 << 31), (1 << 31) - 1)
        acc, got = check_against_reference(x, w, stages, kwargs)
        trace = trace_of(tmp_path, x, w, kwargs["bias"], formats, f"gemm{i}")
        report = accsim.audit(trace, acc=acc, set={"accumulator.bias": kwargs["bias_placement"]},
                              threads=kwargs["threads"])
        layer = report["layers"][0]
        assert got["bounds"] == layer["bounds"], acc
        assert got["overflow"] == layer["overflow"], acc


def test_grouped_replay_equals_the_reference_per_group():
    # A grouped GEMM (a grouped or depthwise convolution lowered): channel c of group g reads
    # x's g-th block of K columns; each output against the slow reference, and the whole
    # against one replay per group.
    rng = random.Random(17)
    for _ in range(200):
        groups, per, k, rows = rng.randint(1, 5), rng.randint(1, 40), rng.randint(1, 30), rng.randint(1, 20)
        x, xb, xs, _ = random_operand(rng, (rows, groups * k))
        w, wb, ws, _ = random_operand(rng, (groups * per, k))
        stages = random_stages(rng)
        acc = spec_of(stages)
        kw = dict(x_bits=xb, x_signed=xs, w_bits=wb, w_signed=ws, threads=rng.choice([0, 1, 3]))
        bias = np.array([rng.randint(-300, 300) for _ in range(groups * per)], dtype=np.int64)
        got = accsim.replay(x, w, acc, bias=bias, groups=groups, **kw)
        for g in range(groups):
            xg = np.ascontiguousarray(x[:, g * k:(g + 1) * k])
            cols = slice(g * per, (g + 1) * per)
            one = accsim.replay(xg, np.ascontiguousarray(w[cols]), acc, bias=bias[cols], **kw)
            for key in ("values", "exact", "events", "corrupted"):
                assert np.array_equal(got[key][:, cols], one[key]), (acc, key)
            r, c = rng.randrange(rows), rng.randrange(per)
            products = [int(a) * int(b) for a, b in zip(xg[r], w[g * per + c])]
            final, exact, events, _ = reference_dot(products, stages, int(bias[g * per + c]), "last")
            assert (got["values"][r, g * per + c], got["exact"][r, g * per + c]) == (final, exact), acc
            assert list(got["events"][r, g * per + c]) == events, acc


def test_replay_without_details_keeps_the_values_and_the_totals():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 256, size=(300, 40), dtype=np.uint8)
    w = rng.integers(-128, 128, size=(24, 20), dtype=np.int8)
    for acc in ("12", "8x10,14:sat", "32"):
        full = accsim.replay(x, w, acc, groups=2)
        lean = accsim.replay(x, w, acc, groups=2, details=False)
        assert np.array_equal(full["values"], lean["values"]), acc
        assert lean["overflow"] == full["overflow"] and lean["bounds"] == full["bounds"], acc
        assert lean["observed_bits"] == full["observed_bits"]
        assert "events" not in lean and "exact" not in lean and "corrupted" not in lean
        assert lean["overflow"]["outputs_corrupted"] == int(full["corrupted"].sum())
        assert lean["overflow"]["events"] == int(full["events"].sum())


def test_grouped_replay_refuses_groups_that_do_not_divide():
    x = np.zeros((2, 6), dtype=np.int8)
    w = np.zeros((4, 3), dtype=np.int8)
    with pytest.raises(accsim.InputError, match="replay: groups: expected a count that divides the 4 channels, got 3"):
        accsim.replay(x, w, "16", groups=3)
    with pytest.raises(accsim.InputError, match="replay: w: x has 6 columns per row but w has K = 3 in each of 4 groups"):
        accsim.replay(x, w, "16", groups=4)
    with pytest.raises(accsim.InputError, match="replay: groups: expected an integer, got 2.5"):
        accsim.replay(x, w, "16", groups=2.5)


def test_replay_threads_do_not_change_results():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(70, 300), dtype=np.int8)
    w = rng.integers(-8, 8, size=(600, 300), dtype=np.int8)
    one = accsim.replay(x, w, "32x12,14:sat", threads=1)
    for t in (2, 3):
        other = accsim.replay(x, w, "32x12,14:sat", threads=t)
        for key in ("values", "exact", "events", "corrupted"):
            assert np.array_equal(one[key], other[key]), key
        assert one["bounds"] == other["bounds"] and one["overflow"] == other["overflow"]
    assert one["overflow"]["events"] > 0  # the slow paths ran


def test_replay_reads_strided_views_and_runs_beside_python_threads():
    rng = np.random.default_rng(5)
    big = rng.integers(-100, 100, size=(40, 64), dtype=np.int16)
    x = big[::2, 10:50]  # rows 2 apart, a column window: read in place
    w = rng.integers(-100, 100, size=(40, 5), dtype=np.int16).T  # a transposed view: copied
    want = accsim.replay(np.ascontiguousarray(x), np.ascontiguousarray(w), "16")
    results = []
    threads = [threading.Thread(target=lambda: results.append(accsim.replay(x, w, "16")))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    for r in results:
        assert np.array_equal(r["values"], want["values"])
        assert np.array_equal(r["exact"], x.astype(np.int64) @ w.astype(np.int64).T)


@pytest.mark.parametrize("call, message", [
    (lambda: accsim.replay(np.zeros((2, 3)), np.zeros((1, 3), np.int8), "16"),
     "replay: x: dtype float64 is not one the datapath takes (int8, uint8, int16, uint16, int32)"),
    (lambda: accsim.replay(np.zeros((2, 3, 1), np.int8), np.zeros((1, 3), np.int8), "16"),
     "replay: x: expected a 2-D array, got 3 dimensions"),
    (lambda: accsim.replay(np.zeros((2, 3), np.int8), np.zeros((1, 4), np.int8), "16"),
     "replay: w: x has K = 3 per row but w has 4"),
    (lambda: accsim.replay(np.array([[16, 0]], np.uint8), np.zeros((1, 2), np.int8), "16",
                           x_bits=4),
     "replay: x: value 16 at [0, 0] is outside the declared 4-bit unsigned [0, 15]"),
    (lambda: accsim.replay(np.zeros((1, 2), np.int32), np.zeros((1, 2), np.int8), "16"),
     "replay: x: int32 values need their width given (x_bits, 1..16): the datapath's operands "
     "have at most 16 bits"),
    (lambda: accsim.replay(np.zeros((1, 2), np.int8), np.zeros((1, 2), np.int8), "16",
                           w_bits=17),
     "replay: w_bits: expected 1..16 bits, got 17"),
    (lambda: accsim.replay(np.zeros((1, 2), np.int8), np.zeros((1, 2), np.int8), "1"),
     '--acc: 1: stage 1 "1": bits must be in [2, 64], got 1'),
    (lambda: accsim.replay(np.zeros((1, 2), np.int8), np.zeros((3, 2), np.int8), "16",
                           bias=[1, 2]),
     "replay: bias: expected one value per channel (3)"),
    (lambda: accsim.replay(np.zeros((1, 2), np.int8), np.zeros((1, 2), np.int8), "16",
                           bias_placement="middle"),
     'replay: bias_placement: expected last, first or none, got "middle"'),
    (lambda: accsim.audit(TINY_LINEAR, acc="16", layers="conv["),
     None),  # the CLI's text, checked in test_errors_carry_the_cli_message
    (lambda: accsim.audit(TINY_LINEAR, acc="16", threads=5000),
     "command line: --threads: expected a thread count in [1, 4096], got 5000"),
    (lambda: accsim.audit(TINY_LINEAR),
     "command line: --config: give --config FILE or --acc SPEC"),
])
def test_bad_input_raises_input_error(call, message):
    with pytest.raises(accsim.InputError) as e:
        call()
    assert isinstance(e.value, ValueError)
    if message is not None:
        assert str(e.value) == message


def cli_files(args, out):
    p = subprocess.run([ACCSIM, *args, "--out", out, "--quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return out


def load(path):
    with open(path) as f:
        return json.load(f)


def test_audit_equals_the_cli(tmp_path):
    for trace, args in [(TINY_LINEAR, {"acc": "12"}),
                        (SMALL_CNN, {"acc": "64x12:tree,16:sat", "set": ["accumulator.bias=first"]}),
                        (TINY_FACE, {"config": os.path.join(CONFIGS, "default.json")})]:
        out = str(tmp_path / os.path.basename(trace))
        cli = ["audit", "--trace", trace]
        if "acc" in args:
            cli += ["--acc", args["acc"]]
        if "config" in args:
            cli += ["--config", args["config"]]
        for s in args.get("set", []):
            cli += ["--set", s]
        cli_files(cli, out)
        assert accsim.audit(trace, **args) == load(os.path.join(out, "report.json"))


def test_run_timing_and_the_systemc_run_equal_the_cli(tmp_path):
    config = os.path.join(CONFIGS, "fpga", "finn-mvau-16x32.json")
    out = cli_files(["run", "--trace", TINY_FACE, "--config", config], str(tmp_path / "run"))
    want = load(os.path.join(out, "report.json"))
    session = accsim.Session(TINY_FACE, config=config)
    assert session.run_timing() == want
    assert session.run_timing(threads=1) == want  # repeatable
    # The SystemC run happens once per process; a second one says why it cannot.
    assert session.run() == want
    with pytest.raises(accsim.InputError, match="once per process"):
        session.run()


def test_run_timing_on_other_arrays_equals_the_cli(tmp_path):
    for config, acc in (("asic/systolic-32x32-os.json", "16x14,24:sat"),
                        ("gpu/tensor-core-sm-a100.json", "32x14:tree,24:sat")):
        path = os.path.join(CONFIGS, config)
        out = cli_files(["run", "--trace", SMALL_CNN, "--config", path, "--acc", acc],
                        str(tmp_path / config.replace("/", "_")))
        assert accsim.run_timing(SMALL_CNN, config=path, acc=acc) == \
            load(os.path.join(out, "report.json"))


def test_sweep_equals_the_cli(tmp_path):
    config = os.path.join(CONFIGS, "fpga", "finn-mvau-16x32.json")
    cli_out = str(tmp_path / "cli")
    p = subprocess.run([ACCSIM, "sweep", "--trace", TINY_FACE, "--config", config,
                        "--grid", "accumulator.stages.0.bits=14..18:2", "--grid",
                        "memory.dram.bandwidth_bytes_per_cycle=8,16", "--out", cli_out, "--quiet"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    progress, points = [], []
    py_out = str(tmp_path / "py")
    got = accsim.sweep(TINY_FACE, config=config,
                       grid={"accumulator.stages.0.bits": "14..18:2",
                             "memory.dram.bandwidth_bytes_per_cycle": [8, 16]},
                       out=py_out, progress=lambda d, t: progress.append((d, t)),
                       on_point=lambda i, rec: points.append((i, rec)))
    want = load(os.path.join(cli_out, "sweep.json"))
    assert got == want
    for name in ("sweep.json", "sweep.csv", "sweep.html"):
        with open(os.path.join(cli_out, name)) as a, open(os.path.join(py_out, name)) as b:
            assert a.read() == b.read(), name
    assert sorted(i for i, _ in points) == list(range(6))
    # A finished point's record is sweep.json's, before the Pareto flags are added.
    for i, rec in points:
        assert {k: v for k, v in want["points"][i].items() if k in rec} == rec
    assert [d for d, _ in progress] == list(range(1, len(progress) + 1))
    assert progress[-1][0] == progress[-1][1]
    # Without a directory nothing is written and the result is the same.
    assert accsim.sweep(TINY_FACE, config=config, grid=["accumulator.stages.0.bits=14..18:2",
                        "memory.dram.bandwidth_bytes_per_cycle=8,16"]) == want


def test_acc_grid_alone_is_an_audit_sweep(tmp_path):
    out = str(tmp_path / "cli")
    p = subprocess.run([ACCSIM, "sweep", "--trace", TINY_LINEAR, "--acc-grid", "12;12:sat;14",
                        "--out", out, "--quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert accsim.sweep(TINY_LINEAR, acc_grid="12;12:sat;14") == load(os.path.join(out, "sweep.json"))


def test_inspect_and_validate_equal_the_cli():
    p = subprocess.run([ACCSIM, "inspect", "--trace", SMALL_CNN], capture_output=True, text=True)
    assert accsim.inspect(SMALL_CNN) == p.stdout
    config = os.path.join(CONFIGS, "default.json")
    p = subprocess.run([ACCSIM, "validate", "--config", config, "--json", "--set",
                        "accumulator.stages.0.bits=16"], capture_output=True, text=True)
    text = p.stdout[:p.stdout.rindex("}") + 1]
    assert accsim.validate(config=config, set={"accumulator.stages.0.bits": 16}) == json.loads(text)


def bad_cases():
    """tests/bad cases of audit, validate and run that name only options the module takes."""
    base = os.path.join(ROOT, "tests", "bad")
    for case in sorted(os.listdir(base)):
        args_file = os.path.join(base, case, "args")
        if not os.path.isfile(args_file):
            continue
        with open(args_file) as f:
            args = shlex.split(f.read())
        if args[0] not in ("audit", "validate", "run") or any(a == "" for a in args):
            continue
        yield case, args


def module_call(args):
    command, rest = args[0], args[1:]
    opts = {"set": []}
    i = 0
    while i < len(rest):
        key = rest[i][2:]
        if key not in ("trace", "acc", "config", "set", "layers", "mode", "vcd", "topology"):
            return None
        if i + 1 >= len(rest):
            return None
        if key == "set":
            opts["set"].append(rest[i + 1])
        else:
            opts[key] = rest[i + 1]
        i += 2
    if command == "validate":
        return lambda: accsim.validate(config=opts.get("config"), acc=opts.get("acc"),
                                       set=opts["set"])
    if "trace" not in opts and "topology" not in opts:
        return None
    if command == "audit":
        return lambda: accsim.audit(opts["trace"], acc=opts.get("acc"), config=opts.get("config"),
                                    set=opts["set"], layers=opts.get("layers"))
    if "topology" in opts:
        if "trace" in opts or "mode" in opts:
            return None
        return lambda: accsim.run_topology(opts["topology"], opts.get("config"), set=opts["set"])
    if opts.get("mode", "tlm") not in ("tlm", "cycle") or "config" not in opts:
        return None
    # Every such case fails before the simulation starts (which happens once per process).
    return lambda: accsim.Session(opts["trace"], acc=opts.get("acc"), config=opts.get("config"),
                                  set=opts["set"]).run(mode=opts.get("mode", "tlm"),
                                                       vcd=opts.get("vcd"))


def test_errors_carry_the_cli_message():
    checked = 0
    cwd = os.getcwd()
    try:
        for case, args in bad_cases():
            call = module_call(args)
            if call is None:
                continue
            directory = os.path.join(ROOT, "tests", "bad", case)
            with open(os.path.join(directory, "expected_stderr")) as f:
                expected = f.read().strip()
            os.chdir(directory)
            with pytest.raises(accsim.InputError) as e:
                call()
            assert "accsim: error: " + str(e.value) == expected, case
            checked += 1
    finally:
        os.chdir(cwd)
    assert checked >= 80  # most of tests/bad
