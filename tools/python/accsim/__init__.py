"""accsim from Python: bit-accurate accumulator audits, runs, sweeps and GEMM replays.

Built by CMake into build/python/ (pybind11 over accsim's C++ library, api/accsim.h); use it
with Debian's interpreter:

    PYTHONPATH=build/python /usr/bin/python3

    import accsim, numpy as np
    report = accsim.audit("traces/examples/tiny-linear.trace", acc="12")
    report["totals"]["overflow"]["outputs_corrupted"]          # 1, as `accsim audit --acc 12`

    x = np.array([[100, 100, 100]], dtype=np.int8)
    w = np.array([[1, 1, 1]], dtype=np.int8)
    r = accsim.replay(x, w, "8")       # r["values"] == [[44]]: 300 wrapped in 8 bits
    r["exact"], r["events"], r["corrupted"], r["observed_bits"], r["bounds"]

audit/run/run_timing/sweep return dicts with the content of the CLI's report.json and sweep.json.
Bad input raises accsim.InputError (a ValueError) whose text is the CLI's message without its
"accsim: error: " prefix. The GIL is released while accsim works, so Python threads can run
other audits meanwhile. `Session` loads a trace and a configuration once for many reports.
"""

import json as _json

from . import _accsim

InputError = _accsim.InputError
InputError.__doc__ = "Bad input: `<file>: <field>: <what is wrong>`, as the accsim CLI prints it."

__version__ = _accsim.version()

__all__ = ["InputError", "Session", "audit", "run", "run_timing", "sweep", "sweep_merge", "replay", "inspect",
           "validate", "run_topology", "import_onnx", "__version__"]


def _sets(set):
    """--set overrides as a list of "PATH=VALUE": from a list, or a dict {path: value}."""
    if set is None:
        return []
    if isinstance(set, dict):
        return [f"{path}={_json.dumps(value) if not isinstance(value, str) else value}"
                for path, value in set.items()]
    if isinstance(set, str):
        return [set]
    return list(set)


def _str_or_none(value):
    return None if value is None else str(value)


class Session:
    """A trace and a configuration loaded (and validated) once, for many reports.

    Session(trace, acc=None, config=None, set=None): trace is a trace directory (or its
    manifest.json); config a JSON or SCALE-Sim .cfg file; acc the --acc shorthand ("16",
    "128x16,32:sat"); set --set overrides (["accumulator.bias=first"] or {"accumulator.bias":
    "first"}). At least config or acc.
    """

    def __init__(self, trace, acc=None, config=None, set=None):
        self._session = _accsim.Session(str(trace), _str_or_none(config), _str_or_none(acc),
                                        _sets(set))

    @property
    def config(self):
        """The effective configuration (every field, defaults filled in)."""
        return _json.loads(self._session.config())

    def audit(self, layers=None, threads=0, dump_outputs=None):
        """`accsim audit`: overflow and bounds per layer (report.json's content). dump_outputs:
        a directory for every output (`--dump-outputs`)."""
        return _json.loads(self._session.audit(layers or "", threads, dump_outputs or ""))

    def run(self, layers=None, threads=0, mode="tlm", vcd=None):
        """`accsim run` on the SystemC accelerator. SystemC runs once per process: use
        run_timing (the same report in tlm mode) for repeated runs."""
        if mode not in ("tlm", "cycle"):
            raise InputError(f'command line: --mode: expected tlm or cycle, got "{mode}"')
        return _json.loads(self._session.run(layers or "", threads, mode == "cycle", vcd or ""))

    def run_timing(self, layers=None, threads=0):
        """The report of `accsim run` (tlm mode) from the plain-C++ timing replay: repeatable."""
        return _json.loads(self._session.run_timing(layers or "", threads))

    def sweep(self, grid=None, acc_grid=None, out=None, resume=False, derive=True, layers=None,
              threads=0, progress=None, on_point=None, shard=None):
        """`accsim sweep` from this session's configuration: sweep.json's content.

        grid: {"accumulator.stages.0.bits": "12..20", ...} or ["PATH=VALUES", ...] (VALUES a
        list 12,14, a range 12..20 or a stepped range 12..32:2; a dict value may be a list).
        acc_grid: ["16", "128x16,32"] or "16;128x16,32". out: a directory for sweep.json/csv/
        html and the journal (--resume); None writes nothing. progress(done, total) and
        on_point(index, record) are called as work finishes (from accsim's threads, one at a
        time). shard: "K/N" or (K, N), `--shard K/N`: only that slice of the points, into out
        (its own points are returned; combine the N directories with sweep_merge).
        """
        axes = []
        if isinstance(grid, dict):
            for path, values in grid.items():
                if isinstance(values, (list, tuple, range)):
                    values = ",".join(str(v) for v in values)
                axes.append(f"{path}={values}")
        elif grid is not None:
            axes = [grid] if isinstance(grid, str) else list(grid)
        if acc_grid is None:
            layouts = []
        elif isinstance(acc_grid, str):
            layouts = _accsim.parse_acc_grid(acc_grid)
        else:
            layouts = [str(a) for a in acc_grid]
        point = None
        if on_point is not None:
            def point(index, record):
                on_point(index, _json.loads(record))
        shard_k, shard_n = _shard(shard)
        text, resumed, computed = self._session.sweep(axes, layouts, str(out) if out else "",
                                                      resume, derive, layers or "", threads,
                                                      progress, point, shard_k, shard_n)
        return _json.loads(text)


def _shard(shard):
    """(k, n) from "K/N" or (K, N); (0, 0) for None."""
    if shard is None:
        return 0, 0
    if isinstance(shard, str):
        k, slash, n = shard.partition("/")
        if not slash or not k.isdigit() or not n.isdigit() or len(k) > 6 or len(n) > 6:
            raise InputError(f'command line: --shard: expected K/N (e.g. 2/8), '
                             f'got "{shard}"')
        return int(k), int(n)
    k, n = shard
    return int(k), int(n)


def audit(trace, acc=None, config=None, set=None, layers=None, threads=0, dump_outputs=None):
    """`accsim audit --trace TRACE (--acc SPEC | --config FILE) [--set ...] [--layers RE]
    [--dump-outputs DIR]`: report.json's content as a dict."""
    return Session(trace, acc=acc, config=config, set=set).audit(layers, threads, dump_outputs)


def run(trace, config, acc=None, set=None, layers=None, threads=0, mode="tlm", vcd=None):
    """`accsim run`: the SystemC accelerator (once per process; see run_timing)."""
    return Session(trace, acc=acc, config=config, set=set).run(layers, threads, mode, vcd)


def run_timing(trace, config, acc=None, set=None, layers=None, threads=0):
    """The report of `accsim run` in tlm mode, from the plain-C++ timing replay (repeatable)."""
    return Session(trace, acc=acc, config=config, set=set).run_timing(layers, threads)


def sweep(trace, config=None, acc=None, grid=None, acc_grid=None, out=None, set=None,
          layers=None, threads=0, resume=False, derive=True, progress=None, on_point=None,
          shard=None):
    """`accsim sweep`: sweep.json's content. With acc_grid alone the first layout is the base
    (an audit-only sweep), as on the command line."""
    if config is None and acc is None and acc_grid:
        layouts = _accsim.parse_acc_grid(acc_grid) if isinstance(acc_grid, str) else acc_grid
        acc = layouts[0]
    return Session(trace, acc=acc, config=config, set=set).sweep(
        grid, acc_grid, out, resume, derive, layers, threads, progress, on_point, shard)


def sweep_merge(out, shard_dirs):
    """`accsim sweep-merge --out OUT SHARD_DIR...`: the N shards of a sweep (sweep(...,
    shard="K/N") runs) combined into out, the files of one run; sweep.json's content."""
    return _json.loads(_accsim.sweep_merge(str(out), [str(d) for d in shard_dirs]))


def run_topology(topology, config, set=None, layers=None, threads=0, gemm=False):
    """`accsim run --topology CSV`: a SCALE-Sim topology, timing only (runs SystemC)."""
    return _json.loads(_accsim.run_topology(str(topology), gemm, _str_or_none(config), _sets(set),
                                            layers or "", threads))


def inspect(trace, layers=None):
    """`accsim inspect`: the trace's layers, shapes, bit widths and value ranges, as text."""
    return _accsim.inspect(str(trace), layers or "")


def validate(config=None, acc=None, set=None):
    """`accsim validate --json`: the effective configuration as a dict (raises InputError)."""
    return _json.loads(_accsim.effective_config(_str_or_none(config), _str_or_none(acc),
                                                _sets(set)))


def replay(x, w, acc, *, bias=None, x_bits=None, x_signed=None, w_bits=None, w_signed=None,
           threads=0, bias_placement="last", x_format=None, w_format=None, block=None,
           x_block_scale=None, w_block_scale=None, groups=1, details=True):
    """One GEMM through an accumulator, every output kept.

    x: [rows, K] and w: [channels, K] numpy integer arrays (int8, uint8, int16, uint16 or int32;
    bits and signedness default from the dtype, int32 needs x_bits/w_bits, and every value is
    checked against its format). bias: [channels] int64 at accumulator scale. acc: the --acc
    shorthand ("16", "128x16,32:sat", "64x12:tree,24"); bias_placement: last, first or none.
    Outputs are y[r, c] = sum_k x[r, k] * w[c, k] (+ bias[c]), added in k order.
    groups=G (integer operands): a grouped GEMM, as a grouped or depthwise convolution lowers
    to one; x is [rows, G*K], w's channels form G equal runs, and channel c of run g reads
    x[r, g*K:(g+1)*K]. details=False (integer stages): only values per output (no exact,
    events or corrupted arrays; their totals are in overflow), for callers that keep less.

    Returns a dict: values (int64 [rows, channels], the final registers), exact (int64, the
    exact sums with the bias where it is added), events (int64 [rows, channels, stages]),
    corrupted (bool [rows, channels]), observed_bits (per stage), bounds and overflow (dicts,
    the keys of a report's layer).

    Float datapaths (an accumulator with float stages, e.g. "128xe8m13:g32:f13:rz,e8m23"):
    x and w may be float16 or float32 arrays (fp16, fp32; x_format/w_format="tf32" reads
    float32 as tf32), or uint8/uint16 codes with x_format/w_format in e4m3, e5m2, bf16, fp16;
    integer arrays go through the accumulator's integer stages first. block, x_block_scale
    [rows, ceil(K/block)] and w_block_scale [channels, ceil(K/block)]: block scales along K,
    float32 values or uint8 E8M0 codes. Returns values and exact (float64 [rows, channels]),
    events (int64 [rows, channels, stages]), corrupted (values != exact), and the report's
    "float" and "overflow" dicts.
    """
    import numpy as np

    def operand(a, name):
        a = np.asarray(a)
        if a.ndim != 2:
            raise InputError(f"replay: {name}: expected a 2-D array, got {a.ndim} dimensions")
        # Rows must be whole elements apart, elements adjacent: anything else is copied.
        if a.strides[1] != a.itemsize or a.strides[0] < 0 or a.strides[0] % a.itemsize:
            a = np.ascontiguousarray(a)
        return a

    x = operand(x, "x")
    w = operand(w, "w")
    float_dtypes = (np.float16, np.float32)
    is_float = (x_format is not None or w_format is not None or x.dtype in float_dtypes
                or w.dtype in float_dtypes or _has_float_stage(acc))
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise InputError(f"replay: groups: expected an integer, got {groups!r}")
    if is_float:
        if groups != 1:
            raise InputError("replay: groups: grouped replays take integer operands and stages")
        return _replay_float(x, w, str(acc), x_format, w_format, block, x_block_scale,
                             w_block_scale, threads, bias)
    if bias is not None:
        bias = np.asarray(bias)
        if bias.dtype.kind not in "iu":
            raise InputError(f"replay: bias: expected integers, got dtype {bias.dtype}")
        if bias.dtype == np.uint64 and bias.size and bias.max() > np.iinfo(np.int64).max:
            raise InputError("replay: bias: values beyond int64")
        bias = np.ascontiguousarray(bias, dtype=np.int64)
    out = _accsim.replay(x, w, str(acc), bias, x_bits, x_signed, w_bits, w_signed, threads,
                         bias_placement, int(groups), bool(details))
    out["bounds"] = _json.loads(out["bounds"])
    out["overflow"] = _json.loads(out["overflow"])
    return out

_FLOAT_CODE_DTYPES = {"e4m3": "uint8", "e5m2": "uint8", "fp16": "uint16", "bf16": "uint16",
                      "fp32": "uint32", "tf32": "uint32"}


def _has_float_stage(acc):
    import re
    return any(re.match(r"^(\d+x)?e\d+m\d+", s) for s in str(acc).split(","))


def _float_operand(a, fmt, name):
    """(uint32 codes, format name) of a float operand; integers stay integers (format "")."""
    import numpy as np
    if fmt is None:
        if a.dtype == np.float16:
            fmt = "fp16"
        elif a.dtype == np.float32:
            fmt = "fp32"
        elif a.dtype.kind in "iu":
            if a.dtype.itemsize > 4 or (a.size and (a.min() < -65536 or a.max() > 65535)):
                raise InputError(f"replay: {name}: integer operands have at most 16 bits")
            return np.ascontiguousarray(a.astype(np.int32)).view(np.uint32), ""
        else:
            raise InputError(f"replay: {name}: dtype {a.dtype} is not a float format; give "
                             f"{name}_format")
    if fmt not in _FLOAT_CODE_DTYPES:
        raise InputError(f"replay: {name}_format: unknown float format {fmt!r} (valid: "
                         + ", ".join(_FLOAT_CODE_DTYPES) + ")")
    want = np.dtype(_FLOAT_CODE_DTYPES[fmt])
    if a.dtype.kind == "f":
        if (fmt in ("fp32", "tf32") and a.dtype != np.float32) or (
                fmt == "fp16" and a.dtype != np.float16):
            raise InputError(f"replay: {name}: a {a.dtype} array cannot hold {fmt} values; pass "
                             f"{_FLOAT_CODE_DTYPES[fmt]} codes")
        a = a.view(want)
    if a.dtype != want:
        raise InputError(f"replay: {name}: {fmt} codes are {want}, got {a.dtype}")
    return np.ascontiguousarray(a).astype(np.uint32), fmt


def _replay_float(x, w, acc, x_format, w_format, block, x_block_scale, w_block_scale, threads,
                  bias):
    import numpy as np
    if bias is not None:
        raise InputError("replay: bias: a float accumulator adds no bias")
    xc, xf = _float_operand(x, x_format, "x")
    wc, wf = _float_operand(w, w_format, "w")
    scales = [None, None, None, None]  # x f32, w f32, x e8m0, w e8m0
    if (x_block_scale is not None or w_block_scale is not None) and not block:
        raise InputError("replay: block: block scales need the block length")
    for i, (s, name) in enumerate(((x_block_scale, "x_block_scale"),
                                    (w_block_scale, "w_block_scale"))):
        if s is None:
            continue
        s = np.asarray(s)
        if s.dtype == np.uint8:
            scales[2 + i] = s.reshape(-1)
        elif s.dtype.kind == "f":
            scales[i] = s.astype(np.float32).reshape(-1)
        else:
            raise InputError(f"replay: {name}: float32 scales or uint8 E8M0 codes, got {s.dtype}")
    out = _accsim.replay_float(xc, wc, xf, wf, acc, int(block or 0), scales[0], scales[1],
                               scales[2], scales[3], threads)
    out["float"] = _json.loads(out["float"])
    out["overflow"] = _json.loads(out["overflow"])
    values, exact = out["values"], out["exact"]
    out["corrupted"] = ~((values == exact) | (np.isnan(values) & np.isnan(exact)))
    return out


def import_onnx(model, inputs, out=None, layers=None, name=None):
    """`tools/accsim-import MODEL --input X ... --out DIR [--layers RE]` as a function: a quantized
    ONNX model (QONNX, ONNX QDQ / QOperator) executed with numpy on `inputs` (file paths,
    "NAME=PATH" strings or numpy arrays; several for one input are a batch), every quantized
    dot product recorded as a trace layer. Returns an ImportResult (.layers, .notes, .outputs,
    .trace); writes the trace to `out` when given. Bad input raises InputError.
    Needs the source tree's tools/ (accsim_import) and Debian's python3-onnx."""
    import os
    import sys

    from ._source import TOOLS_DIR
    if TOOLS_DIR not in sys.path:
        sys.path.insert(0, TOOLS_DIR)
    from accsim_import import ImportInputError, import_model
    try:
        return import_model(model, inputs, out=out, layers=layers, name=name)
    except ImportInputError as exc:
        where = getattr(exc, "file", None) or os.fspath(model)
        raise InputError(f"{where}: {exc}") from None
