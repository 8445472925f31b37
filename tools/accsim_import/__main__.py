"""The accsim-import command line (see tools/README.md):

    tools/accsim-import MODEL.onnx --input X.npy [--input X2.pb ...] --out T.trace [--layers REGEX]

Prints one row per recorded layer (operand widths, the float check, accsim's accumulator bounds
and FINN's width) and a note for every dot product left out. Bad input: one line
``accsim: error: <file>: <field>: <what>`` on stderr, exit 2, nothing written.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .inputs import InputFileError
from .node import ImportInputError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"accsim: error: command line: {message}", file=sys.stderr)
        sys.exit(2)


def _threads(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="accsim-import", description=(
        "Import a quantized ONNX model (QONNX: Quant/BipolarQuant/Trunc/MultiThreshold/FloatQuant; "
        "ONNX QDQ; QLinearConv/QLinearMatMul/ConvInteger/MatMulInteger) as an accsim trace: the graph "
        "runs in numpy on your input, and every dot product between two quantized operands becomes an "
        "integer layer with exact outputs."))
    p.add_argument("model", help="the .onnx file")
    p.add_argument("--input", action="append", required=True, metavar="FILE",
                   help=".npy or ONNX TensorProto (.pb); repeat for a batch (stacked on axis 0); "
                        "NAME=FILE for a model with several inputs")
    p.add_argument("--out", required=True, metavar="DIR", help="the trace directory to write")
    p.add_argument("--layers", metavar="REGEX", help="record only the dot products whose node name matches")
    p.add_argument("--name", help="the trace's model name (default: the file's stem)")
    p.add_argument("--acc-grid", metavar='"A;B"',
                   help="also run the model with each accumulator (--acc shorthand, separated by \";\") "
                        "computing every integer layer, and compare its output with the exact run")
    p.add_argument("--loop-json", metavar="FILE", help="write the --acc-grid results as JSON")
    p.add_argument("--threads", type=_threads, default=0, help="accsim threads for --acc-grid (0: all)")
    p.add_argument("--no-bounds", action="store_true",
                   help="do not compute accsim's bounds for the table (no built accsim module needed)")
    return p


def _bounds(trace: str, layers: list) -> dict:
    """accsim's per-layer bounds of the written trace, when the Python module is built
    (integer layers audited with a 64-bit register, FP8 layers with an FP32 one)."""
    try:
        from .loop import load_accsim
        accsim = load_accsim()
    except ImportInputError:
        return {}
    import re

    bounds = {}
    for acc, group in (("64", [r.name for r in layers if r.a.format is None]),
                       ("e8m23", [r.name for r in layers if r.a.format is not None])):
        if group:
            pattern = "^(" + "|".join(re.escape(n) for n in group) + ")$"
            report = accsim.audit(trace, acc=acc, layers=pattern)
            bounds.update({layer["name"]: layer.get("bounds") or {} for layer in report.get("layers", [])})
    return bounds


def _table(result, bounds: dict) -> str:
    head = ["layer", "op", "K", "x", "w", "check (err/bound)", "datatype", "a2q", "exact", "observed", "FINN"]
    rows = []
    for rec in result.layers:
        op = rec.op
        k = rec.b.codes.shape[1] if op == "linear" else (
            rec.a.codes.shape[-1] if op == "matmul" else int(rec.b.codes[0].size))
        def decl(o):
            if o.format:
                return o.format
            text = f"{'i' if o.signed else 'u'}{o.bits}"
            full = (-(1 << (o.bits - 1)), (1 << (o.bits - 1)) - 1) if o.signed else (0, (1 << o.bits) - 1)
            if o.range is not None and tuple(o.range) != full and o.range[0] <= 0 <= o.range[1]:
                text += f"[{o.range[0]},{o.range[1]}]"
            return text + (f" zp{o.zero_point}" if o.zero_point else "")
        chk = rec.meta.get("check")
        chk = f"{chk['max_error_over_bound']:.3f}" if isinstance(chk, dict) else "exact"
        b = bounds.get(rec.name, {})
        finn = rec.meta.get("finn_accumulator") or {}
        rows.append([rec.name, op, str(k), decl(rec.a), decl(rec.b), chk,
                     str(b.get("datatype_bits", "")), str(b.get("a2q_bits", "")), str(b.get("exact_bits", "")),
                     str(b.get("observed_bits", "")), str(finn.get("bits", "-"))])
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head] + rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from .importer import evaluate_in_loop, import_model, write_trace

    try:
        if os.path.exists(args.out) and not os.path.isdir(args.out):
            raise ImportInputError("--out: exists and is not a directory")
        grid = None
        if args.acc_grid is not None:
            from .loop import AccumulatorLoop
            grid = [spec.strip() for spec in args.acc_grid.split(";")]
            if not all(grid):
                raise InputFileError("command line", f'--acc-grid: an empty accumulator spec in "{args.acc_grid}"')
            for spec in grid:
                AccumulatorLoop(spec, args.threads)  # validated before anything is written
        if args.loop_json and not os.path.isdir(os.path.dirname(os.path.abspath(args.loop_json))):
            raise InputFileError("command line", f"--loop-json: no folder for {args.loop_json}")
        result = import_model(args.model, args.input, out=None, layers=args.layers)
        loop = evaluate_in_loop(args.model, args.input, grid, args.layers, args.threads) if grid else None
        result.trace = write_trace(args.out, result.execution, args.model, args.name)  # last: all went well
    except ImportInputError as exc:
        where = getattr(exc, "file", None) or args.model
        print(f"accsim: error: {where}: {exc}", file=sys.stderr)
        return 2
    bounds = {} if args.no_bounds else _bounds(result.trace, result.layers)
    print(f"{result.trace}: {len(result.layers)} layer(s) from {os.path.basename(args.model)}")
    print(_table(result, bounds))
    for note in result.notes:
        print(f"note: {note}")
    if loop is not None:
        print(f"\nin the loop: output \"{loop['output']}\" with each accumulator, against exact integer layers")
        print(_loop_table(loop))
        if args.loop_json:
            with open(args.loop_json, "w") as f:
                json.dump(loop, f, indent=1)
                f.write("\n")
    return 0


def _loop_table(loop: dict) -> str:
    head = ["acc", "events", "corrupted", "max |diff|", "PSNR dB", "argmax agrees"]
    rows = []
    for p in loop["points"]:
        psnr = p["psnr_db"]
        rows.append([p["acc"], str(p["events"]), str(p["outputs_corrupted"]), f"{p['max_abs_diff']:.4g}",
                     "-" if psnr is None else ("inf" if psnr == float("inf") else f"{psnr:.2f}"),
                     f"{p['argmax_agreement']:.3f}" if "argmax_agreement" in p else "-"])
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head] + rows)


if __name__ == "__main__":
    sys.exit(main())
