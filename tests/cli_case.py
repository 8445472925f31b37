#!/usr/bin/env python3
"""Runs one CLI test case directory against the accsim binary.

usage: cli_case.py ACCSIM CASE_DIR OUT_DIR

CASE_DIR/args holds the command line (shell syntax, one line; @OUT@ stands for OUT_DIR). The
command runs with CASE_DIR as its working directory, so paths in messages are the short
relative ones a user would type.

- A bad-input case has CASE_DIR/expected_stderr: the command must exit with status 2 (or the
  number in CASE_DIR/exit), print nothing on stdout, and print exactly that text on stderr.
- A golden case has CASE_DIR/expected/: stdout.txt is compared with stdout, and every other
  file with the file of the same name under OUT_DIR (JSON as parsed JSON, without
  /tool/version; other files as text).

ACCSIM_UPDATE_GOLDEN=1 rewrites the expected files from the actual output instead (review
the diff before committing it).
"""
import json
import os
import shlex
import shutil
import subprocess
import sys

IGNORED_JSON = [("tool", "version")]


def drop_ignored(doc):
    for path in IGNORED_JSON:
        node = doc
        for key in path[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return doc


def first_difference(a, b, where=""):
    if type(a) != type(b):
        return f"{where or '/'}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{where}/{k}: only in {'actual' if k in a else 'expected'}"
            d = first_difference(a[k], b[k], f"{where}/{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items != {len(b)} expected"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{where}/{i}")
            if d:
                return d
        return None
    return None if a == b else f"{where or '/'}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]} (expected)"


def main():
    accsim, case, out = sys.argv[1:4]
    update = os.environ.get("ACCSIM_UPDATE_GOLDEN") == "1"
    with open(os.path.join(case, "args")) as f:
        args = [a.replace("@OUT@", out) for a in shlex.split(f.read())]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    proc = subprocess.run([accsim] + args, cwd=case, capture_output=True, text=True)
    failures = []

    if os.path.basename(os.path.dirname(os.path.abspath(case))) == "bad":
        want_exit = 2
        if os.path.exists(os.path.join(case, "exit")):
            want_exit = int(open(os.path.join(case, "exit")).read())
        if update and proc.returncode == want_exit:
            with open(os.path.join(case, "expected_stderr"), "w") as f:
                f.write(proc.stderr)
        path = os.path.join(case, "expected_stderr")
        want = open(path).read() if os.path.exists(path) else "(no expected_stderr)"
        if proc.returncode != want_exit:
            failures.append(f"exit status {proc.returncode}, expected {want_exit}")
        if proc.stdout:
            failures.append(f"unexpected stdout:\n{proc.stdout}")
        if proc.stderr != want:
            failures.append(f"stderr:\n  actual:   {proc.stderr!r}\n  expected: {want!r}")
    else:
        expected = os.path.join(case, "expected")
        stdout = proc.stdout.replace(out, "@OUT@")
        if proc.returncode != 0:
            failures.append(f"exit status {proc.returncode}; stderr: {proc.stderr}")
        if update:
            os.makedirs(expected, exist_ok=True)
            with open(os.path.join(expected, "stdout.txt"), "w") as f:
                f.write(stdout)
            # report.html is a rendering of report.json, checked by its own tests (unit
            # test_report_html, python/report_html): a golden of it would break on every style edit.
            for name in os.listdir(out):
                if name != "report.html":
                    shutil.copy(os.path.join(out, name), os.path.join(expected, name))
        if os.path.exists(out) and "report.json" in os.listdir(out) and "report.html" not in os.listdir(out):
            failures.append("report.html was not written next to report.json")
        for name in sorted(os.listdir(expected)):
            want_path = os.path.join(expected, name)
            if name == "stdout.txt":
                got_text = stdout
            else:
                got_path = os.path.join(out, name)
                if not os.path.exists(got_path):
                    failures.append(f"{name}: not written")
                    continue
                got_text = open(got_path).read()
            want_text = open(want_path).read()
            if name.endswith(".json"):
                d = first_difference(drop_ignored(json.loads(got_text)), drop_ignored(json.loads(want_text)))
                if d:
                    failures.append(f"{name}: {d}")
            elif got_text != want_text:
                failures.append(f"{name} differs:\n--- actual\n{got_text}\n--- expected\n{want_text}")

    if failures:
        print(f"case {case}: {' '.join(shlex.quote(a) for a in args)}")
        for f in failures:
            print("FAIL", f)
        return 1
    print(f"ok {os.path.basename(case)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
