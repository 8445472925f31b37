#pragma once
// The accumulator of a datapath: a chain of stages (datapath/README.md). Stage 1 adds
// products; stage j > 1 adds the tile results of stage j-1. Immutable once validated by
// the config loader; the datapath only asserts.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "enum_names.h"

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

struct StageSpec {
    int bits = 32;  // signed two's-complement register width
    OverflowMode overflow = OverflowMode::wrap;
    std::optional<int64_t> length;  // inputs per tile; none on the last stage
    Reduction reduction = Reduction::sequential;
};

struct AccumulatorSpec {
    std::vector<StageSpec> stages;
    BiasMode bias = BiasMode::last;

    // Products covered by one tile of stage `j` (0-based), for a dot product of length k:
    // L1 * ... * L(j+1), capped at k; the last stage covers k.
    int64_t span(std::size_t j, int64_t k) const;
    // Throws std::logic_error when the spec breaks a rule the loader should have enforced.
    void check() const;
    // "128x16:wrap,32:sat"
    std::string describe() const;
};

}  // namespace accsim
