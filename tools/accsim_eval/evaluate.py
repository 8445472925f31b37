"""evaluate(): a task's metric against accumulator specs (what tools/accsim-eval runs).

    import sys; sys.path[:0] = ["tools", "build/python"]
    from accsim_eval import evaluate
    result = evaluate("fashion-mnist", "10;12;14;16;32", weights=("plain", "a2q"))
    result["baseline"]          # {"float": 0.91, "quantized": 0.909}
    result["points"][0]         # {"acc": "10", "weights": "plain", "metric": ..., "events": ...}

Runs, in order: the float network; the exactly quantized one (integer sums in int64, the
`quantized` baseline); then for each spec and each weight choice, the quantized network with
every layer's dot products through that accumulator (accsim.replay in the loop: LoopModel).
"plain" weights are the exporter's usual quantization; "a2q" re-quantizes the weights for each
spec with the exporter's accumulator-aware option at the spec's narrowest integer width, so no
partial sum can overflow in a layer with weights (float specs get no A2Q point; and where no
layer can overflow at all, that is with no activation x activation layer and no override, a spec
differing from an earlier one only in its overflow mode gets none either: the run is the same). Finally, per layer: the network with
only that layer on `per_layer` (every other layer exact), which says whose overflow costs most.
"""
import time

from accsim_export import ExportConfig, quantize

from .loop import LoopModel
from .specs import describe, without_mode
from .task import Task, get_task

WEIGHT_CHOICES = ("plain", "a2q")


def _delta(metric, base):
    return None if metric is None or base is None else metric - base


def _point(task, model, q, spec, weights, reference, limit, threads, overrides):
    run = LoopModel(model, q, acc=spec.text, overrides=overrides, threads=threads)
    t0 = time.perf_counter()
    score = task.evaluate(run, reference=reference, limit=limit)
    seconds = time.perf_counter() - t0
    layers = {name: s.as_dict() for name, s in run.stats.items()}
    return {"acc": spec.text, "weights": weights, "width": spec.width, "family": spec.family,
            "metric": score.metric, "extra": score.extra,
            "events": sum(s.events for s in run.stats.values()),
            "outputs_corrupted": sum(s.outputs_corrupted for s in run.stats.values()),
            "outputs": sum(s.outputs for s in run.stats.values()),
            "seconds": round(seconds, 3), "accumulate_seconds": round(sum(s.seconds for s in run.stats.values()), 3),
            "layers": layers}


def evaluate(task, acc_grid, *, weights=("plain",), per_layer="auto", limit=None, threads=0,
             weight_bits=None, act_bits=None, overrides=None, progress=None) -> dict:
    r"""The task's metric at every spec of acc_grid ("10;12;16:sat" or a list), for each weight
    choice ("plain", "a2q"). per_layer: a spec, "first" (the grid's first spec), "auto" (the
    widest spec whose plain-weight metric is worse than the quantized baseline) or None.
    overrides: [(regex, spec or None)], layers whose name matches keep that accumulator (None:
    exact) at every point, e.g. [(r"attn\.(scores|mix)", None)] keeps attention products exact.
    progress(message) is called as each run finishes. Returns eval.json's content."""
    import accsim
    if isinstance(task, str):
        task = get_task(task)
    if not isinstance(task, Task):
        raise TypeError("task must be a task name or a Task")
    texts = accsim._accsim.parse_acc_grid(acc_grid) if isinstance(acc_grid, str) else [str(a) for a in acc_grid]
    if not texts:
        raise ValueError("the accumulator grid is empty")
    specs = [describe(t) for t in texts]
    for w in weights:
        if w not in WEIGHT_CHOICES:
            raise ValueError(f"weights must be among {', '.join(WEIGHT_CHOICES)}, got {w!r}")
    layer_spec = None
    if per_layer == "first":
        layer_spec = specs[0]
    elif per_layer not in (None, "auto"):
        layer_spec = describe(str(per_layer))
    import re
    overrides = [(p, None if s is None else describe(str(s)).text) for p, s in (overrides or [])]
    for p, _ in overrides:
        re.compile(p)
    say = progress or (lambda message: None)
    cfg = dict(weight_bits=weight_bits or task.weight_bits, act_bits=act_bits or task.act_bits,
               activations=task.activations)
    started = time.perf_counter()

    model = task.model()
    calibration = task.calibration()
    t0 = time.perf_counter()
    float_score = task.evaluate(_no_grad(model), limit=limit)
    float_seconds = time.perf_counter() - t0
    reference = float_score.details
    say(f"float: {task.metric} {float_score.metric:.6g} ({float_score.examples} examples, {float_seconds:.1f} s)")

    q = _quantize(model, calibration, ExportConfig(**cfg))
    exact = LoopModel(model, q, acc=None, threads=threads)
    t0 = time.perf_counter()
    quant_score = task.evaluate(exact, reference=reference, limit=limit)
    quant_seconds = time.perf_counter() - t0
    say(f"quantized (exact integer sums): {task.metric} {quant_score.metric:.6g} ({quant_seconds:.1f} s)")

    if "a2q" in weights:
        for spec in specs:
            if spec.a2q_bits is not None and spec.a2q_bits < 4:
                raise ValueError(f"--acc-grid: {spec.text}: A2Q weights need an integer stage of at least 4 bits")
    # With A2Q weights nothing overflows, so wrap and saturate are one run; unless a layer
    # without weights (activation x activation) or one on an override can still overflow.
    merge_modes = not overrides and all(q.layers[n].kind != "matmul" for n in q.order)
    points = []
    a2q_models, a2q_done = {}, set()
    for spec in specs:
        for w in weights:
            a2q_key = (without_mode(spec.family) if merge_modes else spec.family, spec.width)
            if w == "plain":
                qm = q
            elif spec.a2q_bits is None or a2q_key in a2q_done:
                continue  # float stages; or the same run under another overflow mode
            else:
                a2q_done.add(a2q_key)
                if spec.a2q_bits not in a2q_models:
                    a2q_models = {spec.a2q_bits: _quantize(model, calibration, ExportConfig(**cfg, acc_bits=spec.a2q_bits))}
                qm = a2q_models[spec.a2q_bits]
            p = _point(task, model, qm, spec, w, reference, limit, threads, overrides)
            if w == "a2q":
                p["modes_merged"] = merge_modes
            p["delta"] = _delta(p["metric"], quant_score.metric)
            points.append(p)
            say(f"{spec.text:>14s} {w:5s}: {task.metric} {p['metric']:.6g}, {p['outputs_corrupted']} outputs "
                f"corrupted, {p['events']} events ({p['seconds']:.1f} s)")

    if per_layer == "auto":
        layer_spec = _first_loss(points, quant_score.metric, task.higher_is_better, specs)

    layer_rows = []
    if layer_spec is not None:
        for name in q.order:
            run = LoopModel(model, q, acc=None, overrides=[(f"^{_escape(name)}$", layer_spec.text)], threads=threads)
            t0 = time.perf_counter()
            score = task.evaluate(run, reference=reference, limit=limit)
            st = run.stats[name]
            layer_rows.append({"layer": name, "op": q.layers[name].kind, "metric": score.metric,
                               "delta": _delta(score.metric, quant_score.metric), "events": st.events,
                               "outputs_corrupted": st.outputs_corrupted, "outputs": st.outputs,
                               "seconds": round(time.perf_counter() - t0, 3)})
            say(f"  only {name} on {layer_spec.text}: {task.metric} {score.metric:.6g}")

    return {
        "task": task.name,
        "description": task.description,
        "metric": task.metric,
        "higher_is_better": task.higher_is_better,
        "examples": quant_score.examples,
        "quantization": {**cfg, "layers": [{"name": n, "op": q.layers[n].kind} for n in q.order]},
        "overrides": [{"layers": p, "acc": s} for p, s in overrides],
        "baseline": {"float": float_score.metric, "quantized": quant_score.metric,
                     "float_extra": float_score.extra, "quantized_extra": quant_score.extra,
                     "float_seconds": round(float_seconds, 3), "quantized_seconds": round(quant_seconds, 3)},
        "points": points,
        "per_layer": None if layer_spec is None else {"acc": layer_spec.text, "layers": layer_rows},
        "accsim_version": accsim.__version__,
        "threads": threads,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _quantize(model, calibration, config):
    """The exporter's quantization, keeping what the loop needs: each layer's scales, zero points,
    weight codes and bias. What the exporter kept to write a trace (every calibration batch's
    codes and float, quantized and integer outputs, gigabytes for a detector at 416x416) goes."""
    q = quantize(model, calibration, config)
    for layer in q.layers.values():
        layer.float_out = layer.quant_out = layer.codes = None
    q._results = {}
    q.float_outputs = q.quantized_outputs = None
    q.report.float_outputs = q.report.quantized_outputs = None
    return q


def _first_loss(points, base, higher_is_better, specs):
    """The widest spec where plain weights already lose some of the metric (where overflow
    starts to cost): the one whose per-layer split says most. None when nothing is lost."""
    worse = [p for p in points if p["weights"] == "plain" and p["metric"] is not None
             and (p["metric"] < base if higher_is_better else p["metric"] > base)]
    if not worse:
        return None
    best = max(worse, key=lambda p: p["width"])
    return next(s for s in specs if s.text == best["acc"])


def _no_grad(model):
    import torch

    def forward(*inputs):
        with torch.no_grad():
            return model(*inputs)
    return forward


def _escape(name):
    import re
    return re.escape(name)
