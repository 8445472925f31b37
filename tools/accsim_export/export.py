"""export_trace: a PyTorch model plus real input batches -> an accsim trace (format v1).

1. Calibration: the float model runs on the inputs; forward hooks record, for every captured
   layer, its input range(s) and its float output.
2. Quantization: weights per output channel (symmetric, M bits; optionally accumulator-aware),
   activations per tensor (N bits, unsigned when non-negative), biases folded to accumulator
   scale with the zero-point correction.
3. Quantized run: the model runs again with every captured layer's weights replaced by their
   dequantized codes and its inputs fake-quantized by forward pre-hooks, so each layer sees the
   quantization of the layers before it. The hooks keep the integer input codes.
4. Each layer's exact integer result (int64 numpy, the trace format's reference semantics) is
   checked against the quantized run and written, with the codes, to the trace.

With ``ExportConfig(float_format="e4m3" or "e5m2")`` steps 2-4 quantize to FP8 instead (fp8.py):
per-tensor, per-channel or DeepSeek-V3-style block scales, and each layer's exact float64 results.
"""
from dataclasses import dataclass, field

import numpy as np
import torch

from . import fp8
from . import quantization as qz
from .capture import conv_module, conv_padding, find_layers, select
from .trace_io import TraceWriter, ref_conv2d, ref_linear, ref_matmul


@dataclass
class ExportConfig:
    weight_bits: int = 8
    act_bits: int = 8
    rounding: str = "nearest"            # or "toward_zero"
    activations: str = "symmetric"       # or "asymmetric" (zero points folded into bias)
    acc_bits: int | None = None          # accumulator-aware: ||q||_1 (and the bias) fit this width
    bias_bits: int = 32
    layers: str | None = None            # regex: which layers go into the trace (all are quantized)
    float_format: str | None = None      # "e4m3" or "e5m2": an FP8 trace instead of an integer one
    float_scaling: str = "tensor"        # FP8 scales: "tensor", "channel" or "block" (DeepSeek-V3)
    block: int = 128                     # block scaling: 1 x block activation tiles, block x block weights

    def check(self) -> None:
        if self.float_format is not None:
            if self.float_format not in fp8.FLOAT_FORMATS_EXPORTED:
                raise ValueError(f"float_format must be one of {fp8.FLOAT_FORMATS_EXPORTED}, got {self.float_format!r}")
            if self.float_scaling not in fp8.FLOAT_SCALINGS:
                raise ValueError(f"float_scaling must be one of {fp8.FLOAT_SCALINGS}, got {self.float_scaling!r}")
            if not (isinstance(self.block, int) and 1 <= self.block <= 1 << 20):
                raise ValueError(f"block must be an integer in [1, {1 << 20}], got {self.block!r}")
            if self.acc_bits is not None:
                raise ValueError("the accumulator-aware option is for integer traces, not with a float format")
        if self.rounding not in qz.ROUNDING_MODES:
            raise ValueError(f"rounding must be one of {qz.ROUNDING_MODES}, got {self.rounding!r}")
        if self.activations not in qz.ACTIVATION_MODES:
            raise ValueError(f"activations must be one of {qz.ACTIVATION_MODES}, got {self.activations!r}")
        for what, bits in (("weight_bits", self.weight_bits), ("act_bits", self.act_bits)):
            if not 2 <= bits <= 16:
                raise ValueError(f"{what} must be in [2, 16], got {bits}")
        if self.acc_bits is not None and not 4 <= self.acc_bits <= 64:
            raise ValueError(f"acc_bits must be in [4, 64], got {self.acc_bits}")


@dataclass
class LayerReport:
    name: str
    op: str
    dot_length: int
    outputs: int
    input_format: str
    weight_l1_max: int | None
    output_rel_error: float          # dequantized integer output vs the float model's layer output
    plain_output_rel_error: float | None = None  # the same without the accumulator-aware option
    in_trace: bool = True


@dataclass
class ExportReport:
    path: str
    config: ExportConfig
    layers: list = field(default_factory=list)
    model_output_rel_error: float = 0.0
    plain_model_output_rel_error: float | None = None
    float_outputs: list = field(default_factory=list)      # per batch: the model's outputs, flattened to arrays
    quantized_outputs: list = field(default_factory=list)  # the same from the quantized run

    def summary(self) -> str:
        lines = [f"wrote {self.path}: {sum(l.in_trace for l in self.layers)} layers"
                 + (f" (FP8 {self.config.float_format}, {self.config.float_scaling} scaling)"
                    if self.config.float_format else "")]
        aa = self.config.acc_bits is not None
        head = f"{'layer':28s} {'op':7s} {'K':>6s} {'outputs':>9s} {'input':>7s} {'max|q|_1':>9s} {'out err':>9s}"
        lines.append(head + (f" {'plain err':>9s}" if aa else ""))
        for l in self.layers:
            row = (f"{l.name[:28]:28s} {l.op:7s} {l.dot_length:6d} {l.outputs:9d} {l.input_format:>7s} "
                   f"{'-' if l.weight_l1_max is None else l.weight_l1_max:>9} {l.output_rel_error:9.2e}")
            if aa:
                row += f" {l.plain_output_rel_error:9.2e}" if l.plain_output_rel_error is not None else f" {'-':>9s}"
            lines.append(row + ("" if l.in_trace else "  (not in the trace)"))
        lines.append(f"model output relative error: {self.model_output_rel_error:.3e}")
        if aa:
            lines.append(f"without the accumulator-aware option ({self.config.acc_bits} bits): "
                         f"{self.plain_model_output_rel_error:.3e}")
            if any(l.op == "matmul" for l in self.layers):
                lines.append("matmul layers (activation x activation) have no weights to constrain: "
                             "the accumulator-aware option does not cover them")
        return "\n".join(lines)


def rel_error(a, ref) -> float:
    a = np.asarray(a, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    denom = np.linalg.norm(ref)
    return float(np.linalg.norm(a - ref) / denom) if denom > 0 else float(np.linalg.norm(a))


def _batches(inputs):
    if isinstance(inputs, (torch.Tensor, np.ndarray)):
        inputs = [inputs]
    out = []
    for b in inputs:
        b = b if isinstance(b, tuple) else (b,)
        out.append(tuple(torch.as_tensor(t, dtype=torch.float32) if isinstance(t, np.ndarray) else t for t in b))
    if not out:
        raise ValueError("export needs at least one input batch")
    return out


def _flat_output(y):
    if isinstance(y, torch.Tensor):
        return [y.detach().double().numpy()]
    if isinstance(y, (tuple, list)):
        return [a for v in y for a in _flat_output(v)]
    if isinstance(y, dict):
        return [a for k in sorted(y) for a in _flat_output(y[k])]
    return []


class _Layer:
    """Everything the exporter learns about one captured layer."""

    def __init__(self, name, module, kind):
        self.name, self.module, self.kind = name, module, kind
        self.ranges = None          # per operand [lo, hi] over all calibration batches
        self.float_out = []         # per batch
        self.quant_out = []
        self.codes = None           # per operand, list per batch
        self.act = None             # per operand ActQuant
        self.wq = None              # WeightQuant (conv, linear)
        self.bias_int = None
        self.calls = 0


def _run(model, batches, layers, pre, post):
    """Runs every batch with hooks; returns the model outputs per batch."""
    handles = []
    try:
        for layer in layers.values():
            handles.append(layer.module.register_forward_pre_hook(lambda m, args, l=layer: pre(l, args)))
            handles.append(layer.module.register_forward_hook(lambda m, args, out, l=layer: post(l, out)))
        outputs = []
        with torch.no_grad():
            for b in batches:
                for layer in layers.values():
                    layer.calls = 0
                outputs.append(_flat_output(model(*b)))
                for layer in layers.values():
                    if layer.calls > 1:
                        raise ValueError(f"{layer.name}: the module runs {layer.calls} times in one forward pass; "
                                         "give each use its own module so each becomes its own trace layer")
        return outputs
    finally:
        for h in handles:
            h.remove()


def _calibrate(model, batches, layers):
    order = []

    def pre(layer, args):
        layer.calls += 1
        if layer.name not in order:
            order.append(layer.name)
        n = 2 if layer.kind == "matmul" else 1
        ranges = [(float(a.min()), float(a.max())) for a in args[:n]]
        layer.ranges = ranges if layer.ranges is None else [
            (min(a[0], b[0]), max(a[1], b[1])) for a, b in zip(layer.ranges, ranges)]

    def post(layer, out):
        layer.float_out.append(out.detach().double().numpy())

    outputs = _run(model, batches, layers, pre, post)
    return order, outputs


def _quantize_layer(layer, cfg: ExportConfig, accumulator_aware: bool):
    layer.act = [qz.activation_quant(lo, hi, cfg.act_bits, "symmetric" if layer.kind == "matmul" else cfg.activations)
                 for lo, hi in layer.ranges]
    if layer.kind == "matmul":
        return
    conv = conv_module(layer.module) if layer.kind == "conv2d" else layer.module
    w = conv.weight.detach().double().numpy()
    b = None if conv.bias is None else conv.bias.detach().double().numpy()
    act = layer.act[0]
    if accumulator_aware:
        layer.wq, layer.bias_int = qz.accumulator_aware_weights(w, b, cfg.weight_bits, act, cfg.acc_bits, cfg.bias_bits)
    else:
        layer.wq = qz.quantize_weights(w, cfg.weight_bits, cfg.rounding,
                                       min_scale=qz.bias_scale_floor(b, act.scale, cfg.bias_bits))
        layer.bias_int = qz.fold_bias(b, act.scale, layer.wq, act.zero_point, cfg.bias_bits, layer.name)


def _quantized_run(model, batches, layers):
    """Runs the model with dequantized weights and fake-quantized layer inputs."""
    saved = {}
    for layer in layers.values():
        layer.codes = [[] for _ in layer.act]
        layer.quant_out = []
        if layer.wq is None:
            continue
        conv = conv_module(layer.module) if layer.kind == "conv2d" else layer.module
        saved[layer.name] = (conv, conv.weight.data.clone(), None if conv.bias is None else conv.bias.data.clone())
        conv.weight.data = torch.from_numpy(layer.wq.dequantize()).to(conv.weight.dtype)
        # The float bias equivalent of b_int (zero-point term excluded: the dequantized input carries it).
        channels = layer.wq.codes.shape[0]
        zp_term = layer.act[0].zero_point * layer.wq.codes.reshape(channels, -1).sum(axis=1)
        b = (layer.bias_int + zp_term) * layer.act[0].scale * layer.wq.scale
        if conv.bias is None:
            if np.any(b != 0):
                conv.bias = torch.nn.Parameter(torch.from_numpy(b).to(conv.weight.dtype))
                saved[layer.name] = saved[layer.name][:2] + ("added",)
        else:
            conv.bias.data = torch.from_numpy(b).to(conv.bias.dtype)

    def pre(layer, args):
        layer.calls += 1
        new = list(args)
        for i, act in enumerate(layer.act):
            codes = act.quantize(args[i].detach().double().numpy())
            layer.codes[i].append(codes)
            new[i] = torch.from_numpy(act.dequantize(codes)).to(args[i].dtype)
        return tuple(new)

    def post(layer, out):
        layer.quant_out.append(out.detach().double().numpy())

    try:
        return _run(model, batches, layers, pre, post)
    finally:
        for conv, weight, bias in saved.values():
            conv.weight.data = weight
            if isinstance(bias, str):
                conv.bias = None
            elif bias is not None:
                conv.bias.data = bias


def _integer_output(layer):
    """The exact int64 result of the layer on its codes, and its scale (real per unit)."""
    x = np.concatenate(layer.codes[0], axis=0)
    if layer.kind == "matmul":
        y = np.concatenate(layer.codes[1], axis=0)
        return ref_matmul(x, y), layer.act[0].scale * layer.act[1].scale, (x, y)
    unit = layer.act[0].scale * layer.wq.scale  # per output channel
    if layer.kind == "linear":
        return ref_linear(x, layer.wq.codes, layer.bias_int), unit, (x,)
    conv = conv_module(layer.module)
    y = ref_conv2d(x, layer.wq.codes, layer.bias_int, stride=list(conv.stride), padding=conv_padding(layer.module),
                   dilation=list(conv.dilation), groups=conv.groups, pad_value=layer.act[0].zero_point)
    return y, unit.reshape(-1, 1, 1), (x,)


def _check_against_run(layer, y_real):
    """The integer result, dequantized, must equal the quantized float run of the same layer."""
    ran = np.concatenate(layer.quant_out, axis=0)
    if ran.shape != y_real.shape:
        raise RuntimeError(f"{layer.name}: the integer result has shape {y_real.shape}, the module gave {ran.shape}")
    tol = 1e-4 * max(float(np.abs(ran).max()), 1e-12) + 1e-9
    worst = float(np.abs(ran - y_real).max())
    if worst > tol:
        raise RuntimeError(f"{layer.name}: the integer result differs from the quantized module output by {worst:g} "
                           f"(tolerance {tol:g}); the layer's padding or arithmetic is not what the trace would record")


def _quantize_all(model, batches, layers, order, cfg, accumulator_aware):
    for name in order:
        _quantize_layer(layers[name], cfg, accumulator_aware)
    return _quantized_run(model, batches, layers)


class QuantizedModel:
    """The result of ``quantize``: every captured layer with its codes, scales and errors,
    and the model's float and quantized outputs, ready to be written as a trace."""

    def __init__(self, cfg, layers, order, float_outputs, quant_outputs, plain_errors, plain_model_error):
        self.config = cfg
        self.layers = layers
        self.order = order
        self.float_outputs = float_outputs
        self.quantized_outputs = quant_outputs
        self.plain_errors = plain_errors
        self.report = ExportReport(path="", config=cfg)
        self.report.model_output_rel_error = rel_error(_flatten_all(quant_outputs), _flatten_all(float_outputs))
        self.report.plain_model_output_rel_error = plain_model_error
        self.report.float_outputs, self.report.quantized_outputs = float_outputs, quant_outputs
        chosen = select(order, cfg.layers)
        self._results = {}
        for name in order:
            layer = layers[name]
            y_int, unit, operands = _integer_output(layer)
            _check_against_run(layer, y_int * unit)
            err = rel_error(y_int * unit, np.concatenate(layer.float_out, axis=0))
            act = layer.act[0]
            k = int(np.prod(layer.wq.codes.shape[1:])) if layer.kind == "conv2d" else int(operands[0].shape[-1])
            l1 = None if layer.wq is None else int(layer.wq.l1().max())
            self.report.layers.append(LayerReport(name, layer.kind, k, int(y_int.size),
                                                  f"{'i' if act.signed else 'u'}{act.bits}", l1, err,
                                                  plain_errors.get(name), name in chosen))
            self._results[name] = (y_int, operands, err)
        self.chosen = chosen

    def write(self, path, *, model_name: str, source: str = "", meta: dict | None = None) -> ExportReport:
        cfg = self.config
        manifest_meta = {"exporter": "accsim_export", "weight_bits": cfg.weight_bits, "act_bits": cfg.act_bits,
                         "rounding": "toward_zero" if cfg.acc_bits is not None else cfg.rounding,
                         "activations": cfg.activations, "acc_bits": cfg.acc_bits,
                         "model_output_rel_error": self.report.model_output_rel_error}
        if self.report.plain_model_output_rel_error is not None:
            manifest_meta["plain_model_output_rel_error"] = self.report.plain_model_output_rel_error
        if len(self.chosen) < len(self.order):
            manifest_meta["layers_left_out"] = [n for n in self.order if n not in self.chosen]
        if meta:
            manifest_meta.update(meta)
        with TraceWriter(path, model=model_name, source=source, meta=manifest_meta) as w:
            for name in self.chosen:
                self._write_layer(w, self.layers[name], *self._results[name])
        self.report.path = str(path)
        return self.report

    def _write_layer(self, w, layer, y_int, operands, err):
        cfg = self.config
        if y_int.size and np.iinfo(np.int32).min <= y_int.min() and y_int.max() <= np.iinfo(np.int32).max:
            y_int = y_int.astype(np.int32)  # I32 when it fits: half the bytes of I64
        act = layer.act[0]
        lmeta = {"module": type(layer.module).__name__, "output_rel_error": err,
                 "input_calibration": [list(r) for r in layer.ranges]}
        if layer.name in self.plain_errors:
            lmeta["plain_output_rel_error"] = self.plain_errors[layer.name]
        if layer.kind == "matmul":
            b_act = layer.act[1]
            w.matmul(layer.name, operands[0], operands[1], lhs_bits=act.bits, lhs_signed=act.signed,
                     rhs_bits=b_act.bits, rhs_signed=b_act.signed, lhs_scale=act.scale, rhs_scale=b_act.scale,
                     output=y_int, meta=lmeta)
            return
        kw = dict(input_bits=act.bits, input_signed=act.signed, input_zero_point=act.zero_point,
                  input_scale=act.scale, weight_bits=cfg.weight_bits, weight_signed=True,
                  weight_scale=layer.wq.scale, bias=layer.bias_int, bias_bits=cfg.bias_bits, output=y_int, meta=lmeta)
        if layer.kind == "linear":
            w.linear(layer.name, operands[0], layer.wq.codes, **kw)
            return
        conv = conv_module(layer.module)
        w.conv2d(layer.name, operands[0], layer.wq.codes, stride=list(conv.stride), padding=conv_padding(layer.module),
                 dilation=list(conv.dilation), groups=conv.groups, **kw)


class Fp8QuantizedModel:
    """The result of ``quantize`` with a float format: every captured layer's FP8 codes and
    scales, its exact float64 results, and the errors; ``write`` makes the trace."""

    def __init__(self, cfg, layers, order, states, float_outputs, quant_outputs):
        self.config, self.layers, self.order, self.states = cfg, layers, order, states
        self.float_outputs, self.quantized_outputs = float_outputs, quant_outputs
        self.report = ExportReport(path="", config=cfg)
        self.report.model_output_rel_error = rel_error(_flatten_all(quant_outputs), _flatten_all(float_outputs))
        self.report.float_outputs, self.report.quantized_outputs = float_outputs, quant_outputs
        self.chosen = select(order, cfg.layers)
        self._results = {}
        for name in order:
            layer, q = layers[name], states[name]
            exact, real, operands, x_block_scale = fp8.exact_output(layer, q)
            _check_against_run(layer, real)
            err = rel_error(real, np.concatenate(layer.float_out, axis=0))
            if layer.kind == "conv2d":
                k = int(np.prod(q.weight.codes.shape[1:]))
            else:
                k = int(operands[0].shape[-1])
            self.report.layers.append(LayerReport(name, layer.kind, k, int(exact.size), q.fmt, None, err,
                                                  None, name in self.chosen))
            self._results[name] = (exact, operands, x_block_scale, err)

    def scaling_note(self) -> str:
        cfg = self.config
        if cfg.float_scaling == "tensor":
            return "per-tensor scales (amax -> the format's max)"
        if cfg.float_scaling == "channel":
            return "weights per output channel, activations per tensor (amax -> the format's max)"
        kinds = {self.layers[n].kind for n in self.chosen}
        note = (f"DeepSeek-V3 block scales on linear layers: activations in 1x{cfg.block} tiles per row, "
                f"weights in {cfg.block}x{cfg.block} blocks, F32, recorded as block_scale")
        if "conv2d" in kinds:
            note += "; conv2d layers per-channel weights and per-tensor activations (accsim models block scales on linear layers only)"
        if "matmul" in kinds:
            note += "; matmul operands per tensor"
        return note

    def write(self, path, *, model_name: str, source: str = "", meta: dict | None = None) -> ExportReport:
        cfg = self.config
        manifest_meta = {"exporter": "accsim_export", "float_format": cfg.float_format,
                         "float_scaling": cfg.float_scaling, "scaling": self.scaling_note(),
                         "model_output_rel_error": self.report.model_output_rel_error}
        if cfg.float_scaling == "block":
            manifest_meta["block"] = cfg.block
        if len(self.chosen) < len(self.order):
            manifest_meta["layers_left_out"] = [n for n in self.order if n not in self.chosen]
        if meta:
            manifest_meta.update(meta)
        what = (f"FP8 {cfg.float_format} by tools/accsim_export: {self.scaling_note()}; values rounded to nearest "
                f"even, saturating; the network ran on the FP8-quantized weights and layer inputs (dequantized), "
                f"so each layer saw the quantization of the layers before it; outputs are the exact dot products "
                f"of the codes{' with their block scales' if cfg.float_scaling == 'block' else ''} (F64); "
                f"biases are added after the accumulation and are not in the trace")
        source = f"{source}; {what}" if source else what
        with TraceWriter(path, model=model_name, source=source, meta=manifest_meta) as w:
            for name in self.chosen:
                layer, q = self.layers[name], self.states[name]
                exact, operands, x_block_scale, err = self._results[name]
                lmeta = {"module": type(layer.module).__name__, "output_rel_error": err, "scaling": q.scaling,
                         "input_calibration": [list(r) for r in layer.ranges]}
                if layer.kind != "matmul" and (conv_module(layer.module) if layer.kind == "conv2d"
                                               else layer.module).bias is not None:
                    lmeta["bias"] = "added after the accumulation (float layers carry no bias)"
                fp8.write_layer(w, layer, q, exact, operands, x_block_scale, lmeta)
        self.report.path = str(path)
        return self.report


def _flatten_all(outputs):
    return np.concatenate([np.ravel(a) for o in outputs for a in o])


def quantize(model, inputs, config: ExportConfig | None = None) -> QuantizedModel:
    """Calibrates and quantizes ``model`` on ``inputs`` (a tensor, or a list of batches; a
    batch may be a tuple of tensors). Nothing is written; see QuantizedModel.write."""
    cfg = config or ExportConfig()
    cfg.check()
    model.eval()
    batches = _batches(inputs)
    layers = {name: _Layer(name, m, kind) for name, (m, kind) in find_layers(model).items()}
    order, float_outputs = _calibrate(model, batches, layers)
    layers = {name: layers[name] for name in order}  # unused modules are not layers of this run
    if not layers:
        raise ValueError("no captured layer ran on the inputs")
    select(order, cfg.layers)  # fail early on a pattern that matches nothing

    if cfg.float_format is not None:
        states = {name: fp8.Fp8Layer(layer, cfg.float_format, cfg.float_scaling, cfg.block)
                  for name, layer in layers.items()}
        quant_outputs = fp8.quantized_run(model, batches, layers, states, _run)
        return Fp8QuantizedModel(cfg, layers, order, states, float_outputs, quant_outputs)

    plain_errors, plain_model_error = {}, None
    if cfg.acc_bits is not None:
        # The same quantization without the constraint: what the accumulator-aware option costs.
        plain_outputs = _quantize_all(model, batches, layers, order, cfg, accumulator_aware=False)
        for name, layer in layers.items():
            y_int, unit, _ = _integer_output(layer)
            plain_errors[name] = rel_error(y_int * unit, np.concatenate(layer.float_out, axis=0))
        plain_model_error = rel_error(_flatten_all(plain_outputs), _flatten_all(float_outputs))
    quant_outputs = _quantize_all(model, batches, layers, order, cfg, accumulator_aware=cfg.acc_bits is not None)
    return QuantizedModel(cfg, layers, order, float_outputs, quant_outputs, plain_errors, plain_model_error)


def export_trace(model, inputs, path, *, model_name: str, source: str = "", config: ExportConfig | None = None,
                 meta: dict | None = None) -> ExportReport:
    """quantize(model, inputs, config).write(path, ...): returns the report with the errors."""
    return quantize(model, inputs, config).write(path, model_name=model_name, source=source, meta=meta)
