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
//
// The work is cut into units (sweep_units.h) that a WorkPool runs: this process's threads, or
// the ranks of an MPI job (dist/mpi_pool.h). The files are the same byte for byte whatever ran
// them. A --shard k/N runs a deterministic slice of the points into its own directory (its
// journal and shard.json); sweep_merge.h combines the shards into the files of one run.
//
// The sweep knows nothing of terminals: it reports progress and finished points through hooks
// (the CLI draws a progress bar from them, Python calls back), and returns sweep.json.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "engine/work_pool.h"
#include "sweep/sweep_grid.h"
#include "traces/trace.h"

namespace accsim {

// The most shards a sweep may be split into (--shard k/N, N at most this).
inline constexpr int k_max_shards = 100000;

struct SweepOptions {
    ConfigSources base;  // --config, --set, --acc: what every point starts from
    std::vector<GridAxis> axes;
    std::vector<std::string> accs;  // --acc-grid layouts
    // DIR for sweep.csv, sweep.json, sweep.html and the journal points.jsonl; empty: no files
    // (and nothing to resume).
    std::string out;
    int threads = 1;
    bool resume = false;
    bool derive = true;  // false (--no-derive): replay every point and layer (brute force)
    // --shard k/N (1 <= k <= N <= k_max_shards): only this slice of the points, into `out` as
    // a shard.
    std::optional<std::pair<int, int>> shard;
    // Who runs the units; null: this process, on `threads` threads.
    WorkPool* pool = nullptr;
};

struct SweepHooks {
    // Work done of `total` (replays and points), from any thread, serialized; called only when
    // there is work left to do.
    std::function<void(int64_t done, int64_t total)> progress;
    // A point finished (not one read back by --resume): its index and record, as journalled.
    std::function<void(std::size_t index, const nlohmann::ordered_json& record)> point;
};

struct SweepOutcome {
    nlohmann::ordered_json sweep;  // sweep.json's content
    std::size_t resumed = 0;       // points read back from the journal
    std::size_t computed = 0;      // points computed by this call
    std::size_t damaged = 0;       // journal records not trusted (recomputed)
    // False on the processes of a distributed job that only ran units (nothing else is set).
    bool coordinator = true;
};

// Runs the sweep over `layers` of `trace` and, with options.out, writes its files there.
// Throws InputError.
SweepOutcome run_sweep(const SweepOptions& options, const Trace& trace,
                       const std::vector<const LayerSpec*>& layers, const SweepHooks& hooks = {});

}  // namespace accsim
