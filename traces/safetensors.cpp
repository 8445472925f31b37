#include "safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "datapath/input_error.h"
#include "datapath/wide_int.h"
#include "json_cursor.h"

namespace accsim {
namespace {

// safetensors' own limit on the header size; anything larger is a corrupt length field.
constexpr uint64_t k_max_header = 100ull << 20;

template <typename T>
T load_le(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);  // x86 and ARM are little-endian, as the format is
    return v;
}

}  // namespace

SafetensorsFile::SafetensorsFile(std::string path) : m_path(std::move(path)) {
    m_file = std::make_unique<MappedFile>(m_path);
    const uint8_t* base = m_file->data();
    const uint64_t size = m_file->size();
    auto fail = [&](const std::string& field, const std::string& what) {
        throw InputError(m_path, field, what);
    };
    if (size < 8)
        fail("header", "file is " + std::to_string(size) +
                           " bytes, too short for the 8-byte header length (truncated?)");
    const uint64_t n = load_le<uint64_t>(base);
    if (n > size - 8)
        fail("header", "header length " + std::to_string(n) + " runs past the end of the file (" +
                           std::to_string(size - 8) + " bytes follow the length field)");
    if (n > k_max_header)
        fail("header", "header length " + std::to_string(n) + " is implausibly large");
    nlohmann::json header;
    try {
        header = parse_json_document(reinterpret_cast<const char*>(base + 8),
                                     reinterpret_cast<const char*>(base + 8 + n), m_path);
    } catch (const InputError& e) {
        // A tensor named twice is reported under its name; anything else under "header".
        const std::string dup = "duplicate key \"";
        if (e.field() == "/" && e.problem().rfind(dup, 0) == 0)
            fail(e.problem().substr(dup.size(), e.problem().size() - dup.size() - 1),
                 "the header names this tensor twice");
        fail("header", e.problem());
    }
    if (!header.is_object()) fail("header", "expected a JSON object");
    std::vector<std::pair<uint64_t, uint64_t>>
        spans;  // [begin, end) of every tensor, to find overlaps
    const uint8_t* data = base + 8 + n;
    const uint64_t data_size = size - 8 - n;

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const nlohmann::json& e = it.value();
        if (name == "__metadata__") {
            bool strings = e.is_object();
            for (const auto& v : e) strings = strings && v.is_string();
            if (!strings) fail(name, "expected an object of strings");
            continue;
        }
        if (name.empty()) fail("header", "a tensor with an empty name");
        if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") ||
            !e.contains("data_offsets") || e.size() != 3)
            fail(name,
                 "expected an object with exactly dtype, shape and data_offsets, got " + brief(e));
        if (!e["dtype"].is_string()) fail(name, "dtype: expected a string");
        const auto dt = parse_dtype(e["dtype"].get<std::string>());
        if (!dt) fail(name, "unknown dtype \"" + e["dtype"].get<std::string>() + "\"");
        if (!is_trace_dtype(*dt))
            fail(name, std::string("dtype ") + to_string(*dt) +
                           " is not allowed in a trace (allowed: I8, U8, I16, U16, I32, I64, "
                           "F8_E4M3, F8_E5M2, "
                           "F16, BF16, F32, F64)");
        TensorInfo t;
        t.name = name;
        t.dtype = *dt;
        if (!e["shape"].is_array()) fail(name, "shape: expected a list of integers");
        i128 numel = 1;
        for (const auto& d : e["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0)
                fail(name, "shape: expected non-negative integers, got " + brief(e["shape"]));
            if (d.get<int64_t>() > (int64_t{1} << 40))
                fail(name,
                     "shape: dimension " + std::to_string(d.get<int64_t>()) + " is too large");
            t.shape.push_back(d.get<int64_t>());
            numel *= d.get<int64_t>();
            if (numel > (i128{1} << 48))
                fail(name, "shape: " + brief(e["shape"]) + " is too large");
        }
        t.numel = static_cast<int64_t>(numel);
        const auto& off = e["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
            !off[1].is_number_unsigned())
            fail(name, "data_offsets: expected [begin, end], got " + brief(off));
        const uint64_t b = off[0].get<uint64_t>();
        const uint64_t en = off[1].get<uint64_t>();
        if (b > en)
            fail(name, "data_offsets: begin " + std::to_string(b) + " > end " + std::to_string(en));
        if (en > data_size)
            fail(name, "data_offsets [" + std::to_string(b) + ", " + std::to_string(en) +
                           "] run past the end of the data (" + std::to_string(data_size) +
                           " bytes; truncated file?)");
        const uint64_t want = static_cast<uint64_t>(t.numel) * dtype_size(t.dtype);
        if (en - b != want)
            fail(name, "data_offsets span " + std::to_string(en - b) + " bytes, but " +
                           to_string(t.dtype) + " " + brief(e["shape"]) + " needs " +
                           std::to_string(want));
        t.data = data + b;
        if (en > b) spans.emplace_back(b, en);
        m_tensors.emplace(name, std::move(t));
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
        if (spans[i].first < spans[i - 1].second)
            fail("header",
                 "tensor data overlap at bytes [" + std::to_string(spans[i].first) + ", " +
                     std::to_string(std::min(spans[i].second, spans[i - 1].second)) + ")");
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    const auto it = m_tensors.find(name);
    return it == m_tensors.end() ? nullptr : &it->second;
}

int64_t read_int(const TensorInfo& t, int64_t i) {
    const uint8_t* p = t.data + i * dtype_size(t.dtype);
    switch (t.dtype) {
        case DType::I8:
            return load_le<int8_t>(p);
        case DType::U8:
            return load_le<uint8_t>(p);
        case DType::I16:
            return load_le<int16_t>(p);
        case DType::U16:
            return load_le<uint16_t>(p);
        case DType::I32:
            return load_le<int32_t>(p);
        case DType::U32:
            return load_le<uint32_t>(p);
        case DType::I64:
            return load_le<int64_t>(p);
        default:
            throw std::logic_error("read_int on a non-integer tensor " + t.name);
    }
}

namespace {

template <typename T, typename Out>
void copy_le(const uint8_t* p, int64_t n, Out* out) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(load_le<T>(p + i * sizeof(T)));
}

}  // namespace

template <typename T>
std::pair<int64_t, int64_t> range_le(const uint8_t* p, int64_t n) {
    T lo = load_le<T>(p), hi = lo;
    for (int64_t i = 1; i < n; ++i) {
        const T v = load_le<T>(p + i * sizeof(T));
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    return {static_cast<int64_t>(lo), static_cast<int64_t>(hi)};
}

std::pair<int64_t, int64_t> int_range(const TensorInfo& t) {
    switch (t.dtype) {
        case DType::I8:
            return range_le<int8_t>(t.data, t.numel);
        case DType::U8:
            return range_le<uint8_t>(t.data, t.numel);
        case DType::I16:
            return range_le<int16_t>(t.data, t.numel);
        case DType::U16:
            return range_le<uint16_t>(t.data, t.numel);
        case DType::I32:
            return range_le<int32_t>(t.data, t.numel);
        case DType::U32:
            return range_le<uint32_t>(t.data, t.numel);
        case DType::I64:
            return range_le<int64_t>(t.data, t.numel);
        default:
            throw std::logic_error("int_range on a non-integer tensor " + t.name);
    }
}

template <typename Out>
void read_ints(const TensorInfo& t, Out* out) {
    switch (t.dtype) {
        case DType::I8:
            return copy_le<int8_t>(t.data, t.numel, out);
        case DType::U8:
            return copy_le<uint8_t>(t.data, t.numel, out);
        case DType::I16:
            return copy_le<int16_t>(t.data, t.numel, out);
        case DType::U16:
            return copy_le<uint16_t>(t.data, t.numel, out);
        case DType::I32:
            return copy_le<int32_t>(t.data, t.numel, out);
        case DType::U32:
            return copy_le<uint32_t>(t.data, t.numel, out);
        case DType::I64:
            return copy_le<int64_t>(t.data, t.numel, out);
        default:
            throw std::logic_error("read_ints on a non-integer tensor " + t.name);
    }
}
template void read_ints<int32_t>(const TensorInfo&, int32_t*);
template void read_ints<int64_t>(const TensorInfo&, int64_t*);

float read_f32(const TensorInfo& t, int64_t i) {
    if (t.dtype != DType::F32) throw std::logic_error("read_f32 on a non-F32 tensor " + t.name);
    return load_le<float>(t.data + i * 4);
}

void write_safetensors(const std::string& path, const std::vector<TensorBlob>& tensors) {
    nlohmann::json header = nlohmann::json::object();
    uint64_t offset = 0;
    for (const TensorBlob& t : tensors) {
        header[t.name] = {{"dtype", to_string(t.dtype)},
                          {"shape", t.shape},
                          {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string h = header.dump();
    while (h.size() % 8) h.push_back(' ');
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) throw InputError(path, "file", "cannot open for writing");
    const uint64_t n = h.size();
    uint8_t len[8];
    std::memcpy(len, &n, 8);
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const TensorBlob& t : tensors)
        f.write(reinterpret_cast<const char*>(t.bytes.data()),
                static_cast<std::streamsize>(t.bytes.size()));
    if (!f) throw InputError(path, "file", "write failed");
}

TensorBlob make_int_blob(std::string name, DType dtype, std::vector<int64_t> shape,
                         const std::vector<int64_t>& values) {
    TensorBlob b{std::move(name), dtype, std::move(shape), {}};
    const int sz = dtype_size(dtype);
    b.bytes.resize(values.size() * sz);
    const int64_t lo = dtype == DType::I8    ? INT8_MIN
                       : dtype == DType::I16 ? INT16_MIN
                       : dtype == DType::I32 ? INT32_MIN
                       : dtype == DType::I64 ? INT64_MIN
                                             : 0;
    const int64_t hi = dtype == DType::I8    ? INT8_MAX
                       : dtype == DType::U8  ? UINT8_MAX
                       : dtype == DType::I16 ? INT16_MAX
                       : dtype == DType::U16 ? UINT16_MAX
                       : dtype == DType::I32 ? INT32_MAX
                                             : INT64_MAX;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const int64_t v = values[i];
        if (v < lo || v > hi)
            throw std::logic_error("make_int_blob: " + std::to_string(v) + " does not fit " +
                                   to_string(dtype));
        uint8_t* p = b.bytes.data() + i * sz;
        switch (dtype) {
            case DType::I8: {
                const int8_t x = static_cast<int8_t>(v);
                std::memcpy(p, &x, 1);
                break;
            }
            case DType::U8: {
                const uint8_t x = static_cast<uint8_t>(v);
                std::memcpy(p, &x, 1);
                break;
            }
            case DType::I16: {
                const int16_t x = static_cast<int16_t>(v);
                std::memcpy(p, &x, 2);
                break;
            }
            case DType::U16: {
                const uint16_t x = static_cast<uint16_t>(v);
                std::memcpy(p, &x, 2);
                break;
            }
            case DType::I32: {
                const int32_t x = static_cast<int32_t>(v);
                std::memcpy(p, &x, 4);
                break;
            }
            case DType::I64:
                std::memcpy(p, &v, 8);
                break;
            default:
                throw std::logic_error("make_int_blob: not an integer dtype");
        }
    }
    return b;
}

TensorBlob make_f32_blob(std::string name, std::vector<int64_t> shape,
                         const std::vector<float>& values) {
    TensorBlob b{std::move(name), DType::F32, std::move(shape), {}};
    b.bytes.resize(values.size() * 4);
    std::memcpy(b.bytes.data(), values.data(), b.bytes.size());
    return b;
}

double read_f64(const TensorInfo& t, int64_t i) {
    if (t.dtype != DType::F64) throw std::logic_error("read_f64 on " + t.name);
    double v;
    std::memcpy(&v, t.data + 8 * i, 8);
    return v;
}

uint32_t read_code(const TensorInfo& t, int64_t i) {
    switch (dtype_size(t.dtype)) {
        case 1:
            return t.data[i];
        case 2: {
            uint16_t v;
            std::memcpy(&v, t.data + 2 * i, 2);
            return v;
        }
        case 4: {
            uint32_t v;
            std::memcpy(&v, t.data + 4 * i, 4);
            return v;
        }
        default:
            throw std::logic_error("read_code on " + t.name);
    }
}

void read_codes(const TensorInfo& t, uint32_t* out) {
    for (int64_t i = 0; i < t.numel; ++i) out[i] = read_code(t, i);
}

}  // namespace accsim
