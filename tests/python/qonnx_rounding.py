"""The slow, exact reference for QONNX's rounding modes, shared by the importer's tests."""
import math
from fractions import Fraction


def exact_round(v: Fraction, mode: str) -> int:
    """Round an exact rational to an integer by the QONNX rounding-mode table."""
    mode = mode.upper()
    fl = math.floor(v)
    frac = v - fl
    half = Fraction(1, 2)
    if mode in ("ROUND", "HALF_EVEN"):
        if frac != half:
            return fl + (1 if frac > half else 0)
        return fl if fl % 2 == 0 else fl + 1
    if mode == "CEIL":
        return math.ceil(v)
    if mode == "FLOOR":
        return fl
    if mode == "UP":
        return math.ceil(v) if v > 0 else fl
    if mode == "DOWN":
        return fl if v > 0 else math.ceil(v)
    if mode in ("HALF_UP", "HALF_DOWN"):
        if frac != half:
            return fl + (1 if frac > half else 0)
        away = mode == "HALF_UP"
        return (fl + 1 if v > 0 else fl) if away else (fl if v > 0 else fl + 1)
    raise AssertionError(mode)
