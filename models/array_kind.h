#pragma once
// One kind of MAC array, everything accsim knows about it in one place: the configuration keys
// it takes, where the accumulator's stages sit on it, how a layer is tiled onto it (folds, their
// cycles and traffic), which outputs each fold completes, and, where it has them, its FPGA
// resources and its cycle-accurate model. Each kind implements this interface in one file under
// models/arrays/, and array_kinds.cpp lists them. The fold schedule, the stage mapping, the tile
// kernel, the FPGA estimate, the cycle mode and the config loader ask the kind; none of them
// switches on it.
//
// Adding a kind of array touches:
//   1. models/array_spec.h      its ArrayKind value, its name, its parameters in ArraySpec;
//   2. models/arrays/NAME.cpp   a class implementing ArrayKindModel;
//   3. models/array_kinds.cpp   one row of the registry;
//   4. configs/                 a preset, and its keys in configs/README.md.
// The interface's contract, method by method, is below; tests/unit/test_fold_schedule.cpp and
// the TLM-vs-cycle tests (tests/python/test_run_modes.py) hold a kind to it.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datapath/accumulator_spec.h"
#include "models/array_spec.h"
#include "models/cycle_array.h"
#include "models/fold_schedule.h"
#include "models/fpga_resources.h"
#include "models/layer_work.h"
#include "models/stage_mapping.h"
#include "models/tile_kernel.h"
#include "traces/json_cursor.h"

namespace accsim {

class ArrayKindModel {
  public:
    virtual ~ArrayKindModel() = default;

    // --- configuration (config/hw_config.cpp)
    // Reads the kind's keys of the "array" object `a` into `s` (kind already set), refusing any
    // other key (JsonCursor::allow_keys, "kind" included) and any bad value with its location.
    virtual void parse(const JsonCursor& a, ArraySpec& s) const = 0;
    // The same keys for the effective config, in a readable order ("kind" is added before them).
    virtual nlohmann::ordered_json echo(const ArraySpec& s) const = 0;

    // --- where the stages sit (models/stage_mapping.h)
    // Why `acc`'s stages cannot sit on this array (stage 1's length or reduction contradicting
    // the hardware, too few stages), or nullopt when they can.
    virtual std::optional<StageMappingProblem> check_stages(const ArraySpec& a,
                                                            const AccumulatorSpec& acc) const = 0;
    // Where stage j of `stages` sits, in a few words ("the column chain of 32 PEs").
    virtual std::string stage_place(const ArraySpec& a, std::size_t j,
                                    std::size_t stages) const = 0;

    // --- timing (models/fold_schedule.h)
    // How many folds a layer takes, without building them.
    virtual int64_t fold_count(const ArraySpec& a, const LayerWork& w) const = 0;
    // Appends the layer's folds in the order they run, with their cycles and traffic, and sets
    // pe_count and extra_cycles. `stage1_length`: the config's stage-1 tile (0: none).
    virtual void schedule(const ArraySpec& a, const LayerWork& w, TimingConvention convention,
                          int64_t stage1_length, FoldSchedule& s) const = 0;
    // The share of the array's MAC units fold `f` maps work onto (its mapping efficiency).
    virtual double mapped_share(const ArraySpec& a, const Fold& f) const = 0;
    // The outputs fold `f` completes (none while a fold only adds partial sums), in the order
    // the transaction-level model replays them.
    virtual void completed_tiles(const ArraySpec& a, const LayerWork& w, const Fold& f,
                                 std::vector<OutputTile>& out) const = 0;

    // --- FPGA resources (models/fpga_resources.h); kinds without an FPGA model say so
    virtual bool has_fpga_model() const { return false; }
    virtual FpgaResources fpga_resources(const ArraySpec& a, const MemorySpec& m,
                                         const AccumulatorSpec& acc, const FpgaSpec& f, int x_bits,
                                         int w_bits) const;

    // --- cycle mode (models/cycle_array.h); kinds without a cycle model say so
    virtual bool has_cycle_model() const { return false; }
    // One fold, clocked PE by PE; `values` and `bank` may be null (timing only).
    virtual std::unique_ptr<FoldSim> fold_sim(const ArraySpec& a, const AccumulatorSpec& acc,
                                              TimingConvention convention, const LayerWork& w,
                                              const Fold& f, const OperandSource* values,
                                              CycleBank* bank) const;
    // How many rows of operand-valid signals a waveform shows (at most 16 are drawn).
    virtual int64_t waveform_rows(const ArraySpec&) const { return 1; }
};

// The model of a kind (array_kinds.cpp).
const ArrayKindModel& array_kind_model(ArrayKind kind);

// Folds and tiles: ceil(a / b) for positive counts.
inline int64_t ceil_div_count(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

// Array dimensions, lane counts and MMA shapes: positive integers up to this.
inline constexpr int64_t k_max_array_dimension = int64_t{1} << 20;
// Reads one such dimension (for parse()).
int64_t positive_dimension(const JsonCursor& c);

}  // namespace accsim
