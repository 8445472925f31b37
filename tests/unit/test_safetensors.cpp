// The safetensors container: what write_safetensors writes, SafetensorsFile reads back bit for
// bit (every dtype a trace may use, their extreme values, scalars and zero-size tensors, the
// header padded to 8 bytes); and every malformed file, written here byte by byte, is an
// InputError naming the file, the part at fault and what is wrong.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datapath/input_error.h"
#include "traces/safetensors.h"

using namespace accsim;

namespace {

namespace fs = std::filesystem;

// A path in this file's scratch directory (created on first use).
std::string scratch_file(const std::string& name) {
    const fs::path dir = fs::path(ACCSIM_TEST_TMP) / "safetensors";
    fs::create_directories(dir);
    return (dir / name).string();
}

std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The 8-byte little-endian header length.
std::string le64(uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
    return s;
}

// A file with the given JSON header (its true length in front) and `data` after it.
std::string file_with_header(const std::string& header, const std::string& data = "") {
    return le64(header.size()) + header + data;
}

uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// Writes `bytes` as a file named `name`, opens it, and returns the InputError it must raise
// (a default one, failing the CHECK, if it raises none).
InputError open_error(const std::string& name, const std::string& bytes) {
    const std::string path = scratch_file(name);
    write_bytes(path, bytes);
    try {
        SafetensorsFile file(path);
    } catch (const InputError& e) {
        return e;
    }
    FAIL_CHECK("opening " << name << " raised no InputError");
    return InputError("", "", "");
}

// The error names the file, the part at fault (`field`: "header" or the tensor) and the
// problem (`problem` is a substring of it).
void check_error(const std::string& name, const std::string& bytes, const std::string& field,
                 const std::string& problem) {
    INFO("malformed file " << name);
    const InputError e = open_error(name, bytes);
    CHECK(e.file() == scratch_file(name));
    CHECK(e.field() == field);
    INFO("problem: " << e.problem());
    CHECK(e.problem().find(problem) != std::string::npos);
}

// A single-tensor header: {"t": {"dtype": ..., "shape": ..., "data_offsets": ...}}, each part
// spelt as raw JSON text so that malformed values can be written.
std::string tensor_header(const std::string& dtype, const std::string& shape,
                          const std::string& offsets) {
    return R"({"t":{"dtype":)" + dtype + R"(,"shape":)" + shape + R"(,"data_offsets":)" + offsets +
           "}}";
}

}  // namespace

TEST_CASE("every allowed dtype round-trips its extreme values through write_safetensors") {
    constexpr int64_t i64_min = std::numeric_limits<int64_t>::min(),
                      i64_max = std::numeric_limits<int64_t>::max();
    struct IntCase {
        TensorBlob blob;
        std::vector<int64_t> values;
    };
    std::vector<IntCase> ints;
    auto add = [&](const char* name, DType d, std::vector<int64_t> shape,
                   std::vector<int64_t> values) {
        ints.push_back({make_int_blob(name, d, std::move(shape), values), values});
    };
    add("i8", DType::I8, {2, 2}, {-128, 127, 0, -1});
    add("u8", DType::U8, {4}, {0, 255, 1, 128});
    add("i16", DType::I16, {1, 4}, {-32768, 32767, -1, 256});
    add("u16", DType::U16, {2, 1, 2}, {0, 65535, 32768, 255});
    add("i32", DType::I32, {4}, {INT32_MIN, INT32_MAX, -1, 65536});
    add("i64", DType::I64, {2, 2}, {i64_min, i64_max, -1, int64_t{1} << 40});
    add("scalar", DType::I32, {}, {-7});
    add("empty", DType::I16, {0}, {});
    add("empty_2d", DType::U8, {3, 0}, {});
    const std::vector<float> floats = {1.5f,
                                       -2.25f,
                                       0.0f,
                                       -0.0f,
                                       std::numeric_limits<float>::max(),
                                       std::numeric_limits<float>::min(),
                                       std::numeric_limits<float>::denorm_min(),
                                       std::numeric_limits<float>::infinity(),
                                       std::numeric_limits<float>::quiet_NaN()};

    std::vector<TensorBlob> blobs;
    for (const auto& [blob, values] : ints) blobs.push_back(blob);
    blobs.push_back(make_f32_blob("f32", {3, 3}, floats));
    blobs.push_back(make_f32_blob("f32_scalar", {}, {0.0625f}));
    const std::string path = scratch_file("all_dtypes.safetensors");
    write_safetensors(path, blobs);

    const SafetensorsFile file(path);
    CHECK(file.path() == path);
    CHECK(file.tensors().size() == blobs.size());
    CHECK(file.find("missing") == nullptr);
    for (const auto& [blob, values] : ints) {
        INFO("tensor " << blob.name);
        const TensorInfo* t = file.find(blob.name);
        REQUIRE(t != nullptr);
        CHECK(t->name == blob.name);
        CHECK(t->dtype == blob.dtype);
        CHECK(t->shape == blob.shape);
        CHECK(t->numel == static_cast<int64_t>(values.size()));
        for (int64_t i = 0; i < t->numel; ++i) CHECK(read_int(*t, i) == values[i]);
    }
    const TensorInfo* f = file.find("f32");
    REQUIRE(f != nullptr);
    CHECK(f->dtype == DType::F32);
    CHECK(f->shape == std::vector<int64_t>{3, 3});
    for (int64_t i = 0; i < 9; ++i)
        CHECK(f32_bits(read_f32(*f, i)) == f32_bits(floats[i]));  // NaN and -0 too
    const TensorInfo* s = file.find("f32_scalar");
    REQUIRE(s != nullptr);
    CHECK(s->shape.empty());
    CHECK(s->numel == 1);
    CHECK(read_f32(*s, 0) == 0.0625f);
    CHECK(file.find("scalar")->numel == 1);
    CHECK(file.find("empty_2d")->numel == 0);
}

TEST_CASE("make_int_blob encodes little-endian two's complement in the dtype's width") {
    CHECK(make_int_blob("a", DType::I16, {2}, {-2, 258}).bytes ==
          std::vector<uint8_t>{0xFE, 0xFF, 0x02, 0x01});
    CHECK(make_int_blob("b", DType::U8, {2}, {255, 7}).bytes == std::vector<uint8_t>{0xFF, 0x07});
    CHECK(make_int_blob("c", DType::I32, {1}, {INT32_MIN}).bytes ==
          std::vector<uint8_t>{0, 0, 0, 0x80});
    CHECK(make_int_blob("d", DType::I64, {1}, {-1}).bytes == std::vector<uint8_t>(8, 0xFF));
    CHECK(make_f32_blob("e", {1}, {1.0f}).bytes == std::vector<uint8_t>{0, 0, 0x80, 0x3F});
}

TEST_CASE(
    "the written header is padded with spaces to a multiple of 8 bytes and the data follows it") {
    // Names of 1..16 characters give every padding length 0..7 at least once.
    for (int len = 1; len <= 16; ++len) {
        const std::string name(static_cast<std::size_t>(len), 'n');
        INFO("tensor name of " << len << " characters");
        const std::string path = scratch_file("pad" + std::to_string(len) + ".safetensors");
        write_safetensors(path, {make_int_blob(name, DType::I16, {3}, {1, -2, 3}),
                                 make_int_blob("b", DType::U8, {1}, {9})});
        const std::vector<uint8_t> bytes = file_bytes(path);
        REQUIRE(bytes.size() >= 8);
        uint64_t n = 0;
        std::memcpy(&n, bytes.data(), 8);
        CHECK(n % 8 == 0);
        REQUIRE(bytes.size() == 8 + n + 7);  // 3 x I16 + 1 x U8
        const std::string header(bytes.begin() + 8,
                                 bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
        const std::size_t end = header.find_last_not_of(' ');
        CHECK(header[end] == '}');
        CHECK(n - (end + 1) < 8);  // at most 7 spaces of padding
        const nlohmann::json j = nlohmann::json::parse(header);
        CHECK(j[name]["data_offsets"] == nlohmann::json{0, 6});
        CHECK(j["b"]["data_offsets"] == nlohmann::json{6, 7});
        CHECK(bytes[8 + n + 2] == 0xFE);  // -2 as I16, at its offset after the header
        CHECK(bytes[8 + n + 6] == 9);
        const SafetensorsFile file(path);
        CHECK(read_int(*file.find(name), 1) == -2);
    }
}

TEST_CASE("a file with no tensors, and one with __metadata__, are read") {
    const std::string empty = scratch_file("no_tensors.safetensors");
    write_safetensors(empty, {});
    CHECK(file_bytes(empty).size() % 8 == 0);
    CHECK(SafetensorsFile(empty).tensors().empty());

    const std::string path = scratch_file("metadata.safetensors");
    write_bytes(
        path,
        file_with_header(
            R"({"__metadata__":{"k":"v"},"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
            "\x05\x06"));
    const SafetensorsFile file(path);
    CHECK(file.tensors().size() == 1);
    CHECK(file.find("__metadata__") == nullptr);
    CHECK(read_int(*file.find("t"), 1) == 6);
}

TEST_CASE("a file shorter than the 8-byte header length is an error") {
    check_error("empty.safetensors", "", "header",
                "file is 0 bytes, too short for the 8-byte header length");
    check_error("seven.safetensors", std::string(7, '\0'), "header", "file is 7 bytes, too short");
}

TEST_CASE("a header length that runs past the end of the file is an error") {
    check_error(
        "long_header.safetensors", le64(100) + "{}", "header",
        "header length 100 runs past the end of the file (2 bytes follow the length field)");
    check_error("huge_header.safetensors", le64(~uint64_t{0}) + "{}", "header",
                "runs past the end of the file");
}

TEST_CASE("a header that is not valid JSON is an error") {
    check_error("bad_json.safetensors", file_with_header(R"({"t": )"), "header", "invalid JSON");
    check_error("zero_header.safetensors", le64(0), "header", "invalid JSON");
    check_error("bad_utf8.safetensors", file_with_header("{\"\xff\":1}"), "header", "invalid JSON");
}

TEST_CASE("a header that is not a JSON object is an error") {
    check_error("array_header.safetensors", file_with_header("[1, 2]"), "header",
                "expected a JSON object");
    check_error("string_header.safetensors", file_with_header("\"t\""), "header",
                "expected a JSON object");
}

TEST_CASE("a tensor entry that is not an object with dtype, shape and data_offsets is an error") {
    check_error("entry_number.safetensors", file_with_header(R"({"t":5})"), "t",
                "expected an object with exactly dtype, shape and data_offsets");
    check_error("entry_no_shape.safetensors",
                file_with_header(R"({"t":{"dtype":"U8","data_offsets":[0,0]}})"), "t",
                "expected an object with exactly dtype, shape and data_offsets");
    check_error("entry_extra_key.safetensors",
                file_with_header(
                    R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"order":"F"}})", "x"),
                "t", "expected an object with exactly dtype, shape and data_offsets");
}

TEST_CASE(
    "a dtype safetensors knows but traces do not use is an error even in a tensor no layer uses") {
    for (const char* dt : {"BOOL", "U32", "U64"}) {
        INFO(dt);
        check_error(std::string("dtype_") + dt + ".safetensors",
                    file_with_header(tensor_header(std::string("\"") + dt + "\"", "[0]", "[0,0]")),
                    "t",
                    std::string("dtype ") + dt +
                        " is not allowed in a trace (allowed: I8, U8, I16, U16, I32, I64, F8_E4M3, "
                        "F8_E5M2, F16, BF16, F32, F64)");
    }
}

TEST_CASE(
    "overlapping tensor data, a tensor named twice, an empty name and bad metadata are errors") {
    check_error("overlap.safetensors",
                file_with_header(R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                                 R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                                 "wxyz"),
                "header", "tensor data overlap at bytes [2, 3)");
    check_error("duplicate.safetensors",
                file_with_header(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                 R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                 "xy"),
                "a", "the header names this tensor twice");
    check_error("empty_name.safetensors",
                file_with_header(R"({"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "x"),
                "header", "a tensor with an empty name");
    check_error("metadata_number.safetensors", file_with_header(R"({"__metadata__":{"k":1}})"),
                "__metadata__", "expected an object of strings");
    // Zero-size tensors take no bytes and overlap nothing.
    write_bytes(scratch_file("zero_size.safetensors"),
                file_with_header(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},)"
                                 R"("b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                                 "x"));
    CHECK(SafetensorsFile(scratch_file("zero_size.safetensors")).tensors().size() == 2);
}

TEST_CASE("make_int_blob refuses a value its dtype cannot hold") {
    CHECK_THROWS_AS(make_int_blob("x", DType::I8, {1}, {128}), std::logic_error);
    CHECK_THROWS_AS(make_int_blob("x", DType::U8, {1}, {-1}), std::logic_error);
    CHECK_THROWS_AS(make_int_blob("x", DType::U16, {1}, {65536}), std::logic_error);
    CHECK_NOTHROW(make_int_blob("x", DType::I16, {2}, {-32768, 32767}));
}

TEST_CASE("an unknown dtype is an error naming it") {
    check_error("dtype_q7.safetensors",
                file_with_header(tensor_header("\"Q7\"", "[1]", "[0,1]"), "x"), "t",
                "unknown dtype \"Q7\"");
    check_error("dtype_lower.safetensors",
                file_with_header(tensor_header("\"i8\"", "[1]", "[0,1]"), "x"), "t",
                "unknown dtype \"i8\"");
    check_error("dtype_number.safetensors",
                file_with_header(tensor_header("8", "[1]", "[0,1]"), "x"), "t",
                "dtype: expected a string");
}

TEST_CASE("a negative, fractional, non-list or huge shape is an error") {
    check_error("shape_negative.safetensors",
                file_with_header(tensor_header("\"U8\"", "[2,-1]", "[0,0]")), "t",
                "shape: expected non-negative integers, got [2,-1]");
    check_error("shape_fraction.safetensors",
                file_with_header(tensor_header("\"U8\"", "[2.5]", "[0,2]"), "xx"), "t",
                "shape: expected non-negative integers");
    check_error("shape_not_list.safetensors",
                file_with_header(tensor_header("\"U8\"", "4", "[0,4]"), "xxxx"), "t",
                "shape: expected a list of integers");
    check_error("shape_huge.safetensors",
                file_with_header(tensor_header("\"U8\"", "[16777216,16777216,16777216]", "[0,0]")),
                "t", "is too large");
}

TEST_CASE("data_offsets that are not two unsigned integers are an error") {
    for (const char* offsets :
         {"[0]", "[0,1,2]", "[-1,1]", "[0,-1]", "[0.0,1.0]", "[\"0\",\"1\"]", "{}", "1"}) {
        INFO("data_offsets " << offsets);
        check_error("offsets_form.safetensors",
                    file_with_header(tensor_header("\"U8\"", "[1]", offsets), "x"), "t",
                    std::string("data_offsets: expected [begin, end], got "));
    }
}

TEST_CASE("data_offsets with begin > end are an error") {
    check_error("offsets_reversed.safetensors",
                file_with_header(tensor_header("\"U8\"", "[0]", "[4,2]"), "xxxx"), "t",
                "data_offsets: begin 4 > end 2");
}

TEST_CASE("data_offsets beyond the data (a truncated file) are an error") {
    check_error("truncated.safetensors",
                file_with_header(tensor_header("\"I32\"", "[2]", "[0,8]"), "abcd"), "t",
                "data_offsets [0, 8] run past the end of the data (4 bytes; truncated file?)");
    // A correct file cut short by one byte.
    const std::string path = scratch_file("whole.safetensors");
    write_safetensors(path, {make_int_blob("w", DType::I64, {2}, {1, 2})});
    const std::vector<uint8_t> whole = file_bytes(path);
    check_error("cut.safetensors", std::string(whole.begin(), whole.end() - 1), "w",
                "run past the end of the data");
}

TEST_CASE("a data span that does not match the shape times the dtype size is an error") {
    check_error("span_short.safetensors",
                file_with_header(tensor_header("\"I32\"", "[2]", "[0,4]"), "abcdefgh"), "t",
                "data_offsets span 4 bytes, but I32 [2] needs 8");
    check_error("span_long.safetensors",
                file_with_header(tensor_header("\"I16\"", "[]", "[0,4]"), "abcd"), "t",
                "data_offsets span 4 bytes, but I16 [] needs 2");
    check_error("span_zero_size.safetensors",
                file_with_header(tensor_header("\"F32\"", "[0,3]", "[0,4]"), "abcd"), "t",
                "data_offsets span 4 bytes, but F32 [0,3] needs 0");
}

TEST_CASE("a missing file is an error naming it") {
    const std::string path = scratch_file("does_not_exist.safetensors");
    fs::remove(path);
    try {
        SafetensorsFile file(path);
        FAIL_CHECK("opening a missing file raised no InputError");
    } catch (const InputError& e) {
        CHECK(e.file() == path);
        CHECK(e.field() == "file");
        CHECK(e.problem().find("cannot open") != std::string::npos);
    }
}
