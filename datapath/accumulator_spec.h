#pragma once
// The accumulator of a datapath: a chain of stages (datapath/README.md). Stage 1 adds
// products; stage j > 1 adds the tile results of stage j-1. Immutable once validated by
// the config loader; the datapath only asserts.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "enum_names.h"

#include "float_rounding.h"
#include "overflow.h"

namespace accsim {

enum class Reduction { sequential, tree };
enum class BiasMode { last, first, none };

inline constexpr EnumName<Reduction> k_reduction_names[] = {{Reduction::sequential, "sequential"},
                                                            {Reduction::tree, "tree"}};
inline const char* to_string(Reduction v) {
    return name_of(k_reduction_names, v);
}
// The --acc shorthand's flags for them (sequential is its default, written by no flag).
inline constexpr EnumName<Reduction> k_reduction_flags[] = {{Reduction::sequential, "seq"},
                                                            {Reduction::tree, "tree"}};
inline constexpr EnumName<BiasMode> k_bias_names[] = {
    {BiasMode::last, "last"}, {BiasMode::first, "first"}, {BiasMode::none, "none"}};
inline const char* to_string(BiasMode v) {
    return name_of(k_bias_names, v);
}

enum class StageKind { integer, floating };
inline constexpr EnumName<StageKind> k_stage_kind_names[] = {{StageKind::integer, "int"},
                                                             {StageKind::floating, "float"}};
inline const char* to_string(StageKind v) {
    return name_of(k_stage_kind_names, v);
}

// Limits of a float stage's group G (terms per step besides the register).
inline constexpr int64_t k_max_float_group = int64_t{1} << 20;

struct StageSpec {
    // Integer stages: a signed two's-complement register. Float stages: the register's storage
    // width, 1 + exponent_bits + mantissa_bits (for costs and data movement only).
    int bits = 32;
    OverflowMode overflow = OverflowMode::wrap;
    std::optional<int64_t> length;  // inputs per tile; none on the last stage
    Reduction reduction = Reduction::sequential;
    StageKind kind = StageKind::integer;
    // Float stages (datapath/FLOAT.md): register eXmY, G terms per step, truncation to F
    // fraction bits below the step's largest exponent (none: exact), one rounding per step.
    int exponent_bits = 8;
    int mantissa_bits = 23;
    int64_t group = 1;
    std::optional<int> fraction_bits;
    Rounding rounding = Rounding::rne;

    bool is_float() const { return kind == StageKind::floating; }
};

struct AccumulatorSpec {
    std::vector<StageSpec> stages;
    BiasMode bias = BiasMode::last;

    // Products covered by one tile of stage `j` (0-based), for a dot product of length k:
    // L1 * ... * L(j+1), capped at k; the last stage covers k.
    int64_t span(std::size_t j, int64_t k) const;
    // Throws std::logic_error when the spec breaks a rule the loader should have enforced.
    void check() const;
    // "128x16:wrap,32:sat"; float stages as "128xe8m13:g32:f13:rz"
    std::string describe() const;
    // Whether any stage is a float stage: the layer then replays through the float datapath.
    bool has_float() const;
    // Index of the first float stage (stages.size() if none). Integer stages may only come
    // before it: an integer datapath hands its exact tile sums to float stages.
    std::size_t first_float() const;
};

}  // namespace accsim
