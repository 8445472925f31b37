#!/usr/bin/python3
"""Writes tools/nets/onnx/fashion_mnist_w8a8_qdq.onnx: the Fashion-MNIST CNN trained here
(nets/fashion_mnist.py) quantized W8A8 by accsim's exporter, in the QDQ form that ONNX Runtime's
static quantizer writes: QuantizeLinear -> DequantizeLinear on every layer input (uint8, per
tensor), int8 weights per output channel and int32 biases at the accumulator's scale behind
DequantizeLinear, and the float ops (Conv, Gemm, Relu, MaxPool, Flatten) between them.

    /usr/bin/python3 tools/nets/make_fashion_mnist_qdq.py [--out PATH]

Calibration is accsim-eval's fashion-mnist task's (the first 1,000 training images), so the
quantization is the one `tools/accsim-eval --task fashion-mnist` evaluates. Deterministic: the
same weights give the same file. accsim-import's tests and README use it as a real network in
ONNX's own quantized format.
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))          # tools/: nets, accsim_export, accsim_eval
OUT = os.path.join(HERE, "onnx", "fashion_mnist_w8a8_qdq.onnx")
LAYERS = ("conv1", "conv2", "fc1", "fc2")


def quantized_layers():
    """accsim's exporter's W8A8 quantization of the network: per layer (ActQuant, WeightQuant, bias codes)."""
    import torch
    from accsim_eval.tasks.fashion_mnist import FashionMnist
    from accsim_export.export import ExportConfig, quantize
    from nets import fashion_mnist as fm

    torch.set_num_threads(1)
    model = fm.load_model()
    batches = [torch.from_numpy(b[0]) if isinstance(b[0], np.ndarray) else b[0] for b in FashionMnist().calibration()]
    qm = quantize(model, batches, ExportConfig(weight_bits=8, act_bits=8))
    return {name: (qm.layers[name].act[0], qm.layers[name].wq, qm.layers[name].bias_int) for name in LAYERS}


def build(layers):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def qdq(x, name, act):
        if act.bits != 8:
            raise ValueError(f"{name}: QDQ holds 8-bit activations, got {act.bits}")
        dtype = np.int8 if act.signed else np.uint8
        s = init(f"{name}.x_scale", np.float32(act.scale))
        z = init(f"{name}.x_zero_point", dtype(act.zero_point))
        nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [f"{name}.x_q"], name=f"{name}.quantize"))
        nodes.append(helper.make_node("DequantizeLinear", [f"{name}.x_q", s, z], [f"{name}.x_dq"],
                                      name=f"{name}.dequantize"))
        return f"{name}.x_dq"

    def weights(name, act, wq, bias_int):
        codes = wq.codes.astype(np.int8)
        if not np.array_equal(codes, wq.codes):
            raise ValueError(f"{name}: weight codes do not fit int8")
        w_scale = wq.scale.astype(np.float32)
        w = init(f"{name}.weight_q", codes)
        ws = init(f"{name}.weight_scale", w_scale)
        wz = init(f"{name}.weight_zero_point", np.zeros(len(w_scale), np.int8))
        nodes.append(helper.make_node("DequantizeLinear", [w, ws, wz], [f"{name}.weight"], name=f"{name}.weight_dq",
                                      axis=0))
        b = init(f"{name}.bias_q", bias_int.astype(np.int32))
        bs = init(f"{name}.bias_scale", (np.float32(act.scale) * w_scale).astype(np.float32))
        bz = init(f"{name}.bias_zero_point", np.zeros(len(w_scale), np.int32))
        nodes.append(helper.make_node("DequantizeLinear", [b, bs, bz], [f"{name}.bias"], name=f"{name}.bias_dq",
                                      axis=0))
        return f"{name}.weight", f"{name}.bias"

    x = "image"
    for i, name in enumerate(("conv1", "conv2")):
        act, wq, bias = layers[name]
        xin = qdq(x, name, act)
        w, b = weights(name, act, wq, bias)
        nodes.append(helper.make_node("Conv", [xin, w, b], [f"{name}.y"], name=name, kernel_shape=[3, 3],
                                      pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"{name}.y"], [f"relu{i + 1}"], name=f"relu{i + 1}"))
        nodes.append(helper.make_node("MaxPool", [f"relu{i + 1}"], [f"pool{i + 1}"], name=f"pool{i + 1}",
                                      kernel_shape=[2, 2], strides=[2, 2]))
        x = f"pool{i + 1}"
    nodes.append(helper.make_node("Flatten", [x], ["flat"], name="flatten", axis=1))
    x = "flat"
    for name, out in (("fc1", "fc1.y"), ("fc2", "logits")):
        act, wq, bias = layers[name]
        xin = qdq(x, name, act)
        w, b = weights(name, act, wq, bias)
        nodes.append(helper.make_node("Gemm", [xin, w, b], [out], name=name, transB=1))
        if name == "fc1":
            nodes.append(helper.make_node("Relu", ["fc1.y"], ["relu3"], name="relu3"))
            x = "relu3"
    graph = helper.make_graph(nodes, "fashion_mnist_w8a8_qdq",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="accsim",
                              doc_string="Fashion-MNIST CNN trained by accsim (tools/nets), W8A8 by accsim's "
                                         "exporter, in ONNX QDQ form (tools/nets/make_fashion_mnist_qdq.py)")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=OUT)
    args = p.parse_args(argv)
    import onnx

    model = build(quantized_layers())
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(model, args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
