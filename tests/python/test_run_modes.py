#!/usr/bin/python3
"""Two speeds, one truth: `accsim run --mode tlm` and `--mode cycle` give identical values,
overflow events and cycle counts on real traces, for all three systolic dataflows and the
vector unit, several stage layouts, and both agree with `accsim audit`. Also the VCD waveform.

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_run_modes.py
"""
import json
import os
import subprocess
import sys
import tempfile
import pytest


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
SMALL_CNN = os.path.join(ROOT, "traces", "examples", "small-cnn.trace")
TINY_FACE = os.path.join(ROOT, "traces", "examples", "tiny-face-detector.trace")
PPOCR = os.path.join(ROOT, "traces", "examples", "ppocr-v4-svtr.trace")

MEMORY = {"ifmap": {"size_kb": 2, "bandwidth_bytes_per_cycle": 4},
          "filter": {"size_kb": 2, "bandwidth_bytes_per_cycle": 4, "double_buffered": False},
          "ofmap": {"size_kb": 2, "bandwidth_bytes_per_cycle": 8},
          "dram": {"bandwidth_bytes_per_cycle": 2, "latency_cycles": 30}}


def config(array, stages, bias="last"):
    return {"name": "t", "target": "asic", "clock_mhz": 400, "array": array, "memory": MEMORY,
            "accumulator": {"stages": stages, "bias": bias}}


def run(command, trace, cfg, *extra):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        out = os.path.join(tmp, "out")
        p = subprocess.run([ACCSIM, command, "--trace", trace, "--config", path, "--out", out, "--quiet", *extra],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        with open(os.path.join(out, "report.json")) as f:
            return json.load(f)


def same_run(trace, cfg, layers):
    tlm = run("run", trace, cfg, "--layers", layers)
    cyc = run("run", trace, cfg, "--layers", layers, "--mode", "cycle")
    audit = run("audit", trace, cfg, "--layers", layers)
    assert len(tlm["layers"]) == len(cyc["layers"]) > 0
    for t, c, a in zip(tlm["layers"], cyc["layers"], audit["layers"]):
        assert t["overflow"] == c["overflow"] == a["overflow"], (t["name"], t["overflow"], c["overflow"])
        assert t["bounds"] == c["bounds"] == a["bounds"], t["name"]
        assert t["cycles"] == c["cycles"], (t["name"], t["cycles"], c["cycles"])
        assert t["bytes"] == c["bytes"], t["name"]
        assert t["output_verified"] is True and c["output_verified"] is True
    return tlm


def systolic(rows, cols, dataflow):
    return {"kind": "systolic", "rows": rows, "cols": cols, "dataflow": dataflow}


def test_ws_tlm_and_cycle_agree():
    r = same_run(SMALL_CNN, config(systolic(4, 4, "ws"), [{"length": 4, "bits": 14}, {"bits": 16, "overflow": "saturate"}]),
                 "dw1|pw1|attn")
    assert r["totals"]["overflow"]["events"] > 0   # narrow enough to overflow: the events are compared too
    assert r["totals"]["stall_cycles"] > 0         # and small buffers: the stalls are compared too
    same_run(TINY_FACE, config(systolic(8, 4, "ws"), [{"bits": 16}], bias="first"), "conv2|conv8")


def test_is_tlm_and_cycle_agree():
    same_run(SMALL_CNN, config(systolic(4, 3, "is"), [{"length": 4, "bits": 13, "overflow": "saturate"}, {"bits": 17}]),
             "dw1|attn")
    same_run(PPOCR, config(systolic(4, 4, "is"), [{"bits": 16, "overflow": "saturate"}]), r"blocks\.0\.(qk|av)")


def test_os_tlm_and_cycle_agree():
    same_run(SMALL_CNN, config(systolic(3, 5, "os"), [{"length": 3, "bits": 12}, {"bits": 16}], bias="first"),
             "dw1|pw1")
    same_run(TINY_FACE, config(systolic(4, 4, "os"), [{"bits": 15}]), "conv4|conv5_pw")


def test_vector_tlm_and_cycle_agree():
    same_run(SMALL_CNN, config({"kind": "vector", "pe": 4, "simd": 8},
                               [{"length": 8, "bits": 14, "reduction": "tree"}, {"bits": 16}]), "pw1|conv2|attn")
    same_run(TINY_FACE, config({"kind": "vector", "pe": 2, "simd": 4},
                               [{"length": 4, "bits": 16, "reduction": "tree", "overflow": "saturate"},
                                {"length": 8, "bits": 18}, {"bits": 20}], bias="none"), "conv3_pw|conv8")


def test_vcd_waveform_holds_the_array_signals():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c.json")
        with open(path, "w") as f:
            json.dump(config(systolic(4, 4, "ws"), [{"length": 4, "bits": 12}, {"bits": 16}]), f)
        vcd = os.path.join(tmp, "run.vcd")
        p = subprocess.run([ACCSIM, "run", "--trace", SMALL_CNN, "--config", path, "--layers", "^dw1$", "--mode",
                            "cycle", "--vcd", vcd, "--quiet"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert p.stderr == "", p.stderr  # no SystemC warnings either
        text = open(vcd).read()
        header, changes = text.split("$enddefinitions")
        # $var wire <width> <id> <name> ...; the dotted names become nested scopes
        ids = {line.split()[4]: line.split()[3] for line in header.splitlines() if line.startswith("$var")}
        for signal in ("clock", "row0_valid", "row3_valid", "psum", "overflow"):
            assert signal in ids, signal
        assert "$scope module array $end" in header and "$scope module pe0_0 $end" in header
        # the valid signals and the overflow flag rise somewhere: 12-bit chains overflow on this layer
        for signal in ("row0_valid", "row3_valid", "overflow"):
            assert f"\n1{ids[signal]}" in changes, signal
        assert f"\nb" in changes  # the partial sum takes values
        bad = subprocess.run([ACCSIM, "run", "--trace", SMALL_CNN, "--config", path, "--vcd", vcd],
                             capture_output=True, text=True)
        assert bad.returncode == 2 and "a waveform needs --mode cycle" in bad.stderr


def test_a_broadcast_matmul_moves_as_many_bytes_as_its_replicated_twin():
    # rhs [1, K, N] broadcast over 4 batches is read for every batch, like rhs [4, K, N].
    sys.path.insert(0, os.path.join(ROOT, "traces", "python"))
    import numpy as np
    from accsim_trace import TraceWriter
    rng = np.random.default_rng(5)
    lhs = rng.integers(-20, 20, size=(4, 6, 16))
    rhs = rng.integers(-20, 20, size=(1, 16, 12))
    tiny = json.loads(json.dumps(MEMORY))
    for b in ("ifmap", "filter", "ofmap"):
        tiny[b]["size_kb"] = 0.1
    cfg = {"name": "t", "target": "asic", "clock_mhz": 400, "array": systolic(8, 4, "ws"), "memory": tiny,
           "accumulator": {"stages": [{"bits": 32}]}}
    with tempfile.TemporaryDirectory() as tmp:
        reports = []
        for name, r in (("b", rhs), ("r", np.repeat(rhs, 4, axis=0))):
            path = os.path.join(tmp, name + ".trace")
            with TraceWriter(path, model=name) as w:
                w.matmul("mm", lhs, r, lhs_bits=8, lhs_signed=True, rhs_bits=8, rhs_signed=True, output="compute")
            reports.append(run("run", path, cfg))
        a, b = (r["layers"][0] for r in reports)
        assert a["bytes"] == b["bytes"], (a["bytes"], b["bytes"])
        assert a["cycles"] == b["cycles"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
