"""Writes t.trace: a 1-weight layer with a large bias, once on input 0 and once on input 255.

With --acc 12 the dot product alone needs 9 bits, but 255 + 2000 needs 13: the first layer
must be "at_risk" (no event on this input, but some input would overflow), the second
"corrupted". Run with /usr/bin/python3 from this directory.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "traces", "python"))
from accsim_trace import TraceWriter  # noqa: E402

with TraceWriter("t.trace", model="bias-at-risk", source="tests/golden/bias_at_risk/make_trace.py") as w:
    for name, x in (("zero_input", 0), ("full_input", 255)):
        w.linear(name, input=np.array([[x]]), weight=np.array([[1]]), input_bits=8, input_signed=False,
                 weight_bits=8, weight_signed=True, bias=np.array([2000]), output="compute")
