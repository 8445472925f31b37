#include "dtype.h"

namespace accsim {
namespace {
struct DTypeInfo {
    DType dtype;
    const char* name;
    int size;
};
constexpr DTypeInfo k_dtypes[] = {
    {DType::BOOL, "BOOL", 1},       {DType::U8, "U8", 1},           {DType::I8, "I8", 1},
    {DType::F8_E5M2, "F8_E5M2", 1}, {DType::F8_E4M3, "F8_E4M3", 1}, {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},         {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::I32, "I32", 4},         {DType::U32, "U32", 4},         {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},         {DType::I64, "I64", 8},         {DType::U64, "U64", 8},
};
}  // namespace

std::optional<DType> parse_dtype(const std::string& name) {
    for (const DTypeInfo& d : k_dtypes)
        if (name == d.name) return d.dtype;
    return std::nullopt;
}

const char* to_string(DType d) {
    for (const DTypeInfo& i : k_dtypes)
        if (i.dtype == d) return i.name;
    return "?";
}

int dtype_size(DType d) {
    for (const DTypeInfo& i : k_dtypes)
        if (i.dtype == d) return i.size;
    return 0;
}

bool is_integer_code_dtype(DType d) {
    return d == DType::I8 || d == DType::U8 || d == DType::I16 || d == DType::U16 ||
           d == DType::I32;
}

bool is_wide_integer_dtype(DType d) {
    return is_integer_code_dtype(d) || d == DType::I64;
}

bool is_float_code_dtype(DType d) {
    return d == DType::F8_E4M3 || d == DType::F8_E5M2 || d == DType::F16 || d == DType::BF16 ||
           d == DType::F32;
}

bool is_trace_dtype(DType d) {
    return is_wide_integer_dtype(d) || is_float_code_dtype(d) || d == DType::F64;
}

}  // namespace accsim
