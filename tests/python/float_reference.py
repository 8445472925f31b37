"""Slow, exact reference of accsim's floating-point accumulation step (pure Python, Fractions).

It is written from accsim's contract for one float step, not from any simulator's code, and is
meant to be checked against the vectors in tests/data/float_vectors/ (made with MMA-Sim).

Values
------
A decoded value is one of:
  * a fractions.Fraction  -- any finite value; Fraction(0) is +0,
  * NEG_ZERO  ('-0')      -- negative zero,
  * POS_INF   ('+inf'), NEG_INF ('-inf'), NAN ('nan').
Results of step()/dot()/round_to() are never NEG_ZERO: a sum that is zero, or that rounds to
zero, gives +0 (Fraction(0)).

Formats
-------
Operand formats ("fmt" strings):
  fp16  IEEE binary16 (e5m10, bias 15)        bf16  e8m7, bias 127
  fp32  IEEE binary32 (e8m23, bias 127)       tf32  a 32-bit fp32 pattern whose low 13 mantissa
                                                     bits are cleared before decoding
  e4m3  OCP FP8 E4M3FN: bias 7, no infinities, S.1111.111 is NaN (max 448, subnormals to 2^-9)
  e5m2  OCP FP8 E5M2: IEEE-like, bias 15, infinities and NaNs (max 57344)
Accumulator formats "eXmY" (also accepted by decode/encode): IEEE-like, X exponent bits,
Y mantissa bits, bias 2^(X-1)-1, subnormals, infinities. Storage ("container") of an eXmY code:
the narrowest of fp16 (e5m10), bf16 (e8m7), fp32 (e8m23) with the same exponent width and at
least Y mantissa bits, the Y bits left-aligned in the container's mantissa (so e8m13 is an fp32
bit pattern whose low 10 bits are zero, e5m10 is fp16, e8m23 is fp32); any other eXmY is packed
in 1+X+Y bits. decode() of an eXmY code whose dropped low bits are not zero raises ValueError
(unless it is a NaN).
NaN encoding: encode(NAN, fmt) gives the positive all-ones NaN (0x7fffffff for fp32/e8m13
storage, 0x7fff for fp16/bf16, 0x7f for e4m3/e5m2) -- the pattern MMA-Sim writes.

One step (the contract)
-----------------------
step(a, b, c) adds G exact products a_i*b_i and c:
  * NaN if any input is NaN, if 0*inf occurs, or if infinities of opposite signs meet;
    else an infinite product or c gives that infinity.
  * Every nonzero term gets an exponent: an operand's is floor(log2|x|), or the format's minimum
    normal exponent for subnormals; a product's is e_a + e_b; c's likewise in its eXmY format.
    Zero terms never set the maximum. E = max over nonzero terms.
  * Each term is truncated toward zero to a multiple of 2^(E-F) (no truncation if F is None),
    the truncated terms are summed exactly and the sum is rounded once to eXmY (RZ or RNE, with
    subnormals on the grid 2^(1-bias-Y)). Overflow gives +-inf in both modes (RZ included).
  * An exactly-zero sum (or one that rounds to zero) is +0.
dot() runs K products through one stage of G products per step starting from c = +0.
"""
from fractions import Fraction
import re

NAN = 'nan'
POS_INF = '+inf'
NEG_INF = '-inf'
NEG_ZERO = '-0'
SPECIALS = (NAN, POS_INF, NEG_INF, NEG_ZERO)

# operand formats: (storage bits, exponent bits, mantissa bits, bias, has_inf)
_OPERANDS = {
    'fp16': (16, 5, 10, 15, True),
    'bf16': (16, 8, 7, 127, True),
    'fp32': (32, 8, 23, 127, True),
    'tf32': (32, 8, 23, 127, True),
    'e4m3': (8, 4, 3, 7, False),
    'e5m2': (8, 5, 2, 15, True),
}
_CONTAINERS = [(5, 10, 16), (8, 7, 16), (8, 23, 32)]   # (exp bits, mantissa bits, width)


def _parse_exmy(fmt):
    m = re.fullmatch(r'e(\d+)m(\d+)', fmt)
    if not m:
        raise ValueError('unknown format %r' % fmt)
    x, y = int(m.group(1)), int(m.group(2))
    if x < 2 or y < 0:
        raise ValueError('bad eXmY format %r' % fmt)
    return x, y


def _layout(fmt):
    """(width, exp bits, stored mantissa bits, value mantissa bits, bias, kind)."""
    if fmt in _OPERANDS:
        w, x, y, bias, has_inf = _OPERANDS[fmt]
        return w, x, y, y, bias, ('ieee' if has_inf else 'fn')
    x, y = _parse_exmy(fmt)
    for cx, cy, w in _CONTAINERS:
        if cx == x and y <= cy:
            return w, x, cy, y, (1 << (x - 1)) - 1, 'ieee'
    return 1 + x + y, x, y, y, (1 << (x - 1)) - 1, 'ieee'


def acc_format(fmt):
    """'fp32' / 'fp16' / 'bf16' / 'eXmY' -> (X, Y)."""
    alias = {'fp32': (8, 23), 'fp16': (5, 10), 'bf16': (8, 7)}
    return alias[fmt] if fmt in alias else _parse_exmy(fmt)


def min_normal_exponent(fmt):
    """Exponent given to subnormals of an operand format or eXmY format."""
    return 1 - _layout(fmt)[4]


# ---------------------------------------------------------------------------------------------
# helpers on values
def is_nan(v):
    return isinstance(v, str) and v == NAN


def is_inf(v):
    return isinstance(v, str) and v in (POS_INF, NEG_INF)


def as_fraction(v):
    """Finite value (Fraction or NEG_ZERO) -> Fraction."""
    if isinstance(v, Fraction):
        return v
    if v == NEG_ZERO:
        return Fraction(0)
    raise ValueError('not finite: %r' % (v,))


def floor_log2(q):
    """floor(log2 |q|) of a nonzero Fraction, exactly."""
    q = abs(q)
    n, d = q.numerator, q.denominator
    e = n.bit_length() - d.bit_length()
    # 2^e <= q < 2^(e+1) ?
    if e >= 0:
        if n < d << e:
            e -= 1
    else:
        if n << -e < d:
            e -= 1
    return e


def _pow2(e):
    return Fraction(1 << e) if e >= 0 else Fraction(1, 1 << -e)


# ---------------------------------------------------------------------------------------------
# decode / encode
def decode(code, fmt):
    """Bit pattern -> Fraction | NEG_ZERO | POS_INF | NEG_INF | NAN (see module docstring)."""
    w, x, sm, vm, bias, kind = _layout(fmt)
    code = int(code)
    if code < 0 or code >= 1 << w:
        raise ValueError('code 0x%x out of range for %s' % (code, fmt))
    if fmt == 'tf32':
        code &= ~0x1FFF
    sign = code >> (w - 1)
    ebits = (code >> sm) & ((1 << x) - 1)
    mant = code & ((1 << sm) - 1)
    emax_field = (1 << x) - 1
    if kind == 'fn':
        if ebits == emax_field and mant == (1 << sm) - 1:
            return NAN
    elif ebits == emax_field:
        if mant:
            return NAN
        return NEG_INF if sign else POS_INF
    drop = sm - vm
    if drop and mant & ((1 << drop) - 1):
        raise ValueError('0x%x is not a %s value (low bits set)' % (code, fmt))
    mant >>= drop
    if ebits == 0:
        if mant == 0:
            return NEG_ZERO if sign else Fraction(0)
        mag = mant * _pow2(1 - bias - vm)
    else:
        mag = ((1 << vm) + mant) * _pow2(ebits - bias - vm)
    return -mag if sign else mag


def encode(value, fmt):
    """Exact value (Fraction/int/float or a special) -> bit pattern; it must be representable."""
    w, x, sm, vm, bias, kind = _layout(fmt)
    emax_field = (1 << x) - 1
    if isinstance(value, str):
        if value == NAN:
            return (1 << (w - 1)) - 1
        if value in (POS_INF, NEG_INF):
            if kind == 'fn':
                raise ValueError('%s has no infinities' % fmt)
            return ((1 if value == NEG_INF else 0) << (w - 1)) | (emax_field << sm)
        if value == NEG_ZERO:
            return 1 << (w - 1)
        raise ValueError('bad special %r' % value)
    v = Fraction(value)
    if v == 0:
        return 0
    sign = 1 if v < 0 else 0
    mag = abs(v)
    e = max(floor_log2(mag), 1 - bias)
    sig = mag / _pow2(e - vm)
    if sig.denominator != 1:
        raise ValueError('%s is not representable in %s' % (v, fmt))
    sig = sig.numerator
    if sig >= 1 << vm:      # normal
        ebits = e + bias
        mant = sig - (1 << vm)
    else:                   # subnormal
        ebits = 0
        mant = sig
    top = emax_field if kind == 'fn' else emax_field - 1
    if ebits > top or (kind == 'fn' and ebits == emax_field and mant == (1 << vm) - 1):
        raise ValueError('%s overflows %s' % (v, fmt))
    if fmt == 'tf32' and mant & 0x1FFF:
        raise ValueError('%s is not a tf32 value' % v)
    return (sign << (w - 1)) | (ebits << sm) | (mant << (sm - vm))


# ---------------------------------------------------------------------------------------------
# rounding
def round_to(value, exp_bits, man_bits, mode):
    """Round an exact Fraction to eXmY (mode 'rz' or 'rne'); +-inf on overflow, +0 for zero."""
    v = Fraction(value)
    if v == 0:
        return Fraction(0)
    bias = (1 << (exp_bits - 1)) - 1
    emax = (1 << exp_bits) - 2 - bias
    mag = abs(v)
    e = max(floor_log2(mag), 1 - bias)
    q = _pow2(e - man_bits)
    n = mag / q
    whole = n.numerator // n.denominator
    if mode == 'rz':
        r = whole
    elif mode == 'rne':
        rest = n - whole
        if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and whole % 2 == 1):
            r = whole + 1
        else:
            r = whole
    else:
        raise ValueError('unknown rounding mode %r' % mode)
    res = r * q
    if res >= _pow2(emax + 1):
        return NEG_INF if v < 0 else POS_INF
    if res == 0:
        return Fraction(0)
    return -res if v < 0 else res


def _trunc_to_grid(v, g):
    """Truncate Fraction v toward zero to a multiple of the power of two g."""
    n = v / g
    t = abs(n.numerator) // n.denominator
    return (t if n >= 0 else -t) * g


# ---------------------------------------------------------------------------------------------
# one step and a dot product
def _operand_term(code, fmt):
    """(value, exponent or None) of an operand; value may be a special."""
    v = decode(code, fmt)
    if isinstance(v, str) and v != NEG_ZERO:
        return v, None
    f = as_fraction(v)
    if f == 0:
        return f, None
    return f, max(floor_log2(f), min_normal_exponent(fmt))


def step(a_codes, b_codes, a_fmt, b_fmt, c_value, acc, F, mode):
    """One accumulation step: G products and the incoming value c -> rounded result.

    acc is (X, Y) or an eXmY string; c_value is a decoded value (Fraction or special); F is the
    number of fraction bits kept below the largest exponent (None: no truncation)."""
    if isinstance(acc, str):
        acc = acc_format(acc)
    X, Y = acc
    if len(a_codes) != len(b_codes):
        raise ValueError('a and b differ in length')
    # specials first
    nan = is_nan(c_value)
    infs = set()
    if is_inf(c_value):
        infs.add(c_value)
    terms = []          # (value, exponent) of nonzero finite terms
    for ac, bc in zip(a_codes, b_codes):
        va, ea = _operand_term(ac, a_fmt)
        vb, eb = _operand_term(bc, b_fmt)
        if is_nan(va) or is_nan(vb):
            nan = True
            continue
        if is_inf(va) or is_inf(vb):
            other = vb if is_inf(va) else va
            if not is_inf(other) and other == 0:
                nan = True          # 0 * inf
                continue
            neg = (va == NEG_INF or (not is_inf(va) and va < 0)) != \
                  (vb == NEG_INF or (not is_inf(vb) and vb < 0))
            infs.add(NEG_INF if neg else POS_INF)
            continue
        if va != 0 and vb != 0:
            terms.append((va * vb, ea + eb))
    if nan or len(infs) == 2:
        return NAN
    if infs:
        return infs.pop()
    c = as_fraction(c_value)
    if c != 0:
        terms.append((c, max(floor_log2(c), 1 - ((1 << (X - 1)) - 1))))
    if not terms:
        return Fraction(0)
    E = max(e for _, e in terms)
    if F is None:
        total = sum((v for v, _ in terms), Fraction(0))
    else:
        g = _pow2(E - F)
        total = sum((_trunc_to_grid(v, g) for v, _ in terms), Fraction(0))
    return round_to(total, X, Y, mode)


def dot(a_codes, b_codes, a_fmt, b_fmt, acc, G, F, mode, c_value=Fraction(0)):
    """K products through one stage: steps of G products in order (the last may take fewer),
    starting from c_value (default +0); each step's result is the next c."""
    c = c_value
    for i in range(0, len(a_codes), G):
        c = step(a_codes[i:i + G], b_codes[i:i + G], a_fmt, b_fmt, c, acc, F, mode)
    return c


def parse_stage(spec):
    """'e8m13:g32:f13:rz' -> {'acc': (8, 13), 'G': 32, 'F': 13, 'mode': 'rz'}.
    The f field may be omitted (no truncation); the mode defaults to 'rne'."""
    parts = spec.split(':')
    out = {'acc': acc_format(parts[0]), 'G': None, 'F': None, 'mode': 'rne'}
    for p in parts[1:]:
        if re.fullmatch(r'g\d+', p):
            out['G'] = int(p[1:])
        elif re.fullmatch(r'f\d+', p):
            out['F'] = int(p[1:])
        elif p in ('rz', 'rne'):
            out['mode'] = p
        else:
            raise ValueError('bad stage field %r in %r' % (p, spec))
    if out['G'] is None:
        out['G'] = 1  # accsim's default group
    if out['G'] < 1:
        raise ValueError('stage %r: G must be positive' % spec)
    return out


def dot_stage(a_codes, b_codes, a_fmt, b_fmt, spec):
    """dot() with a stage shorthand such as 'e8m13:g32:f13:rz'."""
    s = parse_stage(spec)
    return dot(a_codes, b_codes, a_fmt, b_fmt, s['acc'], s['G'], s['F'], s['mode'])


def acc_storage_format(acc):
    """(X, Y) -> the eXmY string used by decode/encode for the accumulator's storage."""
    return 'e%dm%d' % tuple(acc)
