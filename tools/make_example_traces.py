#!/usr/bin/python3
"""Write the example traces bundled in traces/examples/ (deterministic; needs numpy only).

    /usr/bin/python3 tools/make_example_traces.py [--out DIR] [--image synthetic|digits]

tiny-linear.trace
    One 2x4 by 4x3 linear layer small enough to follow by hand: the expected outputs are
    asserted below, and the partial sums are easy to list (row 0 with channel 1 runs
    2400, 2800, 1800, 2310, so a 12-bit accumulator overflows on it).

small-cnn.trace
    A synthetic but realistic 8-bit integer CNN: He-scaled random weights quantized per
    output channel to int8, int32 biases at accumulator scale, and activations that really
    flow. Every layer's uint8 input is the previous layer's int32 output requantized the
    way integer-only inference does it (per-channel fixed-point multiplier with rounding,
    fused ReLU, clip to 0..255), the multipliers calibrated on the 99.9th percentile of
    each layer's real-valued output. The weight spread of each layer is chosen so that
    the overflow audit shows a mix: some layers need more than a 16-bit accumulator, others
    fit. It is not a trained network; its weights carry no meaning.

The input image is synthetic by default (smooth gradients, a disc, a square, mild noise),
so that every machine regenerates byte-identical traces. ``--image digits`` uses a real
8x8 digit from python3-sklearn's bundled digits data set instead, upsampled to 32x32.
"""

import argparse
import math
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "traces", "python"))
import accsim_trace as at  # noqa: E402

SEED = 2026
ACC16 = (-(1 << 15), (1 << 15) - 1)  # the 16-bit accumulator the demo audit is about

# Spread (standard deviation, in int8 codes) of each layer's weights. Per-channel int8
# quantization normally fills the code range; these spreads mimic layers quantized with
# clipping (small spread) next to layers that use the full range (large spread), which is
# what decides whether 16 accumulator bits suffice.
WEIGHT_STD = {"conv0": 40.0, "dw1": 30.0, "pw1": 14.0, "conv2": 13.0, "fc": 16.0}


# ---------------------------------------------------------------------- tiny-linear


def make_tiny_linear(out_dir: str) -> str:
    path = os.path.join(out_dir, "tiny-linear.trace")
    x = np.array([[200, 100, 50, 255],
                  [10, 20, 30, 40]])
    w = np.array([[10, -5, 3, 1],
                  [12, 4, -20, 2],
                  [11, 2, -12, 0]])
    expected = np.array([[1905, 2310, 1800],
                         [130, -320, -210]])
    assert np.array_equal(at.ref_linear(x, w), expected), at.ref_linear(x, w)
    _fresh(path)
    with at.TraceWriter(path, model="tiny-linear",
                        source="hand-made example for checking accsim's overflow audit by hand: "
                               "2 rows of 4 uint8 inputs times 3 int8 weight rows, no bias",
                        meta={"generator": "tools/make_example_traces.py",
                              "expected_output": expected.tolist()}) as tw:
        tw.linear("fc", x, w, input_bits=8, input_signed=False, weight_bits=8, weight_signed=True,
                  output="compute")
    assert np.array_equal(at.read_trace(path).tensors["fc.output"], expected)
    return path


# ---------------------------------------------------------------------- small-cnn pieces


def synthetic_image(rng) -> np.ndarray:
    """A smooth 3x32x32 uint8 picture: colour gradients, a bright disc, a dark square."""
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    disc = ((yy - 0.35) ** 2 + (xx - 0.65) ** 2 < 0.04).astype(float)
    square = ((np.abs(yy - 0.7) < 0.15) & (np.abs(xx - 0.3) < 0.15)).astype(float)
    red = 40 + 150 * xx + 60 * disc - 30 * square
    green = 30 + 120 * yy + 90 * disc - 20 * square
    blue = 200 - 120 * xx * yy - 150 * square + 30 * disc
    image = np.stack([red, green, blue]) + rng.normal(0, 3, (3, 32, 32))
    return np.clip(np.round(image), 0, 255).astype(np.int64)


def digits_image() -> np.ndarray:
    """sklearn's first digit (a 0), 8x8 values 0..16, upsampled 4x to a 3x32x32 uint8 image."""
    try:
        from sklearn.datasets import load_digits  # python3-sklearn; optional
    except ImportError:
        raise SystemExit("make_example_traces.py: --image digits needs python3-sklearn "
                         "(apt-get install python3-sklearn); the default synthetic image does not") from None

    digit = load_digits().images[0] / 16.0
    big = np.kron(digit, np.ones((4, 4)))
    # a light 3x3 box blur so the upsampled edges are not hard steps
    padded = np.pad(big, 1, mode="edge")
    big = sum(padded[i : i + 32, j : j + 32] for i in range(3) for j in range(3)) / 9.0
    image = np.stack([255 * big, 200 * big + 30, 255 * (1 - big)])
    return np.clip(np.round(image), 0, 255).astype(np.int64)


def quantize_multiplier(m: float):
    """m > 0 as m0 * 2^-shift with 2^30 <= m0 < 2^31 (the integer-only inference form)."""
    exponent = math.floor(math.log2(m))
    shift = 30 - exponent
    m0 = int(round(m * 2.0**shift))
    if m0 == 1 << 31:
        m0, shift = m0 >> 1, shift - 1
    return m0, shift


class Layer:
    """Random int8 weights of one layer, their per-channel scales and int32 biases."""

    def __init__(self, rng, name: str, shape, in_scale: float):
        self.name = name
        c_out, fan_in = shape[0], int(np.prod(shape[1:]))
        std = WEIGHT_STD[name]
        gain = rng.uniform(0.75, 1.25, c_out)  # channels differ a little in spread
        codes = rng.normal(0.0, 1.0, shape) * (std * gain).reshape((c_out,) + (1,) * (len(shape) - 1))
        self.weight = np.clip(np.round(codes), -127, 127).astype(np.int64)
        # Real weights are He-scaled: scale_c * q has standard deviation sqrt(2 / fan_in).
        self.weight_scale = (math.sqrt(2.0 / fan_in) / (std * gain)).astype(np.float32)
        self.in_scale = in_scale
        acc_scale = in_scale * self.weight_scale.astype(np.float64)  # real value of one acc unit
        real_bias = rng.normal(0.0, 0.1, c_out)
        self.bias = np.round(real_bias / acc_scale).astype(np.int64)
        self.acc_scale = acc_scale

    def requantize(self, acc: np.ndarray, channel_axis: int):
        """int32 accumulators -> uint8 activations of the next layer, and their scale.

        Per channel: q = clip((acc * m0_c + 2^(shift_c - 1)) >> shift_c, 0, 255), i.e.
        round(acc * M_c) with ReLU fused, M_c = acc_scale_c / out_scale.
        """
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        real = acc * self.acc_scale.reshape(shape)
        positive = real[real > 0]
        out_scale = float(np.percentile(positive, 99.9)) / 255.0 if positive.size else 1.0
        multipliers = [quantize_multiplier(s / out_scale) for s in self.acc_scale]
        m0 = np.array([m for m, _ in multipliers], dtype=np.int64).reshape(shape)
        shift = np.array([s for _, s in multipliers], dtype=np.int64).reshape(shape)
        q = (acc * m0 + (np.int64(1) << (shift - 1))) >> shift
        return np.clip(q, 0, 255), out_scale


def partial_sum_stats(products: np.ndarray, other_order: np.ndarray | None = None) -> dict:
    """Overflow figures of dot products (bias excluded) against a 16-bit accumulator.

    ``products`` is [outputs, K] in accumulation order (c_kh_kw for conv2d);
    ``other_order`` the same products in conv2d's kh_kw_c order.
    """

    def over16(values):
        return (values < ACC16[0]) | (values > ACC16[1])

    prefix = np.cumsum(products, axis=1)
    stats = {
        "max_sum": int(np.abs(prefix[:, -1]).max()),
        "max_partial": int(np.abs(prefix).max()),
        "final_over16": int(over16(prefix[:, -1]).sum()),
        "partial_over16": int(over16(prefix).any(axis=1).sum()),
        "partial_over16_kh_kw_c": None,
    }
    if other_order is not None:
        stats["partial_over16_kh_kw_c"] = int(over16(np.cumsum(other_order, axis=1)).any(axis=1).sum())
    return stats


def conv_products(x, w, params, pad_value=0):
    """Products of a conv2d as [outputs, K] in c_kh_kw order (PyTorch's weight.flatten(1))
    and in kh_kw_c order (channels-last)."""
    groups = params["groups"]
    c_out, c_group, k_h, k_w = w.shape
    patches = at.conv2d_patches(x, (k_h, k_w), params["stride"], params["padding"], params["dilation"], pad_value)
    batch, _, _, _, o_h, o_w = patches.shape
    cols = patches.reshape(batch, groups, c_group * k_h * k_w, o_h * o_w)
    kernels = w.reshape(groups, c_out // groups, c_group * k_h * k_w)
    # [B, G, C_out/G, K, P] -> [B * C_out * P, K]
    prod = kernels[None, :, :, :, None] * cols[:, :, None, :, :]
    prod = np.moveaxis(prod, 3, -1).reshape(-1, c_group, k_h, k_w)
    k = c_group * k_h * k_w
    return prod.reshape(-1, k), prod.transpose(0, 2, 3, 1).reshape(-1, k)


# ---------------------------------------------------------------------- small-cnn


def make_small_cnn(out_dir: str, image_kind: str) -> tuple:
    rng = np.random.default_rng(SEED)
    if image_kind == "digits":
        image = digits_image()
        image_note = "the input is python3-sklearn's digits image 0 (8x8), upsampled to 3x32x32"
    else:
        image = synthetic_image(rng)
        image_note = "the input is a synthetic 3x32x32 image (colour gradients, a disc, a square, mild noise)"
    x = image[None]  # [1, 3, 32, 32]
    stats = []  # (layer, op, input shape, weight/rhs shape, K, outputs, partial_sum_stats)

    path = os.path.join(out_dir, "small-cnn.trace")
    _fresh(path)
    source = ("synthetic but realistic 8-bit integer CNN generated by tools/make_example_traces.py "
              f"(numpy default_rng({SEED})): He-scaled random int8 weights with per-channel scales, "
              "int32 biases, and activations that flow: each layer's uint8 input is the previous "
              "layer's int32 output requantized (fixed-point per-channel multiplier, rounding, ReLU, "
              "clip 0..255); attn_qk multiplies conv2's activations pooled into row and column "
              f"tokens, zero-centred and quantized to int8; {image_note}. Not a trained network.")
    meta = {"generator": "tools/make_example_traces.py", "seed": SEED, "image": image_kind,
            "weight_std_codes": WEIGHT_STD}
    with at.TraceWriter(path, model="small-cnn", source=source, meta=meta) as tw:
        scale = 1.0 / 255.0
        convs = [  # name, weight shape, conv2d parameters
            ("conv0", (16, 3, 3, 3), dict(stride=1, padding=1, dilation=1, groups=1)),
            ("dw1", (16, 1, 3, 3), dict(stride=2, padding=1, dilation=1, groups=16)),
            ("pw1", (32, 16, 1, 1), dict(stride=1, padding=0, dilation=1, groups=1)),
            ("conv2", (32, 16, 3, 3), dict(stride=2, padding=[0, 0, 1, 1], dilation=1, groups=2)),
        ]
        for name, shape, conv in convs:
            layer = Layer(rng, name, shape, scale)
            params = at.normalize_conv2d_params(**conv)
            acc = at.ref_conv2d(x, layer.weight, layer.bias, **params)
            tw.conv2d(name, x, layer.weight, input_bits=8, input_signed=False, input_scale=scale,
                      weight_bits=8, weight_signed=True, weight_scale=layer.weight_scale,
                      bias=layer.bias, output="compute", **params)
            products, channels_last = conv_products(x, layer.weight, params)
            stats.append((name, "conv2d", x.shape, layer.weight.shape, products.shape[1], acc.size,
                          partial_sum_stats(products, channels_last)))
            x, scale = layer.requantize(acc, channel_axis=1)
        conv2_act = x  # [1, 32, 8, 8]

        flat = x.reshape(1, -1)  # PyTorch flatten: channel, row, column
        layer = Layer(rng, "fc", (10, flat.shape[1]), scale)
        acc = at.ref_linear(flat, layer.weight, layer.bias)
        tw.linear("fc", flat, layer.weight, input_bits=8, input_signed=False, input_scale=scale,
                  weight_bits=8, weight_signed=True, weight_scale=layer.weight_scale, bias=layer.bias,
                  output="compute")
        products = (layer.weight[None, :, :] * flat[:, None, :]).reshape(-1, flat.shape[1])
        stats.append(("fc", "linear", flat.shape, layer.weight.shape, flat.shape[1], acc.size,
                      partial_sum_stats(products)))

        # Attention-style scores: 8 query tokens (rows of conv2's 8x8 map, averaged over
        # columns) against 8 key tokens (columns, averaged over rows), 2 heads of 16 features.
        act = conv2_act[0].astype(np.float64) * scale  # real values [32, 8, 8]
        queries, keys = act.mean(axis=2).T, act.mean(axis=1).T  # [8 tokens, 32 features]
        centre = np.concatenate([queries, keys]).mean(axis=0)
        queries, keys = queries - centre, keys - centre
        q_scale = float(np.abs(queries).max()) / 127.0
        k_scale = float(np.abs(keys).max()) / 127.0
        q = np.clip(np.round(queries / q_scale), -128, 127).astype(np.int64)
        k = np.clip(np.round(keys / k_scale), -128, 127).astype(np.int64)
        lhs = q.reshape(8, 2, 16).transpose(1, 0, 2)  # [2 heads, 8 tokens, 16]
        rhs = k.reshape(8, 2, 16).transpose(1, 2, 0)  # [2 heads, 16, 8 tokens]
        tw.matmul("attn_qk", lhs, rhs, lhs_bits=8, lhs_signed=True, rhs_bits=8, rhs_signed=True,
                  lhs_scale=q_scale, rhs_scale=k_scale, output="compute")
        products = (lhs[:, :, None, :] * rhs.transpose(0, 2, 1)[:, None, :, :]).reshape(-1, 16)
        stats.append(("attn_qk", "matmul", lhs.shape, rhs.shape, 16, products.shape[0],
                      partial_sum_stats(products)))
    return path, stats


# ---------------------------------------------------------------------- main


def _fresh(path: str) -> None:
    """Remove an earlier version of a generated trace directory (and only that)."""
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, at.MANIFEST_FILE)):
            raise SystemExit(f"make_example_traces.py: {path} exists and is not a trace; not touching it")
        shutil.rmtree(path)


def _describe(path: str) -> None:
    trace = at.read_trace(path, validate=True)
    problems = at.validate_trace(trace, verify_outputs=True)
    assert not problems, problems
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    print(f"wrote {os.path.relpath(path)}  ({size} bytes, {len(trace.layers)} layers, "
          f"{len(trace.tensors)} tensors, outputs verified)")
    for layer in trace.layers:
        roles = at.OPERANDS[layer["op"]]
        shapes = "  ".join(f"{role} {list(trace.tensors[layer[role]['tensor']].shape)}" for role in roles)
        out = trace.tensors[layer["output"]["tensor"]]
        print(f"  {layer['name']:<8} {layer['op']:<7} {shapes}  output {list(out.shape)} "
              f"{at.safetensors_dtype(out)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO, "traces", "examples"),
                        help="directory to write into (default: traces/examples)")
    parser.add_argument("--image", choices=("synthetic", "digits"), default="synthetic",
                        help="small-cnn's input picture (digits needs python3-sklearn)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    _describe(make_tiny_linear(args.out))
    path, stats = make_small_cnn(args.out, args.image)
    _describe(path)
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    assert size < 200 * 1024, f"small-cnn.trace is {size} bytes, over the 200 KB budget"

    print("\nsmall-cnn against a 16-bit accumulator (bias excluded). Partial sums in ascending i,")
    print("c_kh_kw order for conv2d; 'partial' counts outputs with any partial sum outside 16 bits,")
    print("'final' those whose whole sum is outside (the rest overflow only transiently).")
    print(f"  {'layer':<8} {'op':<7} {'input':<16} {'weight/rhs':<16} {'K':>5} {'outputs':>7} "
          f"{'max|sum|':>9} {'max|partial|':>12} {'final':>6} {'partial':>7} {'kh_kw_c':>7}")
    for name, op, a_shape, b_shape, k, outputs, st in stats:
        other = "-" if st["partial_over16_kh_kw_c"] is None else st["partial_over16_kh_kw_c"]
        print(f"  {name:<8} {op:<7} {str(list(a_shape)):<16} {str(list(b_shape)):<16} {k:>5} {outputs:>7} "
              f"{st['max_sum']:>9} {st['max_partial']:>12} {st['final_over16']:>6} "
              f"{st['partial_over16']:>7} {other:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
