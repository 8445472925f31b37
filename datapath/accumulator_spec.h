#pragma once
// The accumulator of a datapath: a chain of stages (datapath/README.md). Stage 1 adds
// products; stage j > 1 adds the tile results of stage j-1. Immutable once validated by
// the config loader; the datapath only asserts.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "overflow.h"

namespace accsim {

enum class Reduction { sequential, tree };
enum class BiasMode { last, first, none };

const char* to_string(Reduction r);
const char* to_string(BiasMode b);

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
