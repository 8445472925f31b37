"""Runs an ONNX graph with numpy, in float as the reference execution of each op defines it,
and records every quantized dot product as an integer layer.

    ex = execute(graph, {"0": digit})           # feeds: graph input name -> numpy array
    ex.values["90"]                              # any tensor of the run
    ex.layers                                    # LayerRecord per integer dot product
    ex.notes                                     # dot products left out, and why

Tensors that come out of a quantizer carry a ``Quantized`` record (quantized.py); ops that only
move values carry it along; the dot-product ops (dot_layers.py, qoperator.py) turn two quantized
operands into an integer layer whose exact outputs are checked against the float execution.
"""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from . import dot_layers, float_ops, qoperator, quantizers
from .graph import Graph
from .node import ImportInputError, Node
from .quantized import Quantized, int_width

QONNX_DOMAINS = ("onnx.brevitas", "qonnx.custom_op.general", "finn.custom_op.general", "finn",
                 "qonnx")
ONNX_DOMAINS = ("", "ai.onnx")


class Execution:
    def __init__(self, graph: Graph, layers: str | None = None, loop=None):
        self.graph = graph
        self.loop = loop                  # an AccumulatorLoop, or None for exact integer layers
        self.values: dict[str, np.ndarray] = dict(graph.initializers)
        self.quant: dict[str, Quantized] = {}
        self.constant: set[str] = set(graph.initializers)
        self.layers: list = []
        self.notes: list[str] = []
        self.unselected: list[str] = []   # dot products that --layers did not select
        self.pattern = re.compile(layers) if layers else None
        self.opset = graph.default_opset()

    # -- what the op handlers use -------------------------------------------------------

    def wants(self, name: str) -> bool:
        if self.pattern is None or self.pattern.search(name) is not None:
            return True
        self.unselected.append(name)
        return False

    def note(self, text: str) -> None:
        self.notes.append(text)

    def add_layer(self, record) -> None:
        """Appends an integer layer under a name no earlier layer has (node names may repeat)."""
        taken = {r.name for r in self.layers}
        name, k = record.name, 1
        while name in taken:
            k += 1
            name = f"{record.name}_{k}"
        record.name = name
        self.layers.append(record)

    def is_constant(self, name: str) -> bool:
        return name in self.constant

    def run_node(self, node: Node) -> None:
        inputs = [self.values[i] if i else None for i in node.inputs]
        domain = node.domain
        if domain in QONNX_DOMAINS:
            handler = quantizers.HANDLERS.get(node.op_type)
        elif domain in ONNX_DOMAINS:
            handler = (dot_layers.HANDLERS.get(node.op_type) or qoperator.HANDLERS.get(node.op_type)
                       or _float_handler(node.op_type))
        else:
            handler = None
        if handler is None:
            raise node.error("op", "not supported by the importer")
        node.attrs.setdefault("_opset", self.opset)
        try:
            outputs, quant = handler(self, node, inputs)
        except ImportInputError:
            raise
        except (ValueError, IndexError, TypeError, ZeroDivisionError, FloatingPointError) as exc:
            raise node.error("execution", str(exc) or type(exc).__name__) from None
        if len(outputs) < len([o for o in node.outputs if o]):
            raise node.error("outputs", f"produced {len(outputs)} of {len(node.outputs)} outputs")
        all_constant = all(not i or i in self.constant for i in node.inputs)
        for k, name in enumerate(node.outputs):
            if not name:
                continue
            self.values[name] = np.asarray(outputs[k])
            if all_constant:
                self.constant.add(name)
            q = quant[k] if quant and k < len(quant) else None
            if q is not None:
                self.quant[name] = q


def _float_handler(op_type: str):
    fn = float_ops.FLOAT_OPS.get(op_type)
    if fn is None:
        return None

    def handler(ex: Execution, node: Node, inputs: list):
        outputs = fn(node, inputs)
        return outputs, _carried(ex, node, inputs, outputs)

    return handler


def _carried(ex: Execution, node: Node, inputs: list, outputs: list) -> list | None:
    """Quantization records through value-moving ops and scalings by a positive constant."""
    names = node.inputs
    op = node.op_type
    if op in ("Mul", "Div") and len(names) == 2:
        return _scaled(ex, node, inputs, outputs)
    if not names or not names[0]:
        return None
    q = ex.quant.get(names[0])
    if q is None:
        return None
    if op not in float_ops.MOVEMENT_OPS or not float_ops.moves_values(node, inputs):
        return None
    s, z = q.scalar(q.scale), q.scalar(q.zero_point)
    if op == "Concat":
        qs = [ex.quant.get(n) for n in names]
        if s is None or z is None or any(o is None or o.kind != q.kind or o.scalar(o.scale) != s
                                         or o.scalar(o.zero_point) != z for o in qs):
            return None
        codes = float_ops.FLOAT_OPS[op](node, [o.codes.astype(np.float64) for o in qs])[0]
        lo, hi = min(o.lo for o in qs), max(o.hi for o in qs)
        same = len({(o.bits, o.signed) for o in qs}) == 1
        bits, signed = (q.bits, q.signed) if same else int_width(lo, hi)
        return [replace(q, codes=_as_codes(codes, q), scale=np.float64(s), zero_point=np.asarray(z),
                        lo=lo, hi=hi, bits=bits, signed=signed)]
    extrapolates = op == "Resize" and node.attr("coordinate_transformation_mode", "") == "tf_crop_and_resize"
    if (op == "Pad" or extrapolates) and z not in (0, 0.0):
        return None  # the filled-in float 0 is code z, not the 0 the op would write into the codes
    per_tensor = s is not None and z is not None
    if not per_tensor:
        if op != "Transpose":
            return None
        perm = node.attr("perm", None)
        nd = inputs[0].ndim
        sc = np.asarray(q.scale).reshape((1,) * (nd - np.ndim(q.scale)) + np.shape(q.scale))
        zp = np.asarray(q.zero_point).reshape((1,) * (nd - np.ndim(q.zero_point)) + np.shape(q.zero_point))
        perm = list(range(nd))[::-1] if perm is None else list(perm)
        scale, zero_point = sc.transpose(perm), zp.transpose(perm)
    else:
        scale, zero_point = np.float64(s), np.asarray(z)
    moved = [q.codes.astype(np.float64)] + list(inputs[1:])
    codes = float_ops.FLOAT_OPS[op](node, moved)
    if op == "MaxPool":
        codes = codes[:1]  # its Indices output holds positions, not values
    return [q.with_codes(_as_codes(c, q), scale=scale, zero_point=zero_point) for c in codes]


def _scaled(ex: Execution, node: Node, inputs: list, outputs: list) -> list | None:
    """Mul by (either side) or Div by a positive one-value constant: the same codes, the scale
    multiplied or divided."""
    names, op = node.inputs, node.op_type
    sides = [(0, 1)] if op == "Div" else [(0, 1), (1, 0)]
    for qi, ci in sides:
        q = ex.quant.get(names[qi])
        if q is None or names[ci] not in ex.constant:
            continue
        factor = np.asarray(inputs[ci], dtype=np.float64)
        if factor.size != 1 or not np.isfinite(factor).all() or factor.reshape(()) <= 0:
            return None
        f = factor.reshape(()).item()
        shape = np.shape(outputs[0])
        codes = np.broadcast_to(q.codes, shape).copy() if q.codes.shape != shape else q.codes
        pad = (1,) * (len(shape) - np.ndim(q.scale))
        scale = np.asarray(q.scale).reshape(pad + np.shape(q.scale)) * (f if op == "Mul" else 1.0 / f)
        zp = np.asarray(q.zero_point)
        zp = zp.reshape((1,) * (len(shape) - zp.ndim) + zp.shape)
        return [q.with_codes(codes, scale=scale, zero_point=zp)]
    return None


def _as_codes(codes: np.ndarray, q: Quantized) -> np.ndarray:
    codes = np.asarray(codes)
    return codes if q.is_float else codes.astype(np.int64)


def execute(graph: Graph, feeds: dict, layers: str | None = None, loop=None) -> Execution:
    """Runs every node in order. ``feeds`` maps each graph input's name to its array; ``loop``
    (loop.AccumulatorLoop) puts an accsim accumulator in every integer layer."""
    ex = Execution(graph, layers, loop)
    for gi in graph.inputs:
        if gi.name not in feeds:
            raise ImportInputError(f'input "{gi.name}": no value given')
        ex.values[gi.name] = feeds[gi.name]
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            ex.run_node(node)
    return ex
