// Traces cross between the C++ and the Python implementation of format v1 unchanged:
// (a) written by C++, copied by Python's writer, read back by C++: every field and every
//     value is what was written, and Python's `compare` finds the copy equal;
// (b) written by Python (`selftest-write`), read by C++, written again by C++: Python's
//     `compare` finds it equal and its `check` finds it valid.
// Also: every bundled example in traces/examples/ validates.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "datapath/input_error.h"
#include "traces/lowering.h"
#include "traces/trace.h"
#include "traces/trace_writer.h"

using namespace accsim;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

// A path for a trace directory under this file's scratch space; nothing is left there.
std::string scratch_trace(const std::string& name) {
    const fs::path p = fs::path(ACCSIM_TEST_TMP) / "roundtrip" / name;
    fs::remove_all(p);
    fs::create_directories(p.parent_path());
    return p.string();
}

// Runs `accsim_trace.py ARGS...` with the project's Python; returns the exit status (-1 if
// it did not exit normally) and leaves what it printed in `output`.
int accsim_trace_py(const std::vector<std::string>& args, std::string* output = nullptr) {
    // One log per process and call: CTest may run the test cases in parallel.
    static int calls = 0;
    const fs::path dir = fs::path(ACCSIM_TEST_TMP) / "roundtrip";
    fs::create_directories(dir);
    const std::string log = (dir / ("accsim_trace_py." + std::to_string(::getpid()) + "." +
                                    std::to_string(++calls) + ".log"))
                                .string();
    std::string cmd = std::string("'") + ACCSIM_PYTHON + "' '" + ACCSIM_SOURCE_DIR +
                      "/traces/python/accsim_trace.py'";
    for (const std::string& a : args) cmd += " '" + a + "'";
    cmd += " > '" + log + "' 2>&1";
    const int status = std::system(cmd.c_str());
    if (output) {
        std::ifstream f(log);
        std::stringstream ss;
        ss << f.rdbuf();
        *output = ss.str();
    }
    fs::remove(log);
    return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A tensor as written, with the values it was made from.
struct Written {
    TensorBlob blob;
    std::vector<int64_t> ints;
    std::vector<float> floats;  // F32 only
};

Written ints(const std::string& name, DType dtype, std::vector<int64_t> shape,
             std::vector<int64_t> values) {
    return {make_int_blob(name, dtype, std::move(shape), values), std::move(values), {}};
}

Written floats(const std::string& name, std::vector<int64_t> shape, std::vector<float> values) {
    return {make_f32_blob(name, std::move(shape), values), {}, std::move(values)};
}

// Deterministic codes covering [lo, hi], both ends included.
std::vector<int64_t> codes(int64_t n, int64_t lo, int64_t hi) {
    std::vector<int64_t> v(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[i] = lo + (i * 7919 + i / 3) % (hi - lo + 1);
    if (n >= 2) v.front() = lo, v.back() = hi;
    return v;
}

std::vector<TensorBlob> blobs_of(const std::vector<Written>& tensors) {
    std::vector<TensorBlob> out;
    for (const Written& t : tensors) out.push_back(t.blob);
    return out;
}

// Every dot product of the layer plus its bias, in the output tensor's order.
std::vector<int64_t> lowered_outputs(const LayerSpec& layer) {
    const LoweredLayer low(layer, KOrder::c_kh_kw);
    const std::vector<int64_t> bias =
        layer.bias ? read_int64(layer.bias->tensor) : std::vector<int64_t>{};
    std::vector<int64_t> y(static_cast<std::size_t>(layer.shape.outputs));
    std::vector<int32_t> x(static_cast<std::size_t>(low.k())), scratch(x.size());
    for (int64_t pos = 0; pos < low.positions(); ++pos) {
        low.gather_x(pos, x.data());
        for (int64_t j = 0; j < low.per_position(); ++j) {
            const int32_t* q = low.q(pos, j, scratch.data());
            int64_t acc = bias.empty() ? 0 : bias[low.channel(pos, j)];
            for (int64_t i = 0; i < low.k(); ++i) acc += int64_t{q[i]} * x[i];
            y.at(low.output_index(pos, j)) = acc;
        }
    }
    return y;
}

// The trace's safetensors files, opened again.
std::vector<std::unique_ptr<SafetensorsFile>> open_files(const Trace& trace) {
    std::vector<std::unique_ptr<SafetensorsFile>> files;
    for (const std::string& path : trace.tensor_files())
        files.push_back(std::make_unique<SafetensorsFile>(path));
    return files;
}

uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// The trace holds exactly the written tensors, each with its dtype, shape and values.
void check_tensors(const Trace& trace, const std::vector<Written>& written) {
    const auto files = open_files(trace);
    std::size_t total = 0;
    for (const auto& f : files) total += f->tensors().size();
    CHECK(total == written.size());
    for (const Written& w : written) {
        INFO("tensor " << w.blob.name);
        const TensorInfo* t = nullptr;
        for (const auto& f : files)
            if (!t) t = f->find(w.blob.name);
        REQUIRE(t != nullptr);
        CHECK(t->dtype == w.blob.dtype);
        CHECK(t->shape == w.blob.shape);
        if (w.blob.dtype == DType::F32) {
            REQUIRE(t->numel == static_cast<int64_t>(w.floats.size()));
            for (int64_t i = 0; i < t->numel; ++i)
                CHECK(f32_bits(read_f32(*t, i)) == f32_bits(w.floats[i]));
        } else {
            REQUIRE(t->numel == static_cast<int64_t>(w.ints.size()));
            for (int64_t i = 0; i < t->numel; ++i) CHECK(read_int(*t, i) == w.ints[i]);
        }
    }
}

json operand(const std::string& tensor, int bits, bool is_signed) {
    return {{"tensor", tensor}, {"bits", bits}, {"signed", is_signed}};
}

// Three layers covering the format: linear on a 3-D input, a grouped, padded, dilated conv2d,
// a broadcasting matmul; biases of 40, 32 (default) and 16 bits; inline and F32 scales.
// Outputs are filled in by `add_outputs`.
struct CppTrace {
    json manifest;
    std::vector<Written> tensors;
};

CppTrace cpp_trace() {
    CppTrace t;
    json lin = {{"name", "lin3d"},
                {"op", "linear"},
                {"input", operand("lin3d.input", 5, true)},
                {"weight", operand("lin3d.weight", 7, false)},
                {"bias", {{"tensor", "lin3d.bias"}, {"bits", 40}}},
                {"meta", {{"note", "3-D input"}}}};
    lin["input"]["zero_point"] = -3;
    lin["input"]["scale"] = 0.05;
    lin["weight"]["scale"] = "lin3d.weight_scale";
    t.tensors.push_back(ints("lin3d.input", DType::I8, {2, 3, 6}, codes(36, -16, 15)));
    t.tensors.push_back(ints("lin3d.weight", DType::U8, {4, 6}, codes(24, 0, 127)));
    t.tensors.push_back(floats("lin3d.weight_scale", {4}, {0.5f, 0.25f, 0.125f, 3.0e-5f}));
    t.tensors.push_back(ints("lin3d.bias", DType::I64, {4},
                             {-(int64_t{1} << 39), (int64_t{1} << 39) - 1, 0, 12345}));

    json conv = {
        {"name", "conv"},
        {"op", "conv2d"},
        {"input", operand("conv.input", 12, false)},
        {"weight", operand("conv.weight", 10, true)},
        {"bias", {{"tensor", "conv.bias"}}},
        {"conv2d",
         {{"stride", {2, 1}}, {"padding", {1, 0, 2, 1}}, {"dilation", {2, 1}}, {"groups", 2}}}};
    conv["input"]["zero_point"] = 100;
    conv["input"]["scale"] = "conv.input_scale";
    conv["weight"]["scale"] = "conv.weight_scale";
    t.tensors.push_back(ints("conv.input", DType::U16, {2, 4, 6, 5}, codes(240, 0, 4095)));
    t.tensors.push_back(ints("conv.weight", DType::I16, {6, 2, 3, 3}, codes(108, -512, 511)));
    t.tensors.push_back(floats("conv.input_scale", {1}, {0.0039f}));
    t.tensors.push_back(
        floats("conv.weight_scale", {6}, {1e-3f, 2e-3f, 3e-3f, 4e-3f, 5e-3f, 6e-3f}));
    t.tensors.push_back(ints("conv.bias", DType::I32, {6}, {-1000000, 1000000, 0, 1, -1, 77}));

    json mm = {{"name", "attn"},
               {"op", "matmul"},
               {"lhs", operand("attn.lhs", 16, true)},
               {"rhs", operand("attn.rhs", 1, true)},
               {"bias", {{"tensor", "attn.bias"}, {"bits", 16}}}};
    mm["lhs"]["scale"] = 0.125;
    mm["rhs"]["scale"] = "attn.rhs_scale";
    t.tensors.push_back(ints("attn.lhs", DType::I32, {2, 1, 3, 4}, codes(24, -32768, 32767)));
    t.tensors.push_back(ints("attn.rhs", DType::I8, {3, 4, 2}, codes(24, -1, 0)));
    t.tensors.push_back(floats("attn.rhs_scale", {2}, {0.5f, 0.75f}));
    t.tensors.push_back(ints("attn.bias", DType::I16, {2}, {-32768, 32767}));

    t.manifest = {{"format", "accsim-trace"},
                  {"version", 1},
                  {"model", "cpp-roundtrip"},
                  {"source", "test_trace_roundtrip.cpp: synthetic codes"},
                  {"tensors", "tensors.safetensors"},
                  {"layers", {lin, conv, mm}},
                  {"meta", {{"writer", "C++"}, {"seed", 1}}}};
    return t;
}

// Records each layer's outputs (dot products plus bias, through LoweredLayer): I64 for linear
// and matmul, I32 for conv2d.
void add_outputs(CppTrace& t, const std::string& scratch) {
    write_trace(scratch, t.manifest, blobs_of(t.tensors));
    const Trace plain = Trace::load(scratch);
    for (const LayerSpec& layer : plain.layers()) {
        const std::string name = layer.name + ".output";
        const DType dtype = layer.op == LayerOp::conv2d ? DType::I32 : DType::I64;
        t.tensors.push_back(ints(name, dtype, layer.shape.output_shape, lowered_outputs(layer)));
        t.manifest["layers"][layer.index]["output"] = {{"tensor", name}};
    }
}

void check_operand(const OperandSpec& op, const std::string& tensor, int bits, bool is_signed,
                   int64_t zero_point) {
    INFO("operand " << op.role << " " << tensor);
    CHECK(op.tensor.name == tensor);
    CHECK(op.format.bits == bits);
    CHECK(op.format.is_signed == is_signed);
    CHECK(op.zero_point == zero_point);
    CHECK(op.min_value == op.format.min());  // the written codes reach both ends of the range
    CHECK(op.max_value == op.format.max());
}

}  // namespace

TEST_CASE(
    "a trace written in C++ and copied by Python's writer reads back with every field and value "
    "unchanged") {
    CppTrace written = cpp_trace();
    add_outputs(written, scratch_trace("cpp_plain.trace"));
    const std::string a = scratch_trace("cpp_a.trace"), b = scratch_trace("cpp_b.trace");
    write_trace(a, written.manifest, blobs_of(written.tensors));

    std::string out;
    REQUIRE(accsim_trace_py({"copy", a, b}, &out) == 0);
    INFO("accsim_trace.py said: " << out);
    const Trace trace = Trace::load(b);

    CHECK(trace.model() == "cpp-roundtrip");
    CHECK(trace.source() == "test_trace_roundtrip.cpp: synthetic codes");
    CHECK(trace.manifest() == Trace::load(a).manifest());
    REQUIRE(trace.layers().size() == 3);

    const LayerSpec& lin = trace.layers()[0];
    CHECK(lin.name == "lin3d");
    CHECK(lin.op == LayerOp::linear);
    check_operand(lin.x, "lin3d.input", 5, true, -3);
    check_operand(lin.q, "lin3d.weight", 7, false, 0);
    CHECK(lin.x.scale == 0.05);
    CHECK(!lin.x.scale_tensor);
    REQUIRE(lin.q.scale_tensor);
    CHECK(lin.q.scale_tensor->name == "lin3d.weight_scale");
    REQUIRE(lin.bias);
    CHECK(lin.bias->tensor.name == "lin3d.bias");
    CHECK(lin.bias->bits == 40);
    CHECK(lin.bias->min_value == -(int64_t{1} << 39));
    REQUIRE(lin.output);
    CHECK(lin.output->name == "lin3d.output");
    CHECK(lin.shape.k == 6);
    CHECK(lin.shape.rows == 6);
    CHECK(lin.shape.output_shape == std::vector<int64_t>{2, 3, 4});

    const LayerSpec& conv = trace.layers()[1];
    CHECK(conv.name == "conv");
    CHECK(conv.op == LayerOp::conv2d);
    check_operand(conv.x, "conv.input", 12, false, 100);
    check_operand(conv.q, "conv.weight", 10, true, 0);
    REQUIRE(conv.x.scale_tensor);
    CHECK(conv.x.scale_tensor->name == "conv.input_scale");
    REQUIRE(conv.q.scale_tensor);
    CHECK(conv.q.scale_tensor->name == "conv.weight_scale");
    REQUIRE(conv.bias);
    CHECK(conv.bias->bits == 32);  // the default
    CHECK(conv.conv.stride_h == 2);
    CHECK(conv.conv.stride_w == 1);
    CHECK(conv.conv.pad_top == 1);
    CHECK(conv.conv.pad_left == 0);
    CHECK(conv.conv.pad_bottom == 2);
    CHECK(conv.conv.pad_right == 1);
    CHECK(conv.conv.dilation_h == 2);
    CHECK(conv.conv.dilation_w == 1);
    CHECK(conv.conv.groups == 2);
    CHECK(conv.shape.k == 18);
    CHECK(conv.shape.output_shape == std::vector<int64_t>{2, 6, 3, 4});
    REQUIRE(conv.output);

    const LayerSpec& mm = trace.layers()[2];
    CHECK(mm.name == "attn");
    CHECK(mm.op == LayerOp::matmul);
    check_operand(mm.x, "attn.lhs", 16, true, 0);
    check_operand(mm.q, "attn.rhs", 1, true, 0);
    CHECK(mm.x.scale == 0.125);
    REQUIRE(mm.q.scale_tensor);
    CHECK(mm.q.scale_tensor->name == "attn.rhs_scale");
    REQUIRE(mm.bias);
    CHECK(mm.bias->bits == 16);
    CHECK(mm.shape.batch_shape == std::vector<int64_t>{2, 3});
    CHECK(mm.shape.output_shape == std::vector<int64_t>{2, 3, 3, 2});
    REQUIRE(mm.output);

    check_tensors(trace, written.tensors);
    CHECK(accsim_trace_py({"compare", a, b}, &out) == 0);
    CHECK(accsim_trace_py({"check", a}, &out) ==
          0);  // Python's reference agrees with the lowered outputs
}

TEST_CASE("Python's compare tells a C++ trace from one with a single changed weight") {
    CppTrace written = cpp_trace();
    const std::string a = scratch_trace("cmp_a.trace"), d = scratch_trace("cmp_d.trace");
    write_trace(a, written.manifest, blobs_of(written.tensors));
    for (Written& t : written.tensors)
        if (t.blob.name == "conv.weight") {
            t.ints[5] = t.ints[5] == 0 ? 1 : 0;
            t.blob = make_int_blob(t.blob.name, t.blob.dtype, t.blob.shape, t.ints);
        }
    write_trace(d, written.manifest, blobs_of(written.tensors));
    std::string out;
    CHECK(accsim_trace_py({"compare", a, d}, &out) == 1);
    CHECK(out.find("conv.weight") != std::string::npos);
}

TEST_CASE("Python's selftest trace loads in C++, and C++ writes it back equal and valid") {
    const std::string p = scratch_trace("py_selftest.trace"),
                      c = scratch_trace("py_rewritten.trace");
    std::string out;
    REQUIRE(accsim_trace_py({"selftest-write", p}, &out) == 0);
    INFO("accsim_trace.py said: " << out);

    std::unique_ptr<Trace> trace;
    try {
        trace = std::make_unique<Trace>(Trace::load(p));
    } catch (const InputError& e) {
        FAIL("the selftest trace does not validate: " << e.what());
    }
    CHECK(trace->model() == "accsim-selftest");
    CHECK(trace->layers().size() == 9);

    // Every tensor read element by element into a blob of the same dtype and shape.
    std::vector<TensorBlob> blobs;
    for (const auto& file : open_files(*trace))
        for (const auto& [name, info] : file->tensors()) {
            if (info.dtype == DType::F32) {
                std::vector<float> v;
                for (int64_t i = 0; i < info.numel; ++i) v.push_back(read_f32(info, i));
                blobs.push_back(make_f32_blob(name, info.shape, v));
            } else {
                REQUIRE(is_wide_integer_dtype(info.dtype));
                std::vector<int64_t> v;
                for (int64_t i = 0; i < info.numel; ++i) v.push_back(read_int(info, i));
                blobs.push_back(make_int_blob(name, info.dtype, info.shape, v));
            }
        }
    CHECK(blobs.size() == 40);
    write_trace(c, trace->manifest(), blobs);

    CHECK(accsim_trace_py({"compare", p, c}, &out) == 0);
    CHECK(accsim_trace_py({"check", c}, &out) == 0);
    CHECK_NOTHROW(Trace::load(c));
}

TEST_CASE("every bundled example trace validates, in C++ and in Python") {
    const fs::path examples = fs::path(ACCSIM_SOURCE_DIR) / "traces" / "examples";
    int found = 0;
    for (const auto& entry : fs::directory_iterator(examples)) {
        if (!fs::exists(entry.path() / "manifest.json")) continue;
        ++found;
        const std::string dir = entry.path().string();
        INFO("example " << dir);
        try {
            const Trace trace = Trace::load(dir);
            CHECK(!trace.layers().empty());
        } catch (const InputError& e) {
            FAIL_CHECK("does not validate: " << e.what());
        }
        std::string out;
        CHECK(accsim_trace_py({"check", dir}, &out) == 0);
    }
    CHECK(found >= 2);
}
