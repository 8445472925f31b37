"""The trace writer and the format's reference arithmetic, from traces/python/accsim_trace.py."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "..", "traces", "python"))

from accsim_trace import TraceWriter, ref_conv2d, ref_linear, ref_matmul  # noqa: E402,F401
