"""The trace writer and the format's reference arithmetic, from traces/python/accsim_trace.py."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "..", "traces", "python"))

from accsim_trace import (FLOAT_FORMATS, TraceWriter, decode_float, exact_conv2d, exact_linear,  # noqa: E402,F401
                          exact_matmul, read_trace, ref_conv2d, ref_linear, ref_matmul, round_to_float)
