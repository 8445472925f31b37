"""An ONNX file read, checked and put in execution order.

    graph = load_graph("TFC_2W2A.onnx")     # ImportInputError on anything malformed
    for node in graph.nodes: ...            # topological order, cycles refused
    graph.initializers["41"]                # numpy arrays
    graph.inputs                            # the real inputs: [GraphInput(name, dims, dtype)]

Only structure is checked here (parsing, names, producers, order); what an op does with its
inputs is the executor's business.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .node import ImportInputError, Node

# TensorProto element types and the numpy dtypes they hold.
ELEM_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
               7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}
ELEM_NAMES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
              8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
              16: "bfloat16"}


@dataclass
class GraphInput:
    name: str
    dims: list          # ints for fixed dimensions, None for symbolic or unknown ones
    elem_type: int

    @property
    def dtype_name(self) -> str:
        return ELEM_NAMES.get(self.elem_type, f"element type {self.elem_type}")


@dataclass
class Graph:
    name: str
    nodes: list
    initializers: dict
    inputs: list
    outputs: list
    opsets: dict        # domain ("" = ai.onnx) -> version
    producer: str

    def default_opset(self) -> int:
        return self.opsets.get("", self.opsets.get("ai.onnx", 17))


def tensor_to_array(proto, what: str) -> np.ndarray:
    from onnx import numpy_helper

    if proto.data_type in (0, 8) or proto.data_type not in ELEM_DTYPES:
        raise ImportInputError(f"{what}: unsupported element type "
                               f"{ELEM_NAMES.get(proto.data_type, proto.data_type)}")
    if proto.data_location == 1:  # EXTERNAL
        raise ImportInputError(f"{what}: stored in an external data file, which the importer does not read")
    try:
        array = numpy_helper.to_array(proto)
    except Exception as exc:  # a malformed payload: wrong byte count and the like
        raise ImportInputError(f"{what}: cannot decode tensor: {exc}") from None
    expected = tuple(int(d) for d in proto.dims)
    if array.shape != expected:
        raise ImportInputError(f"{what}: holds {array.size} values for dims {list(expected)}")
    return array


def parse_strictly(message, data: bytes) -> None:
    """ParseFromString, where protobuf's warnings about data it could not convert (some
    versions warn on garbage instead of raising) are failures too."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        message.ParseFromString(data)
    if caught:
        raise ValueError(str(caught[0].message))


def load_graph(path: str) -> Graph:
    """Parses ``path`` as an ONNX ModelProto; every failure is an ImportInputError."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ImportInputError(f"model: cannot read: {exc.strerror}") from None
    model = onnx.ModelProto()
    try:
        parse_strictly(model, data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ImportInputError(f"model: not an ONNX model (truncated or not protobuf: {exc})") from None
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise ImportInputError("model: not an ONNX model (no IR version or no graph)")
    g = model.graph
    if not g.node:
        raise ImportInputError("graph: no nodes")
    opsets = {o.domain: int(o.version) for o in model.opset_import}

    initializers = {}
    for t in g.initializer:
        if not t.name:
            raise ImportInputError("graph: initializer without a name")
        initializers[t.name] = tensor_to_array(t, f'initializer "{t.name}"')
    for t in g.sparse_initializer:
        raise ImportInputError(f'initializer "{t.values.name}": sparse initializers are not supported')

    inputs = []
    for vi in g.input:
        if vi.name in initializers:
            continue  # older exporters list initializers among the inputs
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            raise ImportInputError(f'graph input "{vi.name}": not a tensor')
        dims = [int(d.dim_value) if d.HasField("dim_value") else None for d in tt.shape.dim]
        inputs.append(GraphInput(vi.name, dims, int(tt.elem_type)))
    outputs = [vi.name for vi in g.output]

    nodes = [Node.from_proto(p, i) for i, p in enumerate(g.node)]
    nodes = _topological(nodes, set(initializers) | {i.name for i in inputs})
    produced = {o for n in nodes for o in n.outputs if o} | set(initializers) | {i.name for i in inputs}
    for name in outputs:
        if name not in produced:
            raise ImportInputError(f'graph output "{name}": not produced by any node')
    return Graph(g.name or os.path.basename(path), nodes, initializers, inputs, outputs, opsets,
                 f"{model.producer_name} {model.producer_version}".strip())


def _topological(nodes: list, available: set) -> list:
    """Kahn's order over tensor names. A name with no producer, or a cycle, is an error."""
    producer = {}
    for n in nodes:
        for o in n.outputs:
            if not o:
                continue
            if o in producer or o in available:
                raise ImportInputError(f'{n.where}: output "{o}": produced twice')
            producer[o] = n
    for n in nodes:
        for i in n.inputs:
            if i and i not in producer and i not in available:
                raise ImportInputError(f'{n.where}: input "{i}": not produced by any node, '
                                       "initializer or graph input (a missing initializer?)")
    waiting = {id(n): {i for i in n.inputs if i and i in producer} for n in nodes}
    consumers = {}
    for n in nodes:
        for i in waiting[id(n)]:
            consumers.setdefault(i, []).append(n)
    ready = [n for n in nodes if not waiting[id(n)]]
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for o in n.outputs:
            for c in consumers.get(o, []):
                waiting[id(c)].discard(o)
                if not waiting[id(c)] and c not in order and c not in ready:
                    ready.append(c)
    if len(order) != len(nodes):
        stuck = [n for n in nodes if waiting[id(n)]]
        cycle = _find_cycle(stuck, producer)
        raise ImportInputError("graph: cycle through nodes " + " -> ".join(f'"{n.name}"' for n in cycle))
    return order


def _find_cycle(stuck: list, producer: dict) -> list:
    """One cycle among the nodes that never became ready (each waits on another of them)."""
    stuck_ids = {id(n) for n in stuck}
    n, seen = stuck[0], []
    while id(n) not in [id(s) for s in seen]:
        seen.append(n)
        n = next(producer[i] for i in n.inputs if i in producer and id(producer[i]) in stuck_ids)
    start = [id(s) for s in seen].index(id(n))
    return list(reversed(seen[start:])) + [list(reversed(seen[start:]))[0]]
