"""The trace format's writer and reference arithmetic (traces/python/accsim_trace.py), under the
names the importer uses.

    acc = ref_conv2d(x_codes, w_codes, bias, pad_value=zero_point, stride=[1, 1], ...)   # int64
    out = exact_linear_values(x_fp8_values, w_fp8_values)   # exact, rounded once to float64
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "..", "traces", "python"))

from accsim_trace import (TraceWriter, decode_float, exact_conv2d, exact_linear, exact_matmul, read_trace,  # noqa: E402,F401
                          ref_conv2d, ref_linear, ref_matmul, round_to_float)


def exact_linear_values(x, w):
    return exact_linear(x, w)


def exact_conv2d_values(x, w, params: dict):
    return exact_conv2d(x, w, **params)


def exact_matmul_values(a, b):
    return exact_matmul(a, b)
