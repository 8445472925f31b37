#!/usr/bin/python3
"""A bundled trace replays bit for bit: every layer records its framework output, and accsim's
unbounded replay reproduces each one (report.json says output_verified for every layer).

    /usr/bin/python3 tests/python/check_bundled_trace.py BUILD/bin/accsim TRACE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile


def main() -> int:
    accsim, trace = sys.argv[1:3]
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.run([accsim, "audit", "--trace", trace, "--acc", "64", "--out", out, "--quiet"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stderr)
            return 1
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
    missing = [l["name"] for l in report["layers"] if l["output_verified"] is not True]
    if missing:
        print(f"{trace}: layers without a verified output: {', '.join(missing)}")
        return 1
    macs = report["totals"]["macs"]
    print(f"ok {trace}: {len(report['layers'])} layers, {macs} MACs, every output reproduced bit for bit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
