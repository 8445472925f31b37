"""pytest's setup for tests/python (ctest runs each file with `/usr/bin/python3 -m pytest`):
the accsim module (build/python), the trace writer (traces/python) and this folder's helpers
importable; the CLI under test in $ACCSIM (default build/bin/accsim)."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
for path in (os.path.join(ROOT, "build", "python"), os.path.join(ROOT, "traces", "python"),
             os.path.dirname(os.path.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)
