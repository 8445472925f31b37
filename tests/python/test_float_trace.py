"""Float traces end to end through the CLI: FP8 and fp16 layers (linear with DeepSeek-style block
scales, conv2d, matmul) audited and run on the float presets, their recorded F64 outputs checked
bit for bit, the report's float section, table, CSV and HTML (in headless Chromium), thread
invariance and sweeps over float accumulators."""
import csv
import glob
import json
import os
import struct
import subprocess
import tempfile
from fractions import Fraction

import numpy as np
import pytest

import float_reference as ref
from test_report_html import check_page

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
PROMOTED = "128xe8m13:g32:f13:rz,e8m23"


def run(*args, ok=True):
    p = subprocess.run([ACCSIM, *args], capture_output=True, text=True)
    if ok:
        assert p.returncode == 0, (args, p.stderr)
    return p


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        raw = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def value(code, fmt):
    return ref.as_fraction(ref.decode(int(code), fmt))


def e4m3_codes(rng, shape):
    """Finite e4m3 codes (no NaN), a spread of magnitudes."""
    c = rng.integers(0, 256, size=shape, dtype=np.uint8)
    return np.where((c & 0x7f) == 0x7f, 0x7e, c).astype(np.uint8)


def make_trace(d):
    rng = np.random.default_rng(14)
    t, layers = {}, []
    # linear, e4m3, 1x128 activation blocks and 128x128 weight blocks (F32 scales), K = 300
    K, rows, out = 300, 6, 40
    x, w = e4m3_codes(rng, (2, 3, K)), e4m3_codes(rng, (out, K))
    nb = -(-K // 128)
    xs = rng.uniform(0.01, 2, size=(2, 3, nb)).astype(np.float32)
    ws = rng.uniform(0.01, 2, size=(-(-out // 128), nb)).astype(np.float32)
    xv = np.vectorize(lambda c: value(c, "e4m3"), otypes=[object])(x).reshape(rows, K)
    wv = np.vectorize(lambda c: value(c, "e4m3"), otypes=[object])(w)
    y = np.zeros((rows, out))
    for r in range(rows):
        for o in range(out):
            y[r, o] = float(sum(xv[r, k] * wv[o, k] * Fraction(float(xs.reshape(rows, nb)[r, k // 128]))
                                * Fraction(float(ws[o // 128, k // 128])) for k in range(K)))
    t.update({"fc.x": ("F8_E4M3", x), "fc.w": ("F8_E4M3", w), "fc.xs": ("F32", xs),
              "fc.ws": ("F32", ws), "fc.y": ("F64", y.reshape(2, 3, out))})
    layers.append({"name": "fc", "op": "linear",
                   "input": {"tensor": "fc.x", "format": "e4m3",
                             "block_scale": {"tensor": "fc.xs", "block": 128}},
                   "weight": {"tensor": "fc.w", "format": "e4m3",
                              "block_scale": {"tensor": "fc.ws", "block": 128, "block_channels": 128}},
                   "output": {"tensor": "fc.y"}})
    # conv2d, fp16, 3x3, padding 1 (the padding is +0)
    xc = rng.standard_normal((1, 4, 6, 6)).astype(np.float16)
    wc = rng.standard_normal((8, 4, 3, 3)).astype(np.float16)
    t.update({"conv.x": ("F16", xc.view(np.uint16)), "conv.w": ("F16", wc.view(np.uint16))})
    layers.append({"name": "conv", "op": "conv2d",
                   "input": {"tensor": "conv.x", "format": "fp16"},
                   "weight": {"tensor": "conv.w", "format": "fp16"},
                   "conv2d": {"padding": [1, 1]}})
    # matmul, bf16 (codes as uint16)
    a = (rng.standard_normal((2, 5, 64)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    b = (rng.standard_normal((2, 64, 7)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    t.update({"mm.a": ("BF16", a), "mm.b": ("BF16", b)})
    layers.append({"name": "mm", "op": "matmul", "lhs": {"tensor": "mm.a", "format": "bf16"},
                   "rhs": {"tensor": "mm.b", "format": "bf16"}})
    os.makedirs(d)
    write_safetensors(os.path.join(d, "tensors.safetensors"), t)
    json.dump({"format": "accsim-trace", "version": 1, "model": "float-test",
               "source": "tests/python/test_float_trace.py (random, seeded)",
               "tensors": "tensors.safetensors", "layers": layers},
              open(os.path.join(d, "manifest.json"), "w"), indent=1)
    return d


@pytest.fixture(scope="module")
def trace():
    with tempfile.TemporaryDirectory() as tmp:
        yield make_trace(os.path.join(tmp, "f.trace"))


def test_audit_verifies_outputs_and_reports_the_float_section(trace):
    with tempfile.TemporaryDirectory() as out:
        table = run("audit", "--trace", trace, "--acc", PROMOTED, "--out", out).stdout
        r = json.load(open(os.path.join(out, "report.json")))
        fc, conv, mm = r["layers"]
        assert fc["output_verified"] is True and conv["output_verified"] is None
        assert fc["input_format"] == "e4m3" and mm["weight_format"] == "bf16"
        for l in r["layers"]:
            assert l["bounds"] is None and l["input_bits"] is None
            f = l["float"]
            assert f["infinities"] == 0 and f["nans"] == 0
            assert 0 < f["max_rel_error"] < 0.5
            assert f["inexact_outputs"] == l["overflow"]["outputs_corrupted"]
            assert l["status"] in ("inexact", "safe")
        assert "max rel err" in table and "swamped" in table
        rows = list(csv.DictReader(open(os.path.join(out, "layers.csv"))))
        assert rows[0]["input_format"] == "e4m3"
        assert float(rows[0]["float_max_rel_error"]) == fc["float"]["max_rel_error"]
        check_page(out, r, open(os.path.join(out, "report.html"), encoding="utf-8").read())


def test_promotion_and_wider_fractions_shrink_the_error(trace):
    def err(acc):
        with tempfile.TemporaryDirectory() as out:
            run("audit", "--trace", trace, "--acc", acc, "--layers", "conv|mm", "--out", out,
                "--quiet")
            return [l["float"]["mean_rel_error"]
                    for l in json.load(open(os.path.join(out, "report.json")))["layers"]]
    narrow, promoted, b200 = err("e8m13:g16:f13:rz"), err("32xe8m13:g16:f13:rz,e8m23"), \
        err("e8m23:g16:f25:rz")
    for a, b, c in zip(narrow, promoted, b200):
        assert c < b < a


def test_results_do_not_depend_on_threads(trace):
    reports = []
    for threads in ("1", "2"):
        with tempfile.TemporaryDirectory() as out:
            run("audit", "--trace", trace, "--acc", PROMOTED, "--threads", threads, "--out", out,
                "--quiet")
            reports.append(json.load(open(os.path.join(out, "report.json")))["layers"])
    assert reports[0] == reports[1]


@pytest.mark.parametrize("preset", sorted(
    os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "configs", "gpu", "*.json"))
    if "fp" in os.path.basename(p)))
def test_every_float_preset_runs_the_trace(trace, preset):
    with tempfile.TemporaryDirectory() as out:
        run("run", "--trace", trace, "--config", os.path.join(ROOT, "configs", "gpu", preset),
            "--layers", "conv|mm", "--out", out, "--quiet")
        r = json.load(open(os.path.join(out, "report.json")))
        assert r["totals"]["cycles"] > 0 and r["totals"]["energy_pj"] > 0
        for l in r["layers"]:
            assert l["float"]["nans"] == 0 and l["cycles"]["total"] > 0


def test_cycle_mode_is_refused_for_float_datapaths(trace):
    p = run("run", "--trace", trace, "--config",
            os.path.join(ROOT, "configs", "gpu", "tensor-core-sm-h100-fp16.json"),
            "--layers", "conv", "--mode", "cycle", ok=False)
    assert p.returncode == 2 and "float datapaths run in tlm mode" in p.stderr


def test_a_sweep_over_fraction_bits_and_promotion(trace):
    with tempfile.TemporaryDirectory() as out:
        run("sweep", "--trace", trace, "--layers", "conv", "--acc",
            "e8m13:g16:f13:rz", "--grid", "accumulator.stages.0.fraction_bits=8..24:8",
            "--out", out)
        points = json.load(open(os.path.join(out, "sweep.json")))["points"]
        errs = [p["totals"]["max_rel_error"] for p in points]
        assert len(errs) == 3 and errs[0] > 10 * max(errs[1:])  # 8 fraction bits: far worse
        assert all(p["replays"]["derived"] == 0 for p in points)
        rows = list(csv.DictReader(open(os.path.join(out, "sweep.csv"))))
        assert [float(r["max_rel_error"]) for r in rows] == errs


def read_dump(path):
    import accsim_trace
    return accsim_trace.read_safetensors(path)


def test_dump_outputs_of_a_float_and_an_integer_audit(trace):
    with tempfile.TemporaryDirectory() as out:
        dump = os.path.join(out, "dump")
        run("audit", "--trace", trace, "--acc", PROMOTED, "--dump-outputs", dump, "--out", out,
            "--quiet")
        index = json.load(open(os.path.join(dump, "index.json")))
        assert index == {"fc": "fc.safetensors", "conv": "conv.safetensors", "mm": "mm.safetensors"}
        report = json.load(open(os.path.join(out, "report.json")))
        for l in report["layers"]:
            d = read_dump(os.path.join(dump, index[l["name"]]))
            assert d["values"].dtype == np.float32 and d["exact"].dtype == np.float64
            assert d["events"].dtype == np.int32 and d["events"].shape[-1] == 2
            assert d["values"].size == l["outputs"]
            assert int((d["values"].astype(np.float64) != d["exact"]).sum()) == \
                l["overflow"]["outputs_corrupted"]
        fc = read_dump(os.path.join(dump, "fc.safetensors"))
        recorded = read_dump(os.path.join(trace, "tensors.safetensors"))["fc.y"]
        assert (fc["exact"] == recorded).all()
    # An integer trace: I64 values and exact, the same counts as the report.
    tiny = os.path.join(ROOT, "traces", "examples", "tiny-face-detector.trace")
    with tempfile.TemporaryDirectory() as out:
        dump = os.path.join(out, "dump")
        run("audit", "--trace", tiny, "--acc", "128x14,18", "--dump-outputs", dump, "--out", out,
            "--quiet")
        report = json.load(open(os.path.join(out, "report.json")))
        index = json.load(open(os.path.join(dump, "index.json")))
        for l in report["layers"]:
            d = read_dump(os.path.join(dump, index[l["name"]]))
            assert d["values"].dtype == np.int64
            assert int((d["values"] != d["exact"]).sum()) == l["overflow"]["outputs_corrupted"]
            assert int(d["events"].sum()) == l["overflow"]["events"]
            assert list(d["events"].sum(axis=tuple(range(d["events"].ndim - 1)))) == \
                l["overflow"]["events_by_stage"]


def test_inspect_shows_formats_and_the_python_audit_dumps_outputs(trace):
    text = run("inspect", "--trace", trace).stdout
    assert "e4m3" in text and "fp16" in text and "bf16" in text and "blocks of 128" in text
    import accsim
    with tempfile.TemporaryDirectory() as out:
        r = accsim.audit(trace, acc=PROMOTED, dump_outputs=out)
        assert json.load(open(os.path.join(out, "index.json")))["conv"] == "conv.safetensors"
        assert r["layers"][1]["float"]["inexact_outputs"] > 0
