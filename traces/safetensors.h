#pragma once
// The safetensors container, parsed by us: 8-byte little-endian header length N, N bytes of
// JSON header (name -> dtype, shape, data_offsets), then the raw little-endian data.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dtype.h"
#include "mapped_file.h"

namespace accsim {

struct TensorInfo {
    std::string name;
    DType dtype = DType::I8;
    std::vector<int64_t> shape;
    int64_t numel = 1;
    const uint8_t* data = nullptr;  // numel * dtype_size(dtype) bytes, not necessarily aligned
};

class SafetensorsFile {
  public:
    // Maps and validates the file: header length, JSON, dtypes, shapes, offsets within the data.
    explicit SafetensorsFile(std::string path);

    const std::string& path() const { return m_path; }
    const TensorInfo* find(const std::string& name) const;
    const std::map<std::string, TensorInfo>& tensors() const { return m_tensors; }

  private:
    std::string m_path;
    std::unique_ptr<MappedFile> m_file;
    std::map<std::string, TensorInfo> m_tensors;
};

// Element i of an integer tensor (I8 U8 I16 U16 I32 I64 U32), sign- or zero-extended.
int64_t read_int(const TensorInfo& t, int64_t i);
// The smallest and largest element of a non-empty integer tensor (one typed pass).
std::pair<int64_t, int64_t> int_range(const TensorInfo& t);
// Every element of an integer tensor at once (the type dispatched once, not per element).
template <typename Out>
void read_ints(const TensorInfo& t, Out* out);
// Element i of an F32 tensor.
float read_f32(const TensorInfo& t, int64_t i);
// Element i of an F64 tensor.
double read_f64(const TensorInfo& t, int64_t i);
// Every element's stored bit pattern, zero-extended (float operand codes: F8_*, F16, BF16, F32,
// and U8 for E8M0 scales).
void read_codes(const TensorInfo& t, uint32_t* out);
uint32_t read_code(const TensorInfo& t, int64_t i);

// A tensor to write: raw little-endian bytes in C order.
struct TensorBlob {
    std::string name;
    DType dtype = DType::I8;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};
// Writes a safetensors file (header padded with spaces to a multiple of 8 bytes).
void write_safetensors(const std::string& path, const std::vector<TensorBlob>& tensors);

// Builds a blob from integer values, encoding each in `dtype` (which must hold it).
TensorBlob make_int_blob(std::string name, DType dtype, std::vector<int64_t> shape,
                         const std::vector<int64_t>& values);
TensorBlob make_f32_blob(std::string name, std::vector<int64_t> shape,
                         const std::vector<float>& values);

}  // namespace accsim
