#!/usr/bin/env python3
"""Writes the bad-input CLI cases under tests/bad/ (Python standard library only).

Each case directory gets `args` (the accsim command line), the broken trace or config it
needs, and keeps its hand-reviewed `expected_stderr` (the golden is the error text). Run
this after changing a case, then `ACCSIM_UPDATE_GOLDEN=1 ctest -R bad/` and review the diff
of every expected_stderr before committing.
"""
import copy
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

FMT = {"I8": "b", "U8": "B", "I16": "h", "U16": "H", "I32": "i", "I64": "q", "F32": "f", "F16": "e",
       "F8_E4M3": "B", "F8_E5M2": "B", "BF16": "H", "F64": "d"}


def safetensors(tensors):
    """tensors: list of (name, dtype, shape, flat values) -> bytes."""
    header, data = {}, b""
    for name, dtype, shape, values in tensors:
        raw = struct.pack("<" + FMT[dtype] * len(values), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


# A valid two-layer trace: a linear layer and a 3x3 conv, small enough to read in a message.
LIN_X = [3, 0, 15, 7]                       # [1, 4] unsigned 4-bit
LIN_W = [1, -2, 3, -4, 5, -6, 7, -8]        # [2, 4] signed 4-bit
LIN_OUT = [3 * 1 + 15 * 3 - 7 * 4, 3 * 5 + 15 * 7 - 7 * 8]
CONV_X = list(range(16))                    # [1, 1, 4, 4] unsigned 8-bit
CONV_W = [1, 0, -1, 2, 0, -2, 1, 0, -1] * 2  # [2, 1, 3, 3] signed 8-bit


def base_tensors():
    return copy.deepcopy([
        ["fc.input", "U8", [1, 4], LIN_X],
        ["fc.weight", "I8", [2, 4], LIN_W],
        ["fc.output", "I32", [1, 2], LIN_OUT],
        ["conv.input", "U8", [1, 1, 4, 4], CONV_X],
        ["conv.weight", "I8", [2, 1, 3, 3], CONV_W],
        ["conv.bias", "I32", [2], [10, -10]],
    ])


def base_manifest():
    return {
        "format": "accsim-trace", "version": 1, "model": "bad-case",
        "source": "tests/bad/make_cases.py", "tensors": "tensors.safetensors",
        "layers": [
            {"name": "fc", "op": "linear",
             "input": {"tensor": "fc.input", "bits": 4, "signed": False},
             "weight": {"tensor": "fc.weight", "bits": 4, "signed": True},
             "output": {"tensor": "fc.output"}},
            {"name": "conv", "op": "conv2d",
             "input": {"tensor": "conv.input", "bits": 8, "signed": False},
             "weight": {"tensor": "conv.weight", "bits": 8, "signed": True},
             "bias": {"tensor": "conv.bias", "bits": 32},
             "conv2d": {"stride": [1, 1], "padding": [1, 1, 1, 1], "dilation": [1, 1], "groups": 1}},
        ],
    }


def base_config():
    return {"name": "bad-case", "target": "asic", "clock_mhz": 1000,
            "array": {"kind": "systolic", "rows": 4, "cols": 4, "dataflow": "ws"},
            "accumulator": {"stages": [{"length": 4, "bits": 12, "overflow": "wrap"},
                                       {"bits": 16, "overflow": "saturate"}]}}


def tensor(tensors, name):
    return next(t for t in tensors if t[0] == name)


CASES = {}


def case(name, args, manifest=None, tensors=None, raw_tensors=None, raw_manifest=None, config=None,
         raw_config=None, files=None):
    CASES[name] = dict(args=args, manifest=manifest, tensors=tensors, raw_tensors=raw_tensors,
                       raw_manifest=raw_manifest, config=config, raw_config=raw_config, files=files or {})


def mutated(fn):
    m, t = base_manifest(), base_tensors()
    fn(m, t)
    return m, t


AUDIT = "audit --trace t.trace --acc 16"

# ---- the trace directory and manifest --------------------------------------------------------
case("manifest_missing", "audit --trace nosuch.trace --acc 16")
case("manifest_unreadable", AUDIT, files={"t.trace/README": "a directory without manifest.json\n"})
case("manifest_invalid_json", AUDIT, raw_manifest='{"format": "accsim-trace", "version": 1,,}', tensors=base_tensors())
case("manifest_not_object", AUDIT, raw_manifest='[1, 2, 3]', tensors=base_tensors())
for name, key, value in [("wrong_format", "format", "onnx"), ("wrong_version", "version", 2)]:
    m = base_manifest()
    m[key] = value
    case(name, AUDIT, manifest=m, tensors=base_tensors())
m = base_manifest()
m["layers"] = []
case("no_layers", AUDIT, manifest=m, tensors=base_tensors())
m = base_manifest()
m["layers"][1]["op"] = "conv3d"
case("unknown_op", AUDIT, manifest=m, tensors=base_tensors())
m = base_manifest()
m["layers"][0]["wieght"] = m["layers"][0].pop("weight")
case("unknown_layer_key", AUDIT, manifest=m, tensors=base_tensors())
m = base_manifest()
m["layers"][0]["input"]["zero_piont"] = 0
case("unknown_operand_key", AUDIT, manifest=m, tensors=base_tensors())
dup = json.dumps(base_manifest(), indent=2).replace('"bits": 4,', '"bits": 4, "bits": 8,', 1)
case("manifest_duplicate_key", AUDIT, raw_manifest=dup, tensors=base_tensors())
m = base_manifest()
m["layers"][1]["name"] = "fc"
case("duplicate_layer_name", AUDIT, manifest=m, tensors=base_tensors())
m = base_manifest()
m["layers"][1]["weight"]["tensor"] = "conv.weights"
case("missing_tensor", AUDIT, manifest=m, tensors=base_tensors())
m = base_manifest()
m["tensors"] = "other.safetensors"
case("missing_tensor_file", AUDIT, manifest=m, tensors=base_tensors())

# ---- the safetensors container -----------------------------------------------------------------
good = safetensors(base_tensors())
case("truncated_safetensors", AUDIT, manifest=base_manifest(), raw_tensors=good[:-5])
case("safetensors_too_short", AUDIT, manifest=base_manifest(), raw_tensors=good[:5])
case("header_length_beyond_file", AUDIT, manifest=base_manifest(),
     raw_tensors=struct.pack("<Q", 1 << 20) + good[8:])
case("header_invalid_json", AUDIT, manifest=base_manifest(),
     raw_tensors=struct.pack("<Q", 8) + b'{"a":1,,' + good[8:])
m, t = mutated(lambda m, t: tensor(t, "fc.weight").__setitem__(1, "F16"))
case("dtype_not_allowed", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: tensor(t, "fc.weight").__setitem__(1, "I64"))
case("dtype_i64_operand", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: tensor(t, "fc.output").__setitem__(1, "F32"))
case("dtype_output_float", AUDIT, manifest=m, tensors=t)

# ---- float operands, block scales and float accumulators (datapath/FLOAT.md) ------------------------
# e4m3 codes: 0x38 = 1, 0x40 = 2, 0xb8 = -1, 0x30 = 0.5; fc = x [1, 4] . w [2, 4].
F_X = [0x38, 0x40, 0xb8, 0x30]
F_W = [0x38, 0x38, 0x38, 0x38, 0x40, 0x30, 0x38, 0xb8]
F_OUT = [1 + 2 - 1 + 0.5, 2 + 1 - 1 - 0.5]
FLOAT_ACC = "audit --trace t.trace --acc 128xe8m13:g32:f13:rz,e8m23"


def float_tensors():
    return [["fc.input", "F8_E4M3", [1, 4], list(F_X)], ["fc.weight", "F8_E4M3", [2, 4], list(F_W)],
            ["fc.output", "F64", [1, 2], list(F_OUT)],
            ["fc.input_scale", "F32", [1, 2], [1.0, 2.0]], ["fc.weight_scale", "F32", [2, 2], [1.0] * 4]]


def float_manifest():
    return {"format": "accsim-trace", "version": 1, "model": "bad-case-float",
            "source": "tests/bad/make_cases.py", "tensors": "tensors.safetensors",
            "layers": [{"name": "fc", "op": "linear",
                        "input": {"tensor": "fc.input", "format": "e4m3"},
                        "weight": {"tensor": "fc.weight", "format": "e4m3"},
                        "output": {"tensor": "fc.output"}}]}


def float_case(name, fn=None, args=FLOAT_ACC):
    m, t = float_manifest(), float_tensors()
    if fn:
        fn(m, t)
    case(name, args, manifest=m, tensors=t)


def fc(m):
    return m["layers"][0]


float_case("float_operand_with_bits", lambda m, t: fc(m)["input"].update(bits=8))
float_case("float_format_unknown", lambda m, t: fc(m)["weight"].update(format="e4m4"))
float_case("float_dtype_mismatch", lambda m, t: fc(m)["input"].update(format="fp16"))
float_case("float_mixed_operands", lambda m, t: (
    fc(m).__setitem__("weight", {"tensor": "fc.weight", "bits": 8, "signed": False}),
    tensor(t, "fc.weight").__setitem__(1, "U8")))
float_case("float_layer_integer_acc", args="audit --trace t.trace --acc 16")
float_case("float_output_mismatch", lambda m, t: tensor(t, "fc.output").__setitem__(3, [3.5, 1.25]))
float_case("float_output_not_f64", lambda m, t: (tensor(t, "fc.output").__setitem__(1, "I32"),
                                                 tensor(t, "fc.output").__setitem__(3, [3, 1])))
float_case("float_bias", lambda m, t: (fc(m).__setitem__("bias", {"tensor": "fc.bias"}),
                                       t.append(["fc.bias", "I32", [2], [0, 0]])))
float_case("block_scale_shape", lambda m, t: fc(m)["input"].update(
    block_scale={"tensor": "fc.weight_scale", "block": 2}))
float_case("block_scale_not_positive", lambda m, t: (
    fc(m)["input"].update(block_scale={"tensor": "fc.input_scale", "block": 2}),
    tensor(t, "fc.input_scale").__setitem__(3, [1.0, -2.0])))
float_case("block_scale_dtype", lambda m, t: fc(m)["input"].update(
    block_scale={"tensor": "fc.input_scale", "block": 2, "format": "e8m0"}))
float_case("block_scale_tile_spans_blocks", lambda m, t: fc(m)["input"].update(
    block_scale={"tensor": "fc.input_scale", "block": 2}),
    args="audit --trace t.trace --acc 3xe8m13,e8m23")
float_case("block_scale_f32_single_stage", lambda m, t: fc(m)["input"].update(
    block_scale={"tensor": "fc.input_scale", "block": 2}), args="audit --trace t.trace --acc e8m23")
case("acc_float_bad_flag", "audit --trace t.trace --acc e8m23:q4", manifest=base_manifest(),
     tensors=base_tensors())
case("acc_float_exponent_range", "audit --trace t.trace --acc e12m3", manifest=base_manifest(),
     tensors=base_tensors())
case("acc_integer_after_float", "audit --trace t.trace --acc 4xe8m23,32", manifest=base_manifest(),
     tensors=base_tensors())
case("dump_outputs_onto_a_file", "audit --trace t.trace --acc 16 --dump-outputs args",
     manifest=base_manifest(), tensors=base_tensors())
case("acc_float_integer_operands_first", "audit --trace t.trace --acc e8m23",
     manifest=base_manifest(), tensors=base_tensors())

# ---- shapes ---------------------------------------------------------------------------------------
m, t = mutated(lambda m, t: (tensor(t, "conv.weight").__setitem__(2, [2, 2, 3, 3]),
                             tensor(t, "conv.weight").__setitem__(3, CONV_W * 2)))
case("conv_weight_channels_mismatch", AUDIT, manifest=m, tensors=t)


def groups3(m, t):
    m["layers"][1]["conv2d"]["groups"] = 3


m, t = mutated(groups3)
case("groups_not_dividing_channels", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: (tensor(t, "fc.input").__setitem__(2, [1, 5]),
                             tensor(t, "fc.input").__setitem__(3, LIN_X + [1])))
case("linear_features_mismatch", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: tensor(t, "conv.input").__setitem__(2, [1, 16]))
case("conv_input_not_4d", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: tensor(t, "conv.bias").__setitem__(2, [1, 2]))
case("bias_shape_mismatch", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: tensor(t, "fc.output").__setitem__(2, [2, 1]))
case("output_shape_mismatch", AUDIT, manifest=m, tensors=t)


def matmul_k(m, t):
    t.append(["mm.lhs", "I8", [2, 3], [1, 2, 3, 4, 5, 6]])
    t.append(["mm.rhs", "I8", [2, 2], [1, 2, 3, 4]])
    m["layers"].append({"name": "mm", "op": "matmul", "lhs": {"tensor": "mm.lhs", "bits": 8, "signed": True},
                        "rhs": {"tensor": "mm.rhs", "bits": 8, "signed": True}})


m, t = mutated(matmul_k)
case("matmul_k_mismatch", AUDIT, manifest=m, tensors=t)


def big_kernel(m, t):
    m["layers"][1]["conv2d"]["padding"] = [0, 0]
    m["layers"][1]["conv2d"]["dilation"] = [2, 2]


m, t = mutated(big_kernel)
case("kernel_larger_than_input", AUDIT, manifest=m, tensors=t)

def huge_padding(m, t):
    m["layers"][1]["conv2d"]["padding"] = [1 << 30] * 4


m, t = mutated(huge_padding)
case("conv_too_many_outputs", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: tensor(t, "fc.output").__setitem__(1, "I16"))
case("dtype_output_i16", AUDIT, manifest=m, tensors=t)
m = base_manifest()
m["layers"][0]["name"] = "x" * 1025
case("layer_name_too_long", AUDIT, manifest=m, tensors=base_tensors())
case("number_too_large", AUDIT, raw_manifest=json.dumps(base_manifest()).replace('"bits": 4,', '"bits": 1e999,', 1),
     tensors=base_tensors())
case("manifest_nested_too_deep", AUDIT,
     raw_manifest=json.dumps(base_manifest())[:-1] + ', "meta": ' + "[" * 200 + "]" * 200 + "}",
     tensors=base_tensors())
case("manifest_is_directory", AUDIT, files={"t.trace/manifest.json/README": "a directory named manifest.json\n"})

# ---- values and bits --------------------------------------------------------------------------------
m, t = mutated(lambda m, t: tensor(t, "fc.input")[3].__setitem__(2, 16))
case("input_value_outside_bits", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: tensor(t, "fc.weight")[3].__setitem__(5, -9))
case("weight_value_outside_bits", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][1]["bias"].__setitem__("bits", 4))
case("bias_value_outside_bits", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][0]["weight"].__setitem__("bits", 17))
case("bits_out_of_range", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][0]["input"].__setitem__("bits", 0))
case("bits_zero", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][1]["input"].__setitem__("zero_point", 300))
case("zero_point_outside_bits", AUDIT, manifest=m, tensors=t)
# "range": a quantizer's narrower range inside the bits (narrow, bipolar), holding 0
m, t = mutated(lambda m, t: m["layers"][0]["input"].__setitem__("range", [0, 14]))
case("input_value_outside_range", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][0]["input"].__setitem__("range", [0, 16]))
case("range_outside_bits", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][0]["weight"].__setitem__("range", [1, 7]))
case("range_without_zero", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][0]["weight"].__setitem__("range", [-7]))
case("range_not_a_pair", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][1]["input"].update(range=[0, 200], zero_point=201))
case("zero_point_outside_range", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][0]["input"].__setitem__("signed", "no"))
case("signed_not_bool", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][1]["conv2d"].__setitem__("stride", [-1, 1]))
case("negative_stride", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][1]["conv2d"].__setitem__("padding", [1, -1]))
case("negative_padding", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][1]["conv2d"].__setitem__("padding", [1, 1, 1]))
case("padding_three_values", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: m["layers"][0]["weight"].__setitem__("scale", -0.5))
case("negative_scale", AUDIT, manifest=m, tensors=t)
m, t = mutated(lambda m, t: tensor(t, "fc.output")[3].__setitem__(1, LIN_OUT[1] + 1))
case("output_mismatch", AUDIT, manifest=m, tensors=t)

# ---- configs -----------------------------------------------------------------------------------------
CFG = "audit --trace ../_shared/ok.trace --config c.json"
c = base_config()
c["accumulator"]["stages"][0]["overfow"] = "wrap"
case("config_unknown_key", CFG, config=c)
# A key with a line break and a NUL in it: the message stays one line, both escaped.
c = base_config()
c["accumulator"]["stages"][0]["over\nflow\u0000"] = "wrap"
case("config_key_with_control_characters", CFG, config=c)
c = base_config()
c["accumulator"]["stages"] = []
case("config_empty_stages", CFG, config=c)
c = base_config()
c["accumulator"]["stages"][1]["bits"] = 80
case("config_bits_out_of_range", CFG, config=c)
c = base_config()
c["accumulator"]["stages"][0]["bits"] = 1
case("config_bits_one", CFG, config=c)
c = base_config()
c["accumulator"]["stages"][0]["length"] = 0
case("config_length_zero", CFG, config=c)
c = base_config()
c["accumulator"]["stages"][1]["length"] = 64
case("config_length_on_last_stage", CFG, config=c)
c = base_config()
c["accumulator"]["stages"][0]["overflow"] = "clamp"
case("config_unknown_overflow", CFG, config=c)
c = base_config()
c["mapping"] = {"k_order": "hwc"}
case("config_unknown_k_order", CFG, config=c)
c = base_config()
del c["array"]
case("config_missing_array", "validate --config c.json", config=c)
case("config_invalid_json", CFG, raw_config='{"name": "x", }')
case("config_duplicate_key", CFG,
     raw_config=json.dumps(base_config()).replace('"bits": 12,', '"bits": 12, "bits": 10,'))
case("config_missing", "validate --config nosuch.json")

# ---- SCALE-Sim configs and topologies ----------------------------------------------------------------
SS_CFG = """[general]
run_name = t

[architecture_presets]
ArrayHeight:    8
ArrayWidth:     8
IfmapSramSzkB:    64
FilterSramSzkB:   64
OfmapSramSzkB:    64
Bandwidth : 10
Dataflow : ws
MemoryBanks: 1

[run_presets]
InterfaceBandwidth: CALC
"""
TOPO = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
SS_RUN = "run --topology topo.csv --config s.cfg"
GOOD_TOPO = TOPO + "conv1,16,16,3,3,4,8,1,\n"
case("scalesim_cfg_unknown_key", SS_RUN,
     files={"s.cfg": SS_CFG.replace("ArrayWidth:", "ArrayWidht:"), "topo.csv": GOOD_TOPO})
case("scalesim_cfg_unknown_section", SS_RUN, files={"s.cfg": SS_CFG + "\n[sparsity]\nSparsitySupport : true\n",
                                                      "topo.csv": GOOD_TOPO})
case("scalesim_cfg_missing_dataflow", SS_RUN,
     files={"s.cfg": SS_CFG.replace("Dataflow : ws\n", ""), "topo.csv": GOOD_TOPO})
case("scalesim_cfg_bad_dataflow", SS_RUN, files={"s.cfg": SS_CFG.replace("Dataflow : ws", "Dataflow : rs"),
                                                 "topo.csv": GOOD_TOPO})
case("scalesim_cfg_bad_number", SS_RUN, files={"s.cfg": SS_CFG.replace("ArrayHeight:    8", "ArrayHeight:    8x"),
                                               "topo.csv": GOOD_TOPO})
case("scalesim_cfg_user_without_bandwidth", SS_RUN,
     files={"s.cfg": SS_CFG.replace("Bandwidth : 10\n", "").replace("CALC", "USER"), "topo.csv": GOOD_TOPO})
case("scalesim_cfg_bad_interface", SS_RUN,
     files={"s.cfg": SS_CFG.replace("CALC", "ESTIMATE"), "topo.csv": GOOD_TOPO})
case("topology_too_few_columns", SS_RUN, files={"s.cfg": SS_CFG, "topo.csv": TOPO + "conv1,16,16,3,3,4,\n"})
case("topology_not_an_integer", SS_RUN, files={"s.cfg": SS_CFG, "topo.csv": TOPO + "conv1,16,16,3,three,4,8,1,\n"})
case("topology_filter_larger_than_input", SS_RUN, files={"s.cfg": SS_CFG, "topo.csv": TOPO + "conv1,4,4,5,5,4,8,1,\n"})
case("topology_no_layers", SS_RUN, files={"s.cfg": SS_CFG, "topo.csv": TOPO})
case("topology_gemm_zero", SS_RUN + " --topology-format gemm",
     files={"s.cfg": SS_CFG, "topo.csv": "Layer, M, N, K,\ng0, 16, 0, 8,\n"})

case("scalesim_cfg_duplicate_key", SS_RUN, files={"s.cfg": SS_CFG.replace("ArrayWidth:     8", "ArrayWidth:     8\nArrayWidth: 16"),
                                                  "topo.csv": GOOD_TOPO})
case("scalesim_cfg_duplicate_section", SS_RUN, files={"s.cfg": SS_CFG + "\n[general]\nrun_name = u\n", "topo.csv": GOOD_TOPO})
case("scalesim_cfg_array_too_big", SS_RUN, files={"s.cfg": SS_CFG.replace("ArrayHeight:    8", "ArrayHeight:    2000000"),
                                                  "topo.csv": GOOD_TOPO})
case("topology_too_large", SS_RUN, files={"s.cfg": SS_CFG, "topo.csv": TOPO + "L1,100000,100000,1,1,100000,100000,1,\n"})
case("topology_too_many_folds", SS_RUN + " --topology-format gemm",
     files={"s.cfg": SS_CFG.replace("Dataflow : ws", "Dataflow : os"), "topo.csv": "Layer, M, N, K,\ng0, 300000000, 300, 1,\n"})

# ---- accsim run ----------------------------------------------------------------------------------------
c = base_config()
case("run_without_memory", "run --trace ../_shared/ok.trace --config c.json", config=c)
c = base_config()
c["memory"] = {"ifmap": {"size_kb": 4, "bandwidth_bytes_per_cycle": 8}, "filter": {"size_kb": 4, "bandwidth_bytes_per_cycle": 8},
               "ofmap": {"size_kb": 4, "bandwidth_bytes_per_cycle": 8}, "dram": {"bandwidth_bytes_per_cycle": 4, "latency_cycles": 10}}
case("run_trace_and_topology", "run --trace ../_shared/ok.trace --topology t.csv --config c.json", config=c)
case("run_bad_mode", "run --trace ../_shared/ok.trace --config c.json --mode fast", config=c)
# An error after the SystemC run: in the sanitizer build this also checks that ASan, which the
# coroutine switches confused (models/sanitizer_stack.h), stays quiet when the exception is thrown.
case("run_out_under_a_file", "run --trace ../_shared/ok.trace --config c.json --out c.json/out --quiet", config=c)
case("run_vcd_without_cycle_mode", "run --trace ../_shared/ok.trace --config c.json --vcd w.vcd", config=c)
c2 = json.loads(json.dumps(c))
c2["array"] = {"kind": "tensor_core", "m": 2, "n": 2, "k": 4, "units": 1, "mma_cycles": 1}
c2["accumulator"]["stages"] = [{"length": 4, "bits": 20}, {"bits": 32}]
case("run_cycle_on_tensor_core", "run --trace ../_shared/ok.trace --config c.json --mode cycle", config=c2)
c3 = json.loads(json.dumps(c))
c3["accumulator"]["stages"][0]["length"] = 8
case("config_stage_contradicts_array", "validate --config c.json", config=c3)
c4 = json.loads(json.dumps(c))
c4["array"] = {"kind": "vector", "pe": 4, "simd": 1}
c4["accumulator"]["stages"] = [{"bits": 16}]
case("config_vector_one_stage", "validate --config c.json", config=c4)
c5 = json.loads(json.dumps(c))
c5["array"]["dataflow"] = "os"
c5["accumulator"]["stages"] = [{"bits": 16, "reduction": "tree"}]
case("config_os_tree", "validate --config c.json", config=c5)
c6 = json.loads(json.dumps(c))
c6["array"] = {"kind": "systolic", "rows": 1024, "cols": 1024, "dataflow": "ws"}
c6["accumulator"]["stages"] = [{"bits": 32}]
case("run_cycle_too_big", "run --trace ../_shared/ok.trace --config c.json --mode cycle", config=c6)
case("run_vcd_missing_directory", "run --trace ../_shared/ok.trace --config c.json --mode cycle --vcd nosuch/w.vcd", config=c)
case("run_vcd_not_vcd", "run --trace ../_shared/ok.trace --config c.json --mode cycle --vcd w.txt", config=c)
case("run_vcd_directory", "run --trace ../_shared/ok.trace --config c.json --mode cycle --vcd d.vcd", config=c,
     files={"d.vcd/README": "a directory named d.vcd\n"})

# ---- energy and FPGA sections -----------------------------------------------------------------------------
def energy_table():
    return {"multiply": {"pj": 0.2, "a_bits": 8, "b_bits": 8, "scaling": "product"},
            "add": {"pj": 0.03, "bits": 8, "scaling": "linear"}, "register_pj_per_bit": 0.009,
            "sram": {"pj_per_64b": [[8, 10], [32, 20]]}, "dram_pj_per_bit": 20, "static_mw": 5}


def fpga_section():
    return {"device": {"name": "tiny", "lut": 1000, "ff": 2000, "dsp": 4, "bram18": 2, "uram": 0, "static_mw": 100},
            "multipliers": "lut", "weights": "bram",
            "power": {"toggle_rate": 0.125, "lut_uw_per_mhz": 0.3, "ff_uw_per_mhz": 0.1, "dsp_uw_per_mhz": 16,
                      "bram18_uw_per_mhz": 10, "uram_uw_per_mhz": 30}}


e = json.loads(json.dumps(c))
e["energy"] = energy_table()
e["energy"]["multiply"]["scaling"] = "cubic"
case("energy_bad_scaling", "validate --config c.json", config=e)
e = json.loads(json.dumps(c))
e["energy"] = energy_table()
e["energy"]["sram"]["pj_per_64b"] = [[32, 20], [8, 10]]
case("energy_sram_sizes_decrease", "validate --config c.json", config=e)
e = json.loads(json.dumps(c))
e["energy"] = energy_table()
e["energy"]["static_mw"] = -1
case("energy_negative", "validate --config c.json", config=e)
e = json.loads(json.dumps(c))
e["energy"] = energy_table()
e["energy"]["zero_gating"] = {"operand": "either", "multiply": 1.5, "add": 0.1}
case("energy_gating_above_one", "validate --config c.json", config=e)
e = json.loads(json.dumps(c))
e["energy"] = energy_table()
e["energy"]["zero_gating"] = {"operand": "activation", "multiply": 0.1, "add": 0.1}
case("energy_gating_bad_operand", "validate --config c.json", config=e)
e = json.loads(json.dumps(c))
e["energy"] = energy_table()
e["energy"]["add"]["scaling"] = "product"
case("energy_add_product_scaling", "validate --config c.json", config=e)
e = json.loads(json.dumps(c))
e["energy"] = energy_table()
e["energy"]["dram_pj_per_byte"] = 160
case("energy_unknown_key", "validate --config c.json", config=e)
f = json.loads(json.dumps(c))
f["fpga"] = fpga_section()
case("fpga_on_asic_target", "validate --config c.json", config=f)
f = json.loads(json.dumps(c))
f["target"] = "fpga"
f["energy"] = {"dram_pj_per_bit": 20}
case("fpga_energy_without_fpga_section", "validate --config c.json", config=f)
f = json.loads(json.dumps(c))
f["target"] = "fpga"
f["energy"] = energy_table()
f["fpga"] = fpga_section()
case("fpga_energy_with_datapath_table", "validate --config c.json", config=f)
f = json.loads(json.dumps(c2))
f["target"] = "fpga"
f["fpga"] = fpga_section()
case("fpga_tensor_core", "validate --config c.json", config=f)
f = json.loads(json.dumps(c))
f["target"] = "fpga"
f["fpga"] = fpga_section()
f["fpga"]["power"]["toggle_rate"] = 2
case("fpga_toggle_rate_above_one", "validate --config c.json", config=f)
f = json.loads(json.dumps(c))
f["target"] = "fpga"
f["fpga"] = fpga_section()
f["fpga"]["weights"] = "flash"
case("fpga_bad_weight_memory", "validate --config c.json", config=f)
g = json.loads(json.dumps(c))
g["gpu"] = {"sms": 108}
case("gpu_section_on_asic_target", "validate --config c.json", config=g)
g = json.loads(json.dumps(c2))
g["target"] = "gpu"
g["gpu"] = {"sms": 0}
case("gpu_zero_sms", "validate --config c.json", config=g)

# ---- command line ---------------------------------------------------------------------------------------
OK = "--trace ../_shared/ok.trace"
case("acc_malformed", f"audit {OK} --acc 128x")
case("acc_length_on_last_stage", f"audit {OK} --acc 128x16")
case("acc_bits_out_of_range", f"audit {OK} --acc 128x16,65")
case("set_malformed", f"audit {OK} --acc 16 --set accumulator.bias")
case("set_value_rejected", f"audit {OK} --acc 16 --set accumulator.stages.0.bits=1")
case("set_index_out_of_range", f"audit {OK} --acc 16 --set accumulator.stages.3.bits=16")
case("unknown_option", f"audit {OK} --acc 16 --fast")
case("set_number_too_large", f"audit {OK} --acc 16 --set accumulator.stages.0.bits=1e999")
case("acc_empty", f"audit {OK} --config ../../../configs/default.json --acc ''")
case("layers_empty", f"audit {OK} --acc 16 --layers ''")
case("config_is_directory", f"audit {OK} --config .")
case("unknown_command", "simulate --trace x")
case("missing_trace_option", "audit --acc 16")
case("missing_config_option", f"audit {OK}")
case("layers_match_nothing", f"audit {OK} --acc 16 --layers 'attn.*'")
case("dram_bandwidth_too_small", f"audit {OK} --config ../../../configs/default.json --set memory.dram.bandwidth_bytes_per_cycle=1e-300")
case("sram_bandwidth_too_small", f"audit {OK} --config ../../../configs/default.json --set memory.ifmap.bandwidth_bytes_per_cycle=1e-12")
case("option_missing_value", f"audit {OK} --acc")
case("threads_not_a_number", f"audit {OK} --acc 16 --threads many")
case("option_stray_argument", f"audit {OK} --acc 16 stray.trace")
case("option_switch_with_value", f"audit {OK} --acc 16 --quiet=yes")
case("option_empty_after_equals", f"audit {OK} --acc=")
case("layers_invalid_regex", f"audit {OK} --acc 16 --layers 'conv['")
# Patterns that overflowed the stack of std::regex: refused, never a crash.
case("layers_pattern_too_long", f"audit {OK} --acc 16 --layers '{'a' * 1001}'")
case("layers_nested_too_deep", f"audit {OK} --acc 16 --layers '{'(' * 450 + 'a' + ')' * 450}'")

# ---- accsim sweep ---------------------------------------------------------------------------------------
SW = f"sweep {OK} --acc 16 --out @OUT@"
case("sweep_no_grid", SW)
case("sweep_no_out", f"sweep {OK} --acc 16 --grid accumulator.stages.0.bits=12..14")
case("sweep_grid_no_equals", SW + " --grid accumulator.stages.0.bits")
case("sweep_grid_empty_path", SW + " --grid =12,14")
case("sweep_grid_no_values", SW + " --grid accumulator.stages.0.bits=")
case("sweep_grid_backwards", SW + " --grid accumulator.stages.0.bits=20..12")
case("sweep_grid_zero_step", SW + " --grid accumulator.stages.0.bits=12..20:0")
case("sweep_grid_range_not_integer", SW + " --grid accumulator.stages.0.bits=12..x")
case("sweep_grid_empty_value", SW + " --grid accumulator.stages.0.bits=12,,14")
case("sweep_grid_duplicate_value", SW + " --grid accumulator.stages.0.bits=12,13..14,12")
case("sweep_grid_same_path_twice", SW + " --grid accumulator.stages.0.bits=12 --grid accumulator.stages.0.bits=14")
case("sweep_grid_bad_path_character", SW + " --grid 'accumulator/stages=12'")
case("sweep_grid_invalid_point", SW + " --grid accumulator.stages.0.bits=12,0")
case("sweep_grid_unknown_key", SW + " --grid accumulator.stages.0.bitz=12")
case("sweep_grid_too_many_points", SW + " --grid accumulator.stages.0.bits=1..1000 --grid clock_mhz=1..1000")
case("sweep_acc_grid_empty_layout", f"sweep {OK} --acc-grid '16;;32' --out @OUT@")
case("sweep_acc_grid_bad_layout", f"sweep {OK} --acc-grid '16;12x' --out @OUT@")
case("sweep_resume_not_a_journal", f"sweep {OK} --acc 16 --grid accumulator.stages.0.bits=12 --out out --resume",
     files={"out/points.jsonl": "garbage\n"})
case("sweep_resume_other_sweep", f"sweep {OK} --acc 16 --grid accumulator.stages.0.bits=12 --out out --resume",
     files={"out/points.jsonl": json.dumps({"accsim_sweep_journal": 1, "definition": {"trace": "other"}}) + "\n"})


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def main():
    # The one valid trace the config and command-line cases share.
    shared = os.path.join(HERE, "_shared", "ok.trace")
    shutil.rmtree(shared, ignore_errors=True)
    write(os.path.join(shared, "manifest.json"), json.dumps(base_manifest(), indent=2) + "\n")
    write(os.path.join(shared, "tensors.safetensors"), safetensors(base_tensors()))
    for name, c in CASES.items():
        d = os.path.join(HERE, name)
        keep = os.path.join(d, "expected_stderr")
        expected = open(keep).read() if os.path.exists(keep) else None
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        write(os.path.join(d, "args"), c["args"] + "\n")
        if expected is not None:
            write(keep, expected)
        tdir = os.path.join(d, "t.trace")
        if c["manifest"] is not None:
            write(os.path.join(tdir, "manifest.json"), json.dumps(c["manifest"], indent=2) + "\n")
        if c["raw_manifest"] is not None:
            write(os.path.join(tdir, "manifest.json"), c["raw_manifest"] + "\n")
        if c["tensors"] is not None:
            write(os.path.join(tdir, "tensors.safetensors"), safetensors(c["tensors"]))
        if c["raw_tensors"] is not None:
            write(os.path.join(tdir, "tensors.safetensors"), c["raw_tensors"])
        if c["config"] is not None:
            write(os.path.join(d, "c.json"), json.dumps(c["config"], indent=2) + "\n")
        if c["raw_config"] is not None:
            write(os.path.join(d, "c.json"), c["raw_config"] + "\n")
        for rel, text in c["files"].items():
            write(os.path.join(d, rel), text)
    print(f"wrote {len(CASES)} cases under {HERE}")


if __name__ == "__main__":
    main()
