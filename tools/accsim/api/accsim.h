#pragma once
// accsim's public C++ API: everything the CLI, the benchmark and the Python module do, behind one
// header. Load a trace and a configuration once, then ask for reports; each call returns the
// same JSON the CLI writes (report.json, sweep.json).
//
//   #include "api/accsim.h"
//
//   accsim::api::ConfigSources hw;
//   hw.file = "configs/asic/systolic-32x32-ws.json";
//   hw.sets = {"accumulator.stages.0.bits=16"};
//   accsim::api::Session s("traces/examples/tiny-face-detector.trace", hw);
//   nlohmann::ordered_json audit = s.audit();         // overflow and bounds, no timing
//   nlohmann::ordered_json timed = s.run_timing();    // + cycles, energy, power (plain C++)
//   std::cout << timed["totals"]["overflow"]["outputs_corrupted"] << "\n";
//
//   // A GEMM straight from memory: 2 rows x 3 inputs against 2 channels, one 8-bit register.
//   const int8_t x[] = {100, 100, 100, -5, 7, 9}, w[] = {1, 1, 1, 2, -3, 4};
//   accsim::api::ReplayRequest r;
//   r.x = {x, accsim::api::IntType::i8, 2, 3};
//   r.w = {w, accsim::api::IntType::i8, 2, 3};
//   r.acc = "8";
//   accsim::api::ReplayResult out = accsim::api::replay(r);  // out.values[0] == 44 (300 wrapped)
//
// Errors in what the caller gave (a file, a field, a value) throw accsim::InputError carrying the
// CLI's message, `<file>: <field>: <what is wrong>`; nothing here prints or exits.
// Thread safety: a Session's calls may run concurrently except run(); the SystemC run happens at
// most once per process (SystemC elaborates once): run_timing gives the same report, repeatably.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datapath/input_error.h"

namespace accsim {
class WorkPool;  // engine/work_pool.h: who runs the units of a sweep or an audit
}

namespace accsim::api {

using Json = nlohmann::ordered_json;

// The version this library reports (accsim --version, report.json's tool.version).
std::string version();

// Where a configuration comes from: a JSON (or SCALE-Sim .cfg) file, `--set PATH=VALUE`
// overrides in order, and an `--acc SPEC` accumulator; at least a file or an accumulator.
struct ConfigSources {
    std::optional<std::string> file;
    std::vector<std::string> sets;
    std::optional<std::string> acc;
};

// The effective configuration (every field, defaults filled in), as `accsim validate --json`.
Json effective_config(const ConfigSources& config);

// What a report covers and how fast it is made.
struct ReportOptions {
    std::string layers;  // ECMAScript regex searched in layer names; empty: every layer
    int threads = 0;     // replay threads; 0: every hardware thread. Reports do not depend on it
    // Non-empty: write every layer's outputs there (index.json and a safetensors file per layer,
    // engine/output_dump.h); audit and run.
    std::string dump_outputs;
    // audit: the processes that replay the layers (dist/job.h: an MPI job's ranks, big layers
    // split by channels); null: this one. The report is the same either way.
    WorkPool* pool = nullptr;
};

// The SystemC run's own options.
struct SimRunOptions {
    bool cycle_mode = false;  // clock every PE (small arrays and layers) instead of whole folds
    std::string vcd;          // cycle mode: write a waveform here (a .vcd file)
    std::string scalesim_reports;  // a directory for COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv
};

// A sweep over a grid of configurations (see sweep/sweep.h for how points are derived).
struct SweepRequest {
    std::vector<std::string> grid;      // "PATH=VALUES": a list, a range a..b or a stepped a..b:s
    std::vector<std::string> acc_grid;  // whole accumulator layouts, one SPEC each
    std::string out;      // a directory for sweep.json/csv/html and the journal; empty: no files
    bool resume = false;  // continue the journal in `out`
    bool derive = true;   // false: replay every point and layer (brute force)
    // --shard k/N: only slice k (1-based) of N, into `out` for sweep_merge (0/0: the whole).
    int shard_k = 0, shard_n = 0;
    WorkPool* pool = nullptr;  // the processes that run it (an MPI job's ranks); null: this one
};

struct SweepHooks {
    std::function<void(int64_t done, int64_t total)> progress;         // serialized, any thread
    std::function<void(std::size_t index, const Json& record)> point;  // a point finished
};

struct SweepResult {
    Json sweep;                // sweep.json's content
    std::size_t resumed = 0;   // points read back from the journal
    std::size_t computed = 0;  // points this call computed
    std::size_t damaged = 0;   // journal records not trusted, and so recomputed
    bool coordinator = true;   // false on an MPI job's ranks > 0 (they only ran units)
};

// `accsim sweep-merge`: the directories of every --shard k/N of one sweep combined into `out`
// (sweep.json/csv/html, the same bytes as one run); returns sweep.json's content.
Json merge_sweep_shards(const std::string& out, const std::vector<std::string>& shard_dirs);

class Session {
  public:
    // Loads and validates the trace directory (or its manifest.json) and the configuration.
    Session(const std::string& trace, const ConfigSources& config);
    ~Session();
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;

    const Json& config() const;  // the effective configuration

    // `accsim audit`: overflow and bounds of every selected layer (null on the ranks > 0 of
    // options.pool, which only ran units).
    Json audit(const ReportOptions& options = {}) const;
    // `accsim run`: the SystemC accelerator (needs a config with an array and memory). Once per
    // process; a second call throws InputError.
    Json run(const ReportOptions& options = {}, const SimRunOptions& sim = {}) const;
    // The same report as run() in transaction-level mode, from the plain-C++ timing replay
    // (the values through the fast replay): repeatable, any number of times.
    Json run_timing(const ReportOptions& options = {}) const;
    // `accsim sweep` from this session's configuration as the base.
    SweepResult sweep(const SweepRequest& request, const ReportOptions& options = {},
                      const SweepHooks& hooks = {}) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

// `accsim inspect`: a trace's layers, shapes, bit widths and value ranges, as text.
std::string inspect(const std::string& trace, const std::string& layers = "");

// Checks of options alone, before anything is loaded (the calls above make them too): a thread
// count in [0, 4096]; a waveform only in cycle mode, to a writable .vcd file; grid axes that
// parse; a configuration with the hardware a run needs.
void check(const ReportOptions& options);
void check(const SimRunOptions& sim);
void check(const SweepRequest& request);
void check_run_config(const ConfigSources& config);

// "A;B;C" (--acc-grid) as its layouts.
std::vector<std::string> parse_acc_grid(const std::string& layouts);

// `accsim run --topology CSV`: a SCALE-Sim topology (conv form, or gemm rows M, N, K) on a
// configuration, timing only (overflow sections null). Runs SystemC (once per process).
Json run_topology(const std::string& csv, bool gemm_format, const ConfigSources& config,
                  const ReportOptions& options = {}, const SimRunOptions& sim = {});

// A GEMM-level replay over plain integer matrices: every output y[r][c] = sum_k x[r][k] w[c][k]
// (+ bias[c]) through the accumulator `acc` (the --acc shorthand), added in k order. With
// `groups` G > 1 it is a grouped GEMM (a grouped or depthwise convolution lowered): x holds G
// blocks of K columns, w's channels split into G equal runs, and channel c of run g reads
// x[r][g*K .. g*K+K).
enum class IntType { i8, u8, i16, u16, i32 };

struct IntMatrix {
    const void* data = nullptr;  // row-major elements of `type`
    IntType type = IntType::i8;
    int64_t rows = 0, cols = 0;
    int64_t row_stride = 0;  // elements between rows; 0: cols (contiguous)
};

struct ReplayRequest {
    IntMatrix x;                          // [rows, K] inputs
    IntMatrix w;                          // [channels, K] weights
    int64_t groups = 1;                   // x is [rows, groups * K]; groups divides channels
    const int64_t* bias = nullptr;        // [channels] at accumulator scale, or null
    std::string acc;                      // e.g. "16", "128x16,32:sat", "64x12:tree,20"
    std::string bias_placement = "last";  // last, first or none (accumulator.bias)
    // Operand formats (1..16 bits); absent: from the element type (i8: 8-bit signed, u16:
    // 16-bit unsigned; i32 needs them given). Every value must lie in its format.
    std::optional<int> x_bits, w_bits;
    std::optional<bool> x_signed, w_signed;
    int threads = 0;  // 0: every hardware thread; results do not depend on it
    // false: only `values` per output (exact, events and corrupted stay empty; their totals
    // are in `overflow`), for callers that need the registers and the counts alone.
    bool details = true;
};

struct ReplayResult {
    int64_t rows = 0, channels = 0, stages = 0;
    std::vector<int64_t> values;     // [rows * channels]: the last register at the end
    std::vector<int64_t> exact;      // [rows * channels]: the exact sum (+ bias where added)
    std::vector<int64_t> events;     // [(row * channels + channel) * stages + stage]
    std::vector<uint8_t> corrupted;  // [rows * channels]: values != exact
    std::vector<int> observed_bits;  // per stage: the widest partial sum seen (no bias)
    Json bounds;                     // the report's "bounds" object for this layer
    Json overflow;                   // the report's "overflow" object
};

// Throws InputError ("replay: x: ...") on shapes, formats or values that do not fit.
ReplayResult replay(const ReplayRequest& request);

// The same GEMM through an accumulator with float stages (datapath/FLOAT.md): float operands
// given as their stored codes in a named format (e4m3, e5m2, fp16, bf16, fp32, tf32), or
// integer operands (format empty) whose integer tiles a float stage takes over. Optional block
// scales along K: one per `block` products of each row of x and of w (F32 values, or E8M0
// exponent codes when *_scale_e8m0).
struct FloatReplayRequest {
    std::vector<uint32_t> x, w;  // [rows, K] and [channels, K]: codes, or int32 values as bits
    int64_t rows = 0, channels = 0, k = 0;
    std::string x_format, w_format;  // both empty (integer operands) or both a float format
    std::string acc;
    int64_t block = 0;
    std::vector<float> x_scale, w_scale;              // [rows, ceil(K/block)], [channels, ...]
    std::vector<uint8_t> x_scale_e8m0, w_scale_e8m0;  // instead of the F32 ones
    int threads = 0;
};

struct FloatReplayResult {
    int64_t rows = 0, channels = 0, stages = 0;
    std::vector<double> values;   // [rows * channels]: the last register
    std::vector<double> exact;    // the exact results, rounded to binary64
    std::vector<int64_t> events;  // [(row * channels + channel) * stages + stage]
    Json floating;                // the report's "float" object
    Json overflow;                // the report's "overflow" object
};

FloatReplayResult replay_float(const FloatReplayRequest& request);

}  // namespace accsim::api
