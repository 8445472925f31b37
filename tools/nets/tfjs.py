"""TensorFlow.js weight manifests: tensors concatenated in manifest order across the .bin
shards; a quantized tensor stores uint8 (or uint16) codes with a scale and a minimum,
real = code * scale + min."""
import json
import math
import os

import numpy as np

_DTYPES = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}


def load_weights(manifest_path: str) -> dict:
    """name -> float32 ndarray (dequantized), in TF layouts (conv [kh, kw, in, out])."""
    with open(manifest_path) as f:
        manifest = json.load(f)
    groups = manifest["weightsManifest"] if isinstance(manifest, dict) else manifest
    base = os.path.dirname(manifest_path)
    out = {}
    for group in groups:
        data = b"".join(open(os.path.join(base, p), "rb").read() for p in group["paths"])
        offset = 0
        for entry in group["weights"]:
            count = math.prod(entry["shape"]) if entry["shape"] else 1
            quant = entry.get("quantization")
            dtype = _DTYPES[quant["dtype"] if quant else entry["dtype"]]
            raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(entry["shape"])
            offset += count * np.dtype(dtype).itemsize
            if quant and "scale" in quant:
                value = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
            else:
                value = raw.astype(np.float32)
            out[entry["name"]] = value
        if offset != len(data):
            raise ValueError(f"{manifest_path}: {len(data) - offset} bytes of weights left over")
    return out
