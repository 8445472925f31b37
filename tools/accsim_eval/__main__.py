"""tools/accsim-eval: a task's metric against accumulator specs, with accsim in the loop."""
import argparse
import os
import re
import sys

EPILOG = """examples:
  tools/accsim-eval --task fashion-mnist --acc-grid "10;12;14;16;32" --weights plain,a2q --out out/fmnist
  tools/accsim-eval --task fortune-lm --acc-grid "128x16,32;32x14,32;20" --out out/lm
  tools/accsim-eval --list

Writes DIR/eval.json, eval.csv, eval.svg and eval.html. Bad input: "accsim: error: ..." and exit 2."""


class _Error(Exception):
    pass


def _fail(field, what):
    raise _Error(f"command line: {field}: {what}")


def parser():
    p = argparse.ArgumentParser(prog="accsim-eval", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", help="the task (--list shows them)")
    p.add_argument("--acc-grid", help='accumulator specs separated by ";", e.g. "10;12;16:sat;128x16,32"')
    p.add_argument("--weights", default="plain",
                   help='"plain", "a2q" or "plain,a2q": A2Q re-quantizes the weights for each spec\'s narrowest '
                        'integer width (default plain)')
    p.add_argument("--per-layer", default="auto",
                   help='a spec to run each layer on alone (every other layer exact); "auto" (default): the widest '
                        'spec of the grid that loses some of the metric; "first": the grid\'s first; "none": skip')
    p.add_argument("--layer-acc", action="append", default=[], metavar="REGEX=SPEC",
                   help='layers whose name matches REGEX keep SPEC ("exact": exact sums) at every point; '
                        'repeatable, the first match wins, e.g. "attn\\.(scores|mix)=exact"')
    p.add_argument("--weight-bits", type=int, help="weight bits (default: the task's)")
    p.add_argument("--act-bits", type=int, help="activation bits (default: the task's)")
    p.add_argument("--limit", type=int, help="evaluate only the first N examples")
    p.add_argument("--threads", type=int, default=0, help="accsim threads (default 0: every hardware thread)")
    p.add_argument("--out", help="output directory")
    p.add_argument("--list", action="store_true", help="list the tasks and exit")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv=None) -> int:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for path in (here, os.path.join(os.path.dirname(here), "build", "python")):
        if path not in sys.path:
            sys.path.insert(0, path)
    p = parser()
    p.error = lambda message: (_ for _ in ()).throw(_Error(f"command line: {message}"))
    try:
        args = p.parse_args(argv)
        return _run(args)
    except _Error as e:
        print(f"accsim: error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    try:
        import accsim
    except ImportError:
        raise _Error("accsim: python module: not built; run tools/build (it builds build/python/accsim)")
    from .task import TaskUnavailable, get_task, task_names
    if args.list:
        for name in task_names():
            t = get_task(name)
            print(f"{name:16s} {t.metric:16s} W{t.weight_bits}A{t.act_bits}  {t.description}")
        return 0
    if not args.task:
        _fail("--task", "missing (--list shows the tasks)")
    if not args.acc_grid:
        _fail("--acc-grid", 'missing, e.g. "10;12;14;16;32"')
    if not args.out:
        _fail("--out", "missing (a directory for eval.json, eval.csv, eval.svg and eval.html)")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        _fail("--out", f"{args.out} exists and is not a directory")
    if args.limit is not None and args.limit < 1:
        _fail("--limit", f"expected a positive count, got {args.limit}")
    if args.threads < 0:
        _fail("--threads", f"expected 0 (every hardware thread) or a count, got {args.threads}")
    for name, bits in (("--weight-bits", args.weight_bits), ("--act-bits", args.act_bits)):
        if bits is not None and not 2 <= bits <= 16:
            _fail(name, f"expected 2..16, got {bits}")
    weights = tuple(w.strip() for w in args.weights.split(",") if w.strip())
    if not weights or any(w not in ("plain", "a2q") for w in weights) or len(set(weights)) != len(weights):
        _fail("--weights", f'expected "plain", "a2q" or "plain,a2q", got "{args.weights}"')
    overrides = []
    for item in args.layer_acc:
        pattern, eq, spec = item.rpartition("=")
        if not eq or not pattern or not spec:
            _fail("--layer-acc", f'expected REGEX=SPEC, got "{item}"')
        try:
            re.compile(pattern)
        except re.error as e:
            _fail("--layer-acc", f'"{pattern}": not a regular expression ({e})')
        overrides.append((pattern, None if spec == "exact" else spec))
    try:
        task = get_task(args.task)
    except KeyError:
        _fail("--task", f'unknown task "{args.task}" (known: {", ".join(task_names())})')
    try:
        grid = accsim._accsim.parse_acc_grid(args.acc_grid)
        from .specs import describe
        for spec in grid:
            d = describe(spec)
            if "a2q" in weights and d.a2q_bits is not None and d.a2q_bits < 4:
                _fail("--acc-grid", f"{spec}: A2Q weights need an integer stage of at least 4 bits")
        per_layer = None if args.per_layer == "none" else args.per_layer
        if per_layer not in (None, "first", "auto"):
            describe(per_layer)
        for _, spec in overrides:
            if spec is not None:
                describe(spec)
    except (accsim.InputError, ValueError) as e:
        raise _Error(str(e) if str(e).startswith("command line") else f"command line: {e}")
    from .evaluate import evaluate
    from .outputs import write_outputs
    say = None if args.quiet else (lambda m: print(m, flush=True))
    try:
        result = evaluate(task, grid, weights=weights, per_layer=per_layer, limit=args.limit, threads=args.threads,
                          weight_bits=args.weight_bits, act_bits=args.act_bits, overrides=overrides,
                          progress=say)
    except TaskUnavailable as e:
        raise _Error(f"{args.task}: data: {e}")
    except (ValueError, RuntimeError) as e:   # what the grid asks of the quantizer, found mid-run
        text = str(e)
        raise _Error(f"command line: {text}" if text.startswith("--") else f"{args.task}: {text}")
    paths = write_outputs(result, args.out)
    if say:
        print(f"wrote {paths['json']}, {paths['csv']}, {paths['svg']}, {paths['html']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
