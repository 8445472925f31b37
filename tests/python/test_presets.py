#!/usr/bin/python3
"""Every preset in configs/ validates and runs: JSON presets on a bundled trace, SCALE-Sim .cfg
presets on the bundled ResNet-18 topology.

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_presets.py
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import pytest


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
PRESETS = sorted(glob.glob(os.path.join(ROOT, "configs", "**", "*.json"), recursive=True) +
                 glob.glob(os.path.join(ROOT, "configs", "**", "*.cfg"), recursive=True))


def accsim(*args):
    p = subprocess.run([ACCSIM, *args], capture_output=True, text=True)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


def test_there_are_presets_for_every_kind_of_array():
    kinds = set()
    for path in PRESETS:
        if path.endswith(".json"):
            kinds.add(json.load(open(path))["array"]["kind"])
    assert kinds == {"systolic", "vector", "tensor_core"}, kinds
    assert len(PRESETS) >= 10


def is_float_preset(path):
    """Presets whose accumulator is float from the first stage on (datapath/FLOAT.md)."""
    return path.endswith(".json") and \
        json.load(open(path))["accumulator"]["stages"][0].get("kind") == "float"


@pytest.fixture(scope="module")
def fp8_trace():
    """The face detector exported as an FP8 trace (tools/accsim-export, offline, < 1 s)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "face-fp8.trace")
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "accsim-export"), "--model",
                            "bundled:tiny-face-detector", "--float", "e4m3", "--float-scaling",
                            "channel", "--out", out], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        yield out


def test_every_preset_validates_and_runs(fp8_trace):
    trace = os.path.join(ROOT, "traces", "examples", "small-cnn.trace")
    topology = os.path.join(ROOT, "configs", "scalesim", "resnet18.csv")
    for path in PRESETS:
        accsim("validate", "--config", path, "--quiet")
        with tempfile.TemporaryDirectory() as tmp:
            if is_float_preset(path):  # float operands: the FP8 export of a real network
                accsim("run", "--trace", fp8_trace, "--config", path, "--out", tmp, "--quiet")
            elif path.endswith(".cfg"):
                accsim("run", "--topology", topology, "--config", path, "--out", tmp, "--quiet")
            else:
                accsim("run", "--trace", trace, "--config", path, "--out", tmp, "--quiet")
            report = json.load(open(os.path.join(tmp, "report.json")))
            assert report["totals"]["cycles"] > 0, path
            assert all(l["cycles"]["total"] >= l["cycles"]["compute"] > 0 for l in report["layers"]), path
            assert os.path.getsize(os.path.join(tmp, "report.html")) > 1000, path
            if path.endswith(".cfg"):
                continue  # SCALE-Sim configs carry no energy table
            # Every JSON preset prices its run: energy and power per layer and in total.
            t = report["totals"]
            target = report["config"]["target"]
            assert t["energy_pj"] > 0 and t["power_mw"] > 0, path
            table = report["config"]["energy"]
            for l in report["layers"]:
                e = l["energy_pj"]
                assert e["total"] > 0 and l["power_mw"] > 0, (path, l["name"])
                # Two figures recomputed here from the preset's own table, independently of the code:
                # DRAM energy from the bytes moved, static energy from the time.
                assert abs(e["dram"] - l["bytes"]["dram"]["total"] * 8 * table["dram_pj_per_bit"]) <= 1e-6 * max(1, e["dram"]), path
                static_mw = report["config"]["fpga"]["device"]["static_mw"] if target == "fpga" else table["static_mw"]
                assert abs(e["static"] - static_mw * l["time_us"] * 1000) <= 1e-6 * max(1, e["static"]), path
                if target != "fpga":
                    # Multiplies: every product priced at the table's scaled energy, gated ones at their share.
                    m = table["multiply"]
                    # Float operands are priced at their storage width.
                    stored = {"e4m3": 8, "e5m2": 8, "fp16": 16, "bf16": 16, "fp32": 32, "tf32": 32}
                    a = l["input_bits"] or stored[l["input_format"]]
                    b = l["weight_bits"] or stored[l["weight_format"]]
                    scale = {"product": a * b / (m["a_bits"] * m["b_bits"]),
                             "linear": (a + b) / (m["a_bits"] + m["b_bits"]),
                             "quadratic": (max(a, b) / max(m["a_bits"], m["b_bits"])) ** 2,
                             "constant": 1}[m["scaling"]]
                    g = table["zero_gating"]
                    z = l["actions"]["zero_" + {"either": "", "input": "input_", "weight": "weight_"}[g["operand"]] + "products"]
                    want = (l["macs"] - z + z * g["multiply"]) * m["pj"] * scale
                    assert abs(e["multiply"] - want) <= 1e-9 * want, (path, l["name"], e["multiply"], want)
            assert abs(sum(l["energy_pj"]["total"] for l in report["layers"]) - t["energy_pj"]) <= 1e-6 * t["energy_pj"]
            if target == "fpga":
                f = report["fpga"]
                assert f is not None and f["resources"]["lut"] > 0 and f["fits"], path
            else:
                assert report["fpga"] is None, path
            if target == "gpu":
                # The preset's SMs, MMA rate and clock give the data sheet's peak.
                sheet = {"tensor-core-sm-a100": 624, "tensor-core-sm-h100": 1979,
                         "tensor-core-sm-v100-fp16": 125, "tensor-core-sm-a100-fp16": 312,
                         "tensor-core-sm-a100-bf16": 312, "tensor-core-sm-h100-fp16": 989,
                         "tensor-core-sm-h100-bf16": 989, "tensor-core-sm-h100-fp8": 1979,
                         "tensor-core-sm-h100-fp8-promoted": 1979, "tensor-core-sm-ada-fp8": 733,
                         "tensor-core-sm-b200-fp8": 4500}[report["config"]["name"]]
                assert abs(report["gpu"]["peak_tops"] - sheet) < 0.01 * sheet, report["gpu"]


def test_presets_for_two_fpga_devices_and_two_gpus():
    devices, gpus = set(), set()
    for path in PRESETS:
        if not path.endswith(".json"):
            continue
        c = json.load(open(path))
        if c.get("target") == "fpga":
            devices.add(c["fpga"]["device"]["name"])
        if c.get("target") == "gpu":
            gpus.add(c["name"])
    assert len(devices) >= 2, devices
    assert len(gpus) >= 2, gpus


def test_every_number_of_a_cost_section_cites_a_source():
    for path in PRESETS:
        if not path.endswith(".json"):
            continue
        c = json.load(open(path))
        if c.get("energy"):
            assert c["energy"].get("source"), path
        if c.get("fpga"):
            assert c["fpga"]["device"].get("source") and c["fpga"]["power"].get("source"), path


def test_validate_prints_every_key_with_its_unit():
    for path in PRESETS:
        out = accsim("validate", "--config", path)
        assert "clock_mhz" in out and " MHz" in out, path
        if "/fpga/" in path:
            assert "fpga.device.lut" in out and " LUTs" in out
            assert "fpga.power.lut_uw_per_mhz" in out and " uW/MHz" in out
        if "/asic/" in path:
            assert "energy.dram_pj_per_bit" in out and " pJ/bit" in out


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
