#!/usr/bin/python3
"""A2Q's headline on our data: the FPGA LUTs of a FINN MVAU whose accumulator is 32 bits wide
against the same MVAU sized to the narrowest safe widths (the exact bounds of the trace's
weights, per stage), for a bundled real trace.

    /usr/bin/python3 tools/a2q_lut_ratio.py [BUILD/bin/accsim] [TRACE] [CONFIG]

Prints a Markdown table: LUTs at 32 bits, LUTs at the exact widths, their ratio, and whether
the narrow design overflowed (it must not: the exact bound holds for every input).
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ACCSIM = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "bin", "accsim")
TRACE = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "traces", "examples", "tiny-face-detector.trace")
CONFIG = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "configs", "fpga", "finn-mvau-16x32.json")


def run(*args):
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.run([ACCSIM, "run", "--trace", TRACE, "--config", CONFIG, "--out", out, "--quiet", *args],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(p.stderr)
        return json.load(open(os.path.join(out, "report.json")))


def main():
    simd = json.load(open(CONFIG))["array"]["simd"]
    pe = json.load(open(CONFIG))["array"]["pe"]
    wide = f"{simd}x32:tree,32"
    base = run("--acc", wide)
    # The narrowest safe widths: per stage, the widest exact bound over the layers.
    stages = [max(l["bounds"]["stages"][j]["exact_bits"] for l in base["layers"]) for j in range(2)]
    narrow = f"{simd}x{stages[0]}:tree,{stages[1]}"
    # Threshold memories hold the widest layer's channels, `pe` to a PE.
    depth = -(-max(l["bounds"]["channels"] for l in base["layers"]) // pe)
    variants = [
        ("LUT multipliers (FINN's HLS default), no thresholds", []),
        ("DSP multipliers, no thresholds", ["--set", "fpga.multipliers=dsp"]),
        (f"LUT multipliers, 8-bit threshold activations in LUTRAM (depth {depth})",
         ["--set", "fpga.thresholds.output_bits=8", "--set", f"fpga.thresholds.depth={depth}"]),
        (f"DSP multipliers, 8-bit threshold activations in LUTRAM (depth {depth})",
         ["--set", "fpga.multipliers=dsp", "--set", "fpga.thresholds.output_bits=8",
          "--set", f"fpga.thresholds.depth={depth}"]),
    ]
    print(f"trace: {os.path.relpath(TRACE, ROOT)}; config: {os.path.relpath(CONFIG, ROOT)}; "
          f"accumulator {wide} against the exact widths {narrow}\n")
    print("| MVAU variant | LUTs, 32-bit | LUTs, exact widths | ratio | corrupted outputs, exact widths |")
    print("|---|---:|---:|---:|---:|")
    for name, extra in variants:
        w = run("--acc", wide, *extra)
        n = run("--acc", narrow, *extra)
        lw, ln = w["fpga"]["resources"]["lut"], n["fpga"]["resources"]["lut"]
        fits = lambda r: "" if r["fpga"]["fits"] else " (does not fit)"
        print(f"| {name} | {lw:,}{fits(w)} | {ln:,}{fits(n)} | {lw / ln:.2f}x | "
              f"{n['totals']['overflow']['outputs_corrupted']} |")


if __name__ == "__main__":
    main()
