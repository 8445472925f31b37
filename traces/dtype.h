#pragma once
// Element types of safetensors files, and which of them a trace may use.
#include <cstdint>
#include <optional>
#include <string>

namespace accsim {

enum class DType {
    BOOL,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64
};

// The safetensors name ("I8") -> DType; nullopt for a name safetensors does not define.
std::optional<DType> parse_dtype(const std::string& name);
const char* to_string(DType d);
int dtype_size(DType d);              // bytes per element
bool is_integer_code_dtype(DType d);  // I8 U8 I16 U16 I32: operand codes
bool is_wide_integer_dtype(DType d);  // the above plus I64: bias and outputs
bool is_float_code_dtype(DType d);    // F8_E4M3 F8_E5M2 F16 BF16 F32: float operand codes
// What a trace may hold: the above, F32 (scales) and F64 (float layers' exact outputs).
bool is_trace_dtype(DType d);

}  // namespace accsim
