#!/usr/bin/python3
"""report.html: `accsim audit|run --out DIR` writes a self-contained page next to report.json,
with one plot per section the report has, that headless Chromium renders without a console
message (tools/check_report_html).

    ACCSIM=build/bin/accsim /usr/bin/python3 -m pytest tests/python/test_report_html.py
"""
import glob
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import pytest


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCSIM = os.environ.get("ACCSIM", os.path.join(ROOT, "build", "bin", "accsim"))
CHECK = os.path.join(ROOT, "tools", "check_report_html")
TRACE = os.path.join(ROOT, "traces", "examples", "tiny-face-detector.trace")


def accsim(*args):
    p = subprocess.run([ACCSIM, *args], capture_output=True, text=True)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


def report_in(out, *args):
    """Runs accsim with --out and returns (report.json, report.html text)."""
    accsim(*args, "--out", out, "--quiet")
    page = os.path.join(out, "report.html")
    assert os.path.isfile(page), f"accsim {args[0]} --out did not write report.html (see README.md, Commands)"
    return json.load(open(os.path.join(out, "report.json"))), open(page, encoding="utf-8").read()


def expected_plots(report):
    """One <svg> per section the report has: overflow and bounds (values), cycles, energy, FPGA."""
    layers = report["layers"]
    return (sum(any(l.get(k) is not None for l in layers) for k in ("overflow", "bounds", "cycles", "energy_pj"))
            + (report.get("fpga") is not None))


def check_in_chromium(page, png, plots):
    p = subprocess.run([sys.executable, CHECK, page, png, "--min-svg", str(plots)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert os.path.getsize(png) > 0


def check_page(out, report, text):
    assert text.startswith("<!DOCTYPE html>")
    for outside in ("http://", "https://", "src=", "<link", "<script"):
        assert outside not in text, outside
    assert text.count("<svg") == expected_plots(report), (text.count("<svg"), expected_plots(report))
    # Every layer's name is in the table (escaped as HTML text).
    for l in report["layers"]:
        assert f"<td>{html.escape(l['name'], quote=True)}</td>" in text.replace("&#x27;", "&#39;"), l["name"]
    check_in_chromium(os.path.join(out, "report.html"), os.path.join(out, "report.png"), expected_plots(report))


def test_audit_page_plots_overflow_and_bounds_and_notes_the_rest():
    with tempfile.TemporaryDirectory() as out:
        report, text = report_in(out, "audit", "--trace", TRACE, "--config",
                                 os.path.join(ROOT, "configs", "default.json"))
        check_page(out, report, text)
        assert expected_plots(report) == 2
        assert "No cycles: an audit" in text and "No energy: an audit" in text
        # The header echoes the configuration and the trace.
        assert html.escape(report["config"]["name"]) in text
        assert html.escape(report["trace"]["model"]) in text
        macs = f"{report['totals']['macs']:,}"
        assert macs in text, macs


def test_run_page_adds_cycles_and_energy():
    with tempfile.TemporaryDirectory() as out:
        report, text = report_in(out, "run", "--trace", TRACE, "--config",
                                 os.path.join(ROOT, "configs", "asic", "systolic-32x32-ws.json"))
        check_page(out, report, text)
        assert 'id="cycles"' in text and "No cycles" not in text
        cycles = f"{report['totals']['cycles']:,}"
        assert cycles in text, cycles
        if report["totals"].get("energy_pj") is not None:
            assert "No energy" not in text
        for l in report["layers"]:
            if l["cycles"] is not None:
                assert f">{l['cycles']['total']:,}</td>" in text, l["name"]


def test_fpga_page_shows_resources_against_the_device():
    presets = sorted(glob.glob(os.path.join(ROOT, "configs", "fpga", "*.json")))
    assert presets
    with tempfile.TemporaryDirectory() as out:
        report, text = report_in(out, "run", "--trace", TRACE, "--config", presets[0])
        check_page(out, report, text)
        fpga = report.get("fpga")
        if fpga is not None:
            assert 'id="fpga"' in text
            verdict = "fits on the device" if fpga["fits"] else "does not fit: "
            assert verdict in text, verdict
            if not fpga["fits"]:
                assert re.search(r'class="bad"><strong>does not fit: [A-Z0-9]+ over by [\d,]+', text)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
