"""Accumulator specs as accsim-eval plots them: the width on the x axis, the family a line.

    describe("128x16,32")  ->  Spec(text="128x16,32", width=16, family="128xP,32", a2q_bits=16)

The width is the first stage's register width (the one a narrower design shrinks); the family is
the spec with that width replaced by P, so "12", "14" and "16" form one line ("P", wrapping) and
"12:sat", "16:sat" another. An A2Q-projected point constrains every weight channel so that the
whole dot product fits the narrowest integer stage (then every tile fits too); float stages have
no integer width to project onto.
"""
import re
from dataclasses import dataclass

FAMILY_NAMES = {"P": "wrap", "P:sat": "saturate", "P:wrap": "wrap"}


@dataclass(frozen=True)
class Spec:
    text: str
    width: int               # the first stage's bits (float: 1 + exponent + mantissa bits)
    family: str              # the spec with the first width written as P
    a2q_bits: int | None     # the narrowest integer stage, None when a float stage exists


def describe(text: str) -> Spec:
    """Validates `text` with accsim (raises accsim.InputError) and describes it."""
    import accsim
    stages = accsim.validate(acc=text)["accumulator"]["stages"]
    first = stages[0]
    if first.get("kind") == "float":
        width = 1 + first["exponent_bits"] + first["mantissa_bits"]
    else:
        width = first["bits"]
    head, sep, rest = text.partition(",")
    m = re.match(r"^(\d+x)?(\d+)(.*)$", head)
    family = f"{m.group(1) or ''}P{m.group(3)}{sep}{rest}" if m else text
    ints = [s["bits"] for s in stages if s.get("kind", "int") != "float"]
    has_float = any(s.get("kind") == "float" for s in stages)
    return Spec(text, width, family, None if has_float or not ints else min(ints))


def without_mode(family: str) -> str:
    """The family with its overflow modes dropped: with A2Q weights nothing overflows, so wrap
    and saturate give the same network."""
    return re.sub(r":(sat|wrap)\b", "", family)


def family_label(family: str, weights: str) -> str:
    if weights == "a2q":
        bare = without_mode(family)
        return "A2Q weights" if bare == "P" else f"{bare}, A2Q weights"
    return FAMILY_NAMES.get(family, family)
