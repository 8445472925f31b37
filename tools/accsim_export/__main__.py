"""Command line: export a PyTorch model and real inputs to an accsim trace.

    /usr/bin/python3 tools/accsim-export --model mynet.py:build --input batch.npy --out mynet.trace

--model FILE.py:FUNC names a function that returns an nn.Module, or (module, inputs) where
inputs is a tensor or a list of batches; --model FILE.pt loads a whole pickled module
(torch.save(model)); --model bundled:tiny-face-detector or bundled:ppocr-v4-svtr rebuilds a
real network of traces/examples from its trace, with its real input (offline; see
accsim_export/bundled.py). Each --input is one batch (.npy or .pt), used both to calibrate and
as the data the trace records.

--float e4m3|e5m2 writes an FP8 trace instead of an integer one: --float-scaling tensor (one
scale per tensor), channel (weights per output channel) or block (DeepSeek-V3: activations in
1 x N tiles, weights in N x N blocks, F32 block scales; linear layers only, conv2d layers fall
back to per channel), N = --block (default 128). Audit it with a float accumulator:

    accsim audit --trace T --acc 128xe8m13:g32:f13:rz,e8m23     (H100 FP8, promotion every 128)
"""
import argparse
import importlib.util
import os
import sys

import numpy as np
import torch

from .capture import UnsupportedLayerError
from .export import ExportConfig, export_trace


def _load_model(spec: str):
    if spec.startswith("bundled:"):
        from .bundled import bundled_model
        return bundled_model(spec[len("bundled:"):])
    if spec.endswith(".pt") or spec.endswith(".pth"):
        return torch.load(spec, map_location="cpu"), None
    path, _, func = spec.rpartition(":")
    if not path or not func:
        raise ValueError(f"--model: expected FILE.py:FUNCTION or FILE.pt, got {spec!r}")
    if not os.path.exists(path):
        raise ValueError(f"--model: {path}: no such file")
    mod_spec = importlib.util.spec_from_file_location("accsim_user_model", path)
    module = importlib.util.module_from_spec(mod_spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    mod_spec.loader.exec_module(module)
    if not hasattr(module, func):
        raise ValueError(f"--model: {path} has no function {func!r}")
    made = getattr(module, func)()
    if isinstance(made, tuple):
        return made[0], made[1]
    return made, None


def _load_input(path: str):
    if path.endswith(".npy"):
        return torch.from_numpy(np.load(path).astype(np.float32))
    if path.endswith(".pt"):
        return torch.load(path, map_location="cpu")
    raise ValueError(f"--input: {path}: expected a .npy or .pt file")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="accsim-export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="FILE.py:FUNCTION or FILE.pt")
    ap.add_argument("--input", action="append", default=[], help="an input batch (.npy or .pt); repeatable")
    ap.add_argument("--out", required=True, help="the trace directory to write")
    ap.add_argument("--name", help="model name in the trace (default: the model file's name)")
    ap.add_argument("--source", default="", help="where the weights and inputs came from")
    ap.add_argument("--weight-bits", type=int, default=8)
    ap.add_argument("--act-bits", type=int, default=8)
    ap.add_argument("--rounding", choices=["nearest", "toward_zero"], default="nearest")
    ap.add_argument("--activations", choices=["symmetric", "asymmetric"], default="symmetric")
    ap.add_argument("--acc-aware", type=int, metavar="BITS",
                    help="shrink weights so that every layer with weights fits a BITS-bit accumulator (A2Q)")
    ap.add_argument("--layers", metavar="REGEX", help="only layers whose name matches go into the trace")
    ap.add_argument("--float", dest="float_format", choices=["e4m3", "e5m2"],
                    help="an FP8 trace: operands quantized to this format (default: an integer trace)")
    ap.add_argument("--float-scaling", choices=["tensor", "channel", "block"], default="tensor",
                    help="FP8 scales: per tensor, per output channel, or DeepSeek-V3 blocks (default: tensor)")
    ap.add_argument("--block", type=int, default=128, metavar="N",
                    help="block scaling: 1 x N activation tiles and N x N weight blocks (default: 128)")
    args = ap.parse_args(argv)
    if args.float_format is None and (args.float_scaling != "tensor" or args.block != 128):
        ap.error("--float-scaling and --block need --float")
    try:
        model, inputs = _load_model(args.model)
        if args.input:
            inputs = [_load_input(p) for p in args.input]
        if inputs is None:
            raise ValueError("no inputs: give --input FILE, or return (model, inputs) from the model function")
        cfg = ExportConfig(weight_bits=args.weight_bits, act_bits=args.act_bits, rounding=args.rounding,
                           activations=args.activations, acc_bits=args.acc_aware, layers=args.layers,
                           float_format=args.float_format, float_scaling=args.float_scaling, block=args.block)
        source = args.source
        if args.model.startswith("bundled:"):
            name = args.name or args.model[len("bundled:"):]
            source = source or (f"the real network and input of traces/examples/{name}.trace, rebuilt offline from that "
                                f"trace (tools/accsim_export/bundled.py: its W8A8 weights and input dequantized)")
        else:
            name = args.name or os.path.splitext(os.path.basename(args.model.rpartition(":")[0] or args.model))[0]
        report = export_trace(model, inputs, args.out, model_name=name, source=source, config=cfg)
    except (UnsupportedLayerError, ValueError) as exc:
        print(f"accsim-export: error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
