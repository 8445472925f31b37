#pragma once
// `accsim sweep`: one trace, loaded once, through every point of a grid of configurations, on
// every core. Each point gets what `accsim run` would report for it (or `accsim audit`, when
// the config has no hardware) in compact form: per layer and in total, events, corrupted
// outputs, errors, the narrowest safe widths, cycles, energy, power and FPGA resources.
//
// Values are replayed once per distinct accumulator (points that differ only in timing or cost
// parameters share them), and not at all where a proof gives the result (see sweep_values.h).
// Timing is the plain-C++ replay of the transaction-level model (models/timing_replay.h).
// Finished points are appended to DIR/points.jsonl as they complete, so that --resume
// continues an interrupted sweep without recomputing them.
#include <iosfwd>
#include <string>
#include <vector>

#include "hw_config.h"
#include "sweep_grid.h"
#include "traces/trace.h"

namespace accsim {

struct SweepOptions {
    ConfigSources base;  // --config, --set, --acc: what every point starts from
    std::vector<GridAxis> axes;
    std::vector<std::string> accs;  // --acc-grid layouts
    std::string out;
    int threads = 1;
    bool resume = false;
    bool quiet = false;
    bool derive = true;  // false (--no-derive): replay every point and layer (brute force)
};

// Runs the sweep over `layers` of `trace`, writes DIR/sweep.csv, sweep.json and sweep.html, and
// prints a summary to `out` and progress to `err` (unless quiet). Throws InputError.
void run_sweep(const SweepOptions& options, const Trace& trace,
               const std::vector<const LayerSpec*>& layers, std::ostream& out, std::ostream& err);

}  // namespace accsim
