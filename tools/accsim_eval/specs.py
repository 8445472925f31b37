"""Accumulator specs as accsim-eval plots them: the width on the x axis, the family a line.

    describe("128x16,32")  ->  Spec(text="128x16,32", width=16, family="128xP,32", a2q_bits=16)

The width is the first stage's register width (the one a narrower design shrinks); the family is
the spec with that width replaced by P, so "12", "14" and "16" form one line ("P", wrapping) and
"12:sat", "16:sat" another. An A2Q-projected point constrains every weight channel so that the
whole dot product fits the narrowest integer stage (then every tile fits too); a spec with float
stages gets none (a2q_bits None).
"""
import re
from dataclasses import dataclass

FAMILY_NAMES = {"P": "wrap", "P:sat": "saturate", "P:wrap": "wrap"}


@dataclass(frozen=True)
class Spec:
    text: str
    width: int               # the first stage's bits (an integer stage: see describe)
    family: str              # the spec with the first width written as P
    a2q_bits: int | None     # the narrowest integer stage, None when a float stage exists


def describe(text: str) -> Spec:
    """Validates `text` with accsim (raises accsim.InputError) and describes it. A float first
    stage is refused (ValueError): the quantized network's operands are integer codes, which a
    float stage takes only after integer tiles (`32x32,e8m23`)."""
    import accsim
    stages = accsim.validate(acc=text)["accumulator"]["stages"]
    first = stages[0]
    if first.get("kind") == "float":
        raise ValueError(f"--acc: {text}: the quantized network's operands are integer codes, which float "
                         f"stages take after integer tiles, e.g. 32x32,e8m23")
    width = first["bits"]
    head, sep, rest = text.partition(",")
    m = re.match(r"^(\d+x)?(\d+)(.*)$", head)
    family = f"{m.group(1) or ''}P{m.group(3)}{sep}{rest}" if m else text
    ints = [s["bits"] for s in stages if s.get("kind", "int") != "float"]
    has_float = any(s.get("kind") == "float" for s in stages)
    return Spec(text, width, family, None if has_float else min(ints))


def without_mode(family: str) -> str:
    """The family with its overflow modes dropped: where nothing can overflow (A2Q weights and
    no activation x activation layer), wrap and saturate give the same network."""
    return re.sub(r":(sat|wrap)\b", "", family)


def family_label(family: str, weights: str, modes_merged: bool = False) -> str:
    name = FAMILY_NAMES.get(family, family)
    if weights != "a2q":
        return name
    if modes_merged:
        bare = without_mode(family)
        return "A2Q weights" if bare == "P" else f"{bare}, A2Q weights"
    return f"{name}, A2Q weights"
