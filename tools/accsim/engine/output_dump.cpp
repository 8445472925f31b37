#include "engine/output_dump.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "datapath/input_error.h"
#include "traces/safetensors.h"

namespace accsim {

OutputDump::OutputDump(const LayerSpec& layer, std::size_t stages, bool floating,
                       const StageSpec& last)
    : m_layer(layer),
      m_stages(stages),
      m_floating(floating),
      m_f32(floating && last.exponent_bits <= 8 && last.mantissa_bits <= 23) {
    const std::size_t n = static_cast<std::size_t>(layer.shape.outputs);
    if (floating) {
        m_fvalues.resize(n);
        m_fexact.resize(n);
    } else {
        m_ivalues.resize(n);
        m_iexact.resize(n);
    }
    m_events.resize(n * stages);
}

void OutputDump::set(int64_t index, int64_t value, i128 exact, const uint32_t* events) {
    const std::size_t i = static_cast<std::size_t>(index);
    m_ivalues[i] = value;
    if (exact < k_i64_min || exact > k_i64_max)
        throw InputError("--dump-outputs", m_layer.name,
                         "an exact result does not fit the I64 of the dump");
    m_iexact[i] = static_cast<int64_t>(exact);
    for (std::size_t j = 0; j < m_stages; ++j)
        m_events[i * m_stages + j] = static_cast<int32_t>(std::min<uint32_t>(events[j], INT32_MAX));
}

void OutputDump::set(int64_t index, const FloatDot& d) {
    const std::size_t i = static_cast<std::size_t>(index);
    m_fvalues[i] = d.value;
    m_fexact[i] = d.exact;
    for (std::size_t j = 0; j < m_stages; ++j)
        m_events[i * m_stages + j] =
            static_cast<int32_t>(std::min<uint32_t>(d.events[j], INT32_MAX));
}

namespace {

template <typename T>
TensorBlob blob(std::string name, DType dtype, std::vector<int64_t> shape,
                const std::vector<T>& v) {
    TensorBlob b;
    b.name = std::move(name);
    b.dtype = dtype;
    b.shape = std::move(shape);
    b.bytes.resize(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(b.bytes.data(), v.data(), b.bytes.size());
    return b;
}

}  // namespace

void OutputDump::write(const std::string& path) const {
    const std::vector<int64_t>& shape = m_layer.shape.output_shape;
    std::vector<int64_t> ev_shape = shape;
    ev_shape.push_back(static_cast<int64_t>(m_stages));
    std::vector<TensorBlob> t;
    if (m_floating) {
        if (m_f32) {
            std::vector<float> f(m_fvalues.begin(), m_fvalues.end());  // exact: values of fp32
            t.push_back(blob("values", DType::F32, shape, f));
        } else {
            t.push_back(blob("values", DType::F64, shape, m_fvalues));
        }
        t.push_back(blob("exact", DType::F64, shape, m_fexact));
    } else {
        t.push_back(blob("values", DType::I64, shape, m_ivalues));
        t.push_back(blob("exact", DType::I64, shape, m_iexact));
    }
    t.push_back(blob("events", DType::I32, ev_shape, m_events));
    write_safetensors(path, t);
}

std::string output_file_name(const std::string& layer_name) {
    std::string out;
    for (char c : layer_name) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        out += ok ? c : '_';
    }
    return out + ".safetensors";
}

void write_output_dumps(const std::string& dir, const std::vector<const LayerSpec*>& layers,
                        const std::vector<const OutputDump*>& dumps) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
        throw InputError("--dump-outputs", dir, "cannot create the directory");
    nlohmann::ordered_json index = nlohmann::ordered_json::object();
    std::set<std::string> taken;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        std::string file = output_file_name(layers[i]->name);
        const std::string stem = file.substr(0, file.size() - 12);
        for (int n = 2; taken.count(file) || file == "index.json"; ++n)
            file = stem + "_" + std::to_string(n) + ".safetensors";
        taken.insert(file);
        index[layers[i]->name] = file;
        dumps[i]->write(dir + "/" + file);
    }
    std::ofstream f(dir + "/index.json");
    f << index.dump(2) << "\n";
    if (!f) throw InputError("--dump-outputs", dir + "/index.json", "cannot write the file");
}

}  // namespace accsim
