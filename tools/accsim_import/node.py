"""One ONNX node as the importer sees it, and the error every bad input becomes.

    node = Node.from_proto(proto)          # onnx.NodeProto -> Node
    node.attr("axis", 0)                   # an attribute, or its default
    node.attr("perm")                      # required: missing -> ImportInputError naming the node
    raise node.error("bit_width", "0 is out of range 1..16")

Ops are plain functions ``fn(node, inputs) -> list of numpy arrays`` where ``inputs`` holds one
numpy array per ONNX input (``None`` for an omitted optional input).
"""
from __future__ import annotations

import numpy as np

_REQUIRED = object()


class ImportInputError(ValueError):
    """Bad input to the importer. Its text is ``<field>: <what is wrong>``; the CLI prints
    ``accsim: error: <file>: <field>: <what>`` and exits 2."""


class Node:
    def __init__(self, name: str, op_type: str, domain: str, inputs: list[str], outputs: list[str],
                 attrs: dict):
        self.name = name
        self.op_type = op_type
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attrs = attrs

    @staticmethod
    def from_proto(proto, index: int = 0) -> "Node":
        from onnx import helper

        attrs = {}
        for a in proto.attribute:
            value = helper.get_attribute_value(a)
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            elif isinstance(value, list) and value and isinstance(value[0], bytes):
                value = [v.decode("utf-8", "replace") for v in value]
            elif hasattr(value, "data_type") and hasattr(value, "dims"):  # a TensorProto
                from .graph import tensor_to_array
                value = tensor_to_array(value, f'node "{proto.name or proto.op_type}": attribute {a.name}')
            attrs[a.name] = value
        name = proto.name or f"{proto.op_type}_{index}"
        return Node(name, proto.op_type, proto.domain, list(proto.input), list(proto.output), attrs)

    @property
    def where(self) -> str:
        domain = self.domain or "ai.onnx"
        return f'node "{self.name}" ({self.op_type}, domain {domain})'

    def error(self, field: str, what: str) -> ImportInputError:
        return ImportInputError(f"{self.where}: {field}: {what}")

    def attr(self, name: str, default=_REQUIRED):
        if name in self.attrs:
            return self.attrs[name]
        if default is _REQUIRED:
            raise self.error(name, "required attribute missing")
        return default

    def input(self, inputs: list, i: int, what: str) -> np.ndarray:
        """Input ``i`` (required): a missing one is an error naming ``what``."""
        if i >= len(inputs) or inputs[i] is None:
            raise self.error(what, f"input {i} is required")
        return inputs[i]
