// accsim's replay benchmark: every engine on the same work, measured in one run on one machine,
// reported as G MAC/s and as ratios (never absolute times in tests: this is not a test).
//
//   build/bin/accsim_bench [--quick] [--once] [--only safe|overflow|sc_int|llm|fp8|trace]
//                          [--llm DIR] [TRACE] [CONFIG]
//
// Engines: oneDNN's exact int8 GEMM (the ceiling: it computes every product and nothing else),
// accsim's fast replay, the scalar reference reducer, and a per-addition sc_int<P> loop (how a
// SystemC model would do it). Work: a layer whose exact bound proves it safe, the same layer on
// a register so narrow that every output overflows (wrap and saturate, one and two stages), an
// LLM decoder block (tools/make_llm_block.py, W4A8, 34 G MAC: not in --quick) with the whole
// `accsim audit` command's time and peak memory, an FP8 GEMM through the float accumulators
// (against oneDNN's f32 GEMM), and a whole real trace; one thread and every thread.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <systemc>
#include <vector>

#include "api/accsim.h"
#include "config/hw_config.h"
#include "datapath/bounds.h"
#include "datapath/chunk_kernels.h"
#include "datapath/fast_reducer.h"
#include "datapath/parallel_for.h"
#include "datapath/reference_reducer.h"
#include "engine/layer_audit.h"
#include "engine/layer_binding.h"
#include "sim/layer_run.h"
#include "traces/trace.h"

#ifdef ACCSIM_HAVE_DNNL
#include <omp.h>

#include <oneapi/dnnl/dnnl.h>
#endif

using namespace accsim;

namespace {

using Clock = std::chrono::steady_clock;

// Every engine's results land here, so that no compiler can drop the work that made them.
volatile uint64_t g_sink = 0;

// Best time of several runs of f (after one warm-up), seconds.
// --once: every engine runs exactly once (for instruction counts under callgrind, where the
// per-call costs of run_fast and run_reference give the ratio without timing noise).
bool g_once = false;

double best_time(const std::function<void()>& f, double budget_s) {
    if (g_once) {
        const auto t0 = Clock::now();
        f();
        return std::chrono::duration<double>(Clock::now() - t0).count();
    }
    f();
    double best = 1e30, total = 0;
    for (int i = 0; i < 50 && (i < 3 || total < budget_s); ++i) {
        const auto t0 = Clock::now();
        f();
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        best = std::min(best, dt);
        total += dt;
    }
    return best;
}

// One GEMM-shaped piece of work: groups x (m x k) inputs against (n x k) weights.
struct Work {
    std::string name;
    int64_t groups = 1, m = 0, n = 0, k = 0;
    std::vector<std::vector<int32_t>> x, q;  // per group
    std::vector<std::vector<int64_t>> bias;  // per group, may be empty
    bool x_unsigned = true;
    bool stage1_safe = false;  // a trace layer: its static bounds prove stage 1 safe
    bool x_bytes = true;       // every input is a byte (unsigned or signed): quads allowed
    double macs() const { return static_cast<double>(groups * m * n * k); }
};

Work random_layer(int64_t m, int64_t n, int64_t k) {
    Work w;
    w.name = "random " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
    w.m = m, w.n = n, w.k = k;
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127);
    w.x.emplace_back(static_cast<std::size_t>(m * k));
    w.q.emplace_back(static_cast<std::size_t>(n * k));
    w.bias.emplace_back();
    for (auto& v : w.x[0]) v = u8(rng);
    for (auto& v : w.q[0]) v = s8(rng);
    return w;
}

// ---- engines -----------------------------------------------------------------------------

struct Result {
    uint64_t events = 0, corrupted = 0;
    FastCounters counters;  // the fast replay's: how many chunks left the fast path
};

Result run_fast(const Work& w, const AccumulatorSpec& acc, int threads, bool stage1_safe) {
    // As audit_layer splits a layer: every group's weights packed once, then one task per
    // group and block of 16 rows, all in one parallel_for.
    constexpr int64_t rows = 16;
    constexpr int64_t k_cols = 256;  // audit_layer's split
    const int64_t row_blocks = (w.m + rows - 1) / rows, col_blocks = (w.n + k_cols - 1) / k_cols;
    const int64_t blocks = row_blocks * col_blocks;
    const FastReducer planner(acc, w.k);
    std::vector<PackedWeights> q;
    for (int64_t g = 0; g < w.groups; ++g)
        q.push_back(planner.pack(w.q[g].data(), w.n, 1, w.x_bytes));
    std::vector<Result> per(static_cast<std::size_t>(w.groups * blocks));
    parallel_for(w.groups * blocks, threads, [&](int64_t t) {
        const int64_t g = t / blocks, b = t % blocks;
        const int64_t m0 = (b / col_blocks) * rows, n0 = (b % col_blocks) * k_cols;
        const int64_t* bias = w.bias[g].empty() ? nullptr : w.bias[g].data() + n0;
        FastReducer r(acc, w.k);
        r.set_stage1_safe(stage1_safe);
        OutputBlock out;
        r.run(w.x[g].data() + m0 * w.k, std::min(rows, w.m - m0), q[g], n0,
              std::min(k_cols, w.n - n0), bias, out);
        Result& res = per[t];
        res.counters = r.counters;
        for (std::size_t o = 0; o < out.final_value.size(); ++o) {
            for (std::size_t j = 0; j < out.stages; ++j)
                res.events += out.events[o * out.stages + j];
            res.corrupted += out.final_value[o] != out.exact_dot[o];
        }
    });
    Result total;
    for (const Result& r : per) {
        total.events += r.events;
        total.corrupted += r.corrupted;
        total.counters.add(r.counters);
    }
    g_sink = g_sink + total.events + total.corrupted;
    return total;
}

Result run_reference(const Work& w, const AccumulatorSpec& acc) {
    ReferenceReducer ref(acc);
    DotOutcome d;
    Result res;
    std::vector<int64_t> p(static_cast<std::size_t>(w.k));
    for (int64_t g = 0; g < w.groups; ++g)
        for (int64_t m = 0; m < w.m; ++m)
            for (int64_t n = 0; n < w.n; ++n) {
                const int32_t* x = w.x[g].data() + m * w.k;
                const int32_t* q = w.q[g].data() + n * w.k;
                for (int64_t i = 0; i < w.k; ++i) p[i] = int64_t{x[i]} * q[i];
                ref.reduce(p.data(), static_cast<std::size_t>(w.k), std::nullopt, d);
                res.events += d.events();
                res.corrupted += d.corrupted();
            }
    g_sink = g_sink + res.events + res.corrupted;
    return res;
}

// The naive SystemC way: one sc_int<P> register, an overflow check per addition.
template <int P>
Result run_sc_int(const Work& w) {
    Result res;
    for (int64_t g = 0; g < w.groups; ++g)
        for (int64_t m = 0; m < w.m; ++m)
            for (int64_t n = 0; n < w.n; ++n) {
                const int32_t* x = w.x[g].data() + m * w.k;
                const int32_t* q = w.q[g].data() + n * w.k;
                sc_dt::sc_int<P> r = 0;
                int64_t exact = 0;
                for (int64_t i = 0; i < w.k; ++i) {
                    const int64_t p = int64_t{x[i]} * q[i];
                    const int64_t wide = r.to_int64() + p;
                    r = wide;  // keeps the low P bits: wrap
                    res.events += r.to_int64() != wide;
                    exact += p;
                }
                res.corrupted += r.to_int64() != exact;
            }
    g_sink = g_sink + res.events + res.corrupted;
    return res;
}

// Every layer of a trace as GEMM-shaped work, with its config's static bounds.
std::vector<Work> trace_works(const Trace& trace, const HwConfig& config) {
    std::vector<Work> layers;
    for (const LayerSpec& l : trace.layers()) {
        const LayerBinding b(l, config);
        const LayerWork& lw = b.work();
        Work w;
        w.name = l.name;
        w.groups = lw.groups, w.m = lw.m, w.n = lw.n, w.k = lw.k;
        w.x_unsigned = !l.x.format.is_signed;
        w.stage1_safe = static_audit(b, config.accumulator).stage1_safe;
        w.x_bytes = l.x.format.bits <= 8;
        for (int64_t g = 0; g < lw.groups; ++g) {
            w.x.emplace_back(static_cast<std::size_t>(lw.m * lw.k));
            w.q.emplace_back(static_cast<std::size_t>(lw.n * lw.k));
            b.x_rows(g, 0, lw.m, w.x.back().data());
            b.q_rows(g, w.q.back().data());
            const int64_t* bias = b.group_bias(g);
            w.bias.emplace_back(bias ? std::vector<int64_t>(bias, bias + lw.n)
                                     : std::vector<int64_t>{});
        }
        layers.push_back(std::move(w));
    }
    return layers;
}

// The fast replay over a trace's layers, scheduled as audit_layers does: big layers on every
// thread, the rest side by side.
void run_fast_trace(const std::vector<Work>& layers, const AccumulatorSpec& acc, int n,
                    double macs) {
    std::vector<const Work*> small;
    for (const Work& w : layers) {
        if (replays_alone(static_cast<int64_t>(w.macs()), static_cast<int64_t>(macs), n))
            run_fast(w, acc, n, w.stage1_safe);
        else
            small.push_back(&w);
    }
    parallel_for(static_cast<int64_t>(small.size()), n,
                 [&](int64_t i) { run_fast(*small[i], acc, 1, small[i]->stage1_safe); });
}

#ifdef ACCSIM_HAVE_DNNL
// The exact int8 GEMM, C = X Q^T per group (u8 inputs or s8 ones, s8 weights, s32 results).
void run_onednn(const Work& w, int threads, std::vector<std::vector<uint8_t>>& xu,
                std::vector<std::vector<int8_t>>& xs, std::vector<std::vector<int8_t>>& qs,
                std::vector<int32_t>& c) {
    omp_set_num_threads(threads);
    const int32_t co = 0;  // one offset for all of C ('F')
    for (int64_t g = 0; g < w.groups; ++g) {
        const dnnl_status_t st =
            w.x_unsigned ? dnnl_gemm_u8s8s32('N', 'T', 'F', w.m, w.n, w.k, 1.0f, xu[g].data(), w.k,
                                             0, qs[g].data(), w.k, 0, 0.0f, c.data(), w.n, &co)
                         : dnnl_gemm_s8s8s32('N', 'T', 'F', w.m, w.n, w.k, 1.0f, xs[g].data(), w.k,
                                             0, qs[g].data(), w.k, 0, 0.0f, c.data(), w.n, &co);
        if (st != dnnl_success) std::abort();
        g_sink = g_sink + static_cast<uint64_t>(c[0]);
    }
}
// oneDNN on every layer's GEMM shape (its int8 operands), for a whole trace.
struct OnednnTrace {
    const std::vector<Work>& layers;
    double macs = 0;
    std::vector<std::vector<std::vector<uint8_t>>> xu;
    std::vector<std::vector<std::vector<int8_t>>> xs, qs;
    std::vector<std::vector<int32_t>> c;
    explicit OnednnTrace(const std::vector<Work>& ls)
        : layers(ls), xu(ls.size()), xs(ls.size()), qs(ls.size()), c(ls.size()) {
        for (std::size_t i = 0; i < layers.size(); ++i) {
            const Work& w = layers[i];
            macs += w.macs();
            for (int64_t g = 0; g < w.groups; ++g) {
                if (w.x_unsigned)
                    xu[i].emplace_back(w.x[g].begin(), w.x[g].end());
                else
                    xs[i].emplace_back(w.x[g].begin(), w.x[g].end());
                qs[i].emplace_back(w.q[g].begin(), w.q[g].end());
            }
            if (w.x_unsigned)
                xs[i].resize(xu[i].size());
            else
                xu[i].resize(xs[i].size());
            c[i].resize(static_cast<std::size_t>(w.m * w.n));
        }
    }
    // G MAC/s on `threads` threads.
    double rate(int threads, double budget) {
        const double t = best_time(
            [&] {
                for (std::size_t i = 0; i < layers.size(); ++i)
                    run_onednn(layers[i], threads, xu[i], xs[i], qs[i], c[i]);
            },
            budget);
        return macs / t / 1e9;
    }
};
#endif

// ---- the table -----------------------------------------------------------------------------

struct Row {
    std::string work, engine, acc;
    int threads;
    double gmacs;
    double onednn;  // oneDNN's G MAC/s on the same work and threads (0: not measured)
    double reference;
};

void print(const std::vector<Row>& rows) {
    std::printf("\n| work | accumulator | engine | threads | G MAC/s | x oneDNN | x reference |\n");
    std::printf("|---|---|---|---:|---:|---:|---:|\n");
    for (const Row& r : rows) {
        std::printf("| %s | %s | %s | %d | %.3f | ", r.work.c_str(), r.acc.c_str(),
                    r.engine.c_str(), r.threads, r.gmacs);
        if (r.onednn > 0)
            std::printf("%.3f | ", r.gmacs / r.onednn);
        else
            std::printf("- | ");
        if (r.reference > 0)
            std::printf("%.1f |\n", r.gmacs / r.reference);
        else
            std::printf("- |\n");
    }
}

AccumulatorSpec acc_of(const std::string& text) {
    // The shorthand of --acc, parsed by the CLI's own parser via a config.
    ConfigSources src;
    src.acc = text;
    return load_config(src).accumulator;
}

void bench_work(const Work& w, const std::vector<std::pair<std::string, std::string>>& accs,
                const std::vector<int>& thread_counts, bool with_scalar, double budget,
                std::vector<Row>& rows) {
    double onednn[2] = {0, 0};
#ifdef ACCSIM_HAVE_DNNL
    std::vector<std::vector<uint8_t>> xu(static_cast<std::size_t>(w.groups));
    std::vector<std::vector<int8_t>> xs(xu.size()), qs(xu.size());
    bool int8 = true;
    for (int64_t g = 0; g < w.groups; ++g) {
        for (int32_t v : w.x[g]) {
            int8 = int8 && (w.x_unsigned ? (v >= 0 && v <= 255) : (v >= -128 && v <= 127));
            xu[g].push_back(static_cast<uint8_t>(v));
            xs[g].push_back(static_cast<int8_t>(v));
        }
        for (int32_t v : w.q[g]) {
            int8 = int8 && v >= -128 && v <= 127;
            qs[g].push_back(static_cast<int8_t>(v));
        }
    }
    std::vector<int32_t> c(static_cast<std::size_t>(w.m * w.n));
    if (int8)
        for (std::size_t i = 0; i < thread_counts.size(); ++i) {
            const double t =
                best_time([&] { run_onednn(w, thread_counts[i], xu, xs, qs, c); }, budget);
            onednn[i] = w.macs() / t / 1e9;
            rows.push_back(Row{w.name, "oneDNN int8 GEMM", "(exact, no register)", thread_counts[i],
                               onednn[i], onednn[i], 0});
        }
#endif
    for (const auto& [label, text] : accs) {
        const AccumulatorSpec acc = acc_of(text);
        // The data-type bound of a stage-1 tile (u8 or s8 inputs, s8 weights): when it fits, the
        // replay is told stage 1 is safe, as the audit is by its exact bounds.
        const OperandFormat xf{8, !w.x_unsigned}, qf{8, true};
        const bool safe = datatype_bits(acc.span(0, w.k), xf, qf) <= acc.stages.front().bits;
        double reference = 0;
        if (with_scalar) {
            const double t = best_time([&] { run_reference(w, acc); }, budget);
            reference = w.macs() / t / 1e9;
            rows.push_back(
                Row{w.name, "scalar reference", label, 1, reference, onednn[0], reference});
        }
        for (std::size_t i = 0; i < thread_counts.size(); ++i) {
            const double t = best_time([&] { run_fast(w, acc, thread_counts[i], safe); }, budget);
            rows.push_back(Row{w.name, std::string("fast replay (") + packed_kernel_name() + ")",
                               label, thread_counts[i], w.macs() / t / 1e9, onednn[i], reference});
        }
    }
}

// ---- the whole command ----------------------------------------------------------------------

// The best wall time of `runs` runs of a command (its output discarded) and its peak resident
// memory, as the kernel accounts it to the child.
struct CommandCost {
    double seconds = 1e30;
    double peak_mb = 0;
};

CommandCost time_command(const std::vector<std::string>& args, int runs) {
    CommandCost cost;
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        const pid_t pid = fork();
        if (pid == 0) {
            const int null = open("/dev/null", O_WRONLY);
            if (null >= 0) dup2(null, 1);
            execv(argv[0], argv.data());
            _exit(127);
        }
        int status = 0;
        rusage usage{};
        if (pid < 0 || wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            std::fprintf(stderr, "accsim_bench: %s failed\n", args[0].c_str());
            std::exit(1);
        }
        cost.seconds =
            std::min(cost.seconds, std::chrono::duration<double>(Clock::now() - t0).count());
        cost.peak_mb = std::max(cost.peak_mb, usage.ru_maxrss / 1024.0);
    }
    return cost;
}

// The directory this benchmark runs from (the accsim executable lies beside it).
std::string own_directory() {
    std::error_code ec;
    return std::filesystem::read_symlink("/proc/self/exe", ec).parent_path().string();
}

// The LLM block (tools/make_llm_block.py; generated on first use): oneDNN on its GEMMs, the fast
// replay, and the whole `accsim audit` command with its time and memory.
void bench_llm(std::string path, const std::vector<int>& threads, double budget,
               std::vector<Row>& rows) {
    if (path.empty()) path = own_directory() + "/../llm-block.trace";
    if (!std::filesystem::exists(path)) {
        const std::string generate = std::string("/usr/bin/python3 ") + ACCSIM_SOURCE_DIR +
                                     "/tools/make_llm_block.py --out '" + path + "'";
        std::printf("generating the LLM block: %s\n", generate.c_str());
        if (std::system(generate.c_str()) != 0) std::exit(1);
    }
    const std::string acc_text = "128x16,32:sat";
    ConfigSources src;
    src.acc = acc_text;
    const HwConfig config = load_config(src);
    const Trace trace = Trace::load(path);
    double tensor_bytes = 0;
    for (const auto& e : std::filesystem::directory_iterator(path))
        if (e.path().extension() == ".safetensors") tensor_bytes += e.file_size();
    CommandCost audit[2];
    double onednn[2] = {0, 0}, macs = 0;
    const std::string name =
        trace.model() + " (" + std::to_string(trace.layers().size()) + " layers)";
    {
        const std::vector<Work> layers = trace_works(trace, config);
        for (const Work& w : layers) macs += w.macs();
#ifdef ACCSIM_HAVE_DNNL
        OnednnTrace gemms(layers);
        for (std::size_t ti = 0; ti < threads.size(); ++ti) {
            onednn[ti] = gemms.rate(threads[ti], budget);
            rows.push_back(Row{name, "oneDNN int8 GEMM", "(exact, no register)", threads[ti],
                               onednn[ti], onednn[ti], 0});
        }
#endif
        for (std::size_t ti = 0; ti < threads.size(); ++ti) {
            const double t = best_time(
                [&] { run_fast_trace(layers, config.accumulator, threads[ti], macs); }, budget);
            rows.push_back(Row{name, std::string("fast replay (") + packed_kernel_name() + ")",
                               acc_text, threads[ti], macs / t / 1e9, onednn[ti], 0});
        }
    }
    for (std::size_t ti = 0; ti < threads.size(); ++ti) {
        audit[ti] = time_command({own_directory() + "/accsim", "audit", "--trace", path, "--acc",
                                  acc_text, "--quiet", "--threads", std::to_string(threads[ti])},
                                 g_once ? 1 : 3);
        rows.push_back(Row{name, "accsim audit, whole command", acc_text, threads[ti],
                           macs / audit[ti].seconds / 1e9, onednn[ti], 0});
    }
    for (std::size_t ti = 0; ti < threads.size(); ++ti) {
        const double gemm_s = onednn[ti] > 0 ? macs / onednn[ti] / 1e9 : 0;
        std::printf(
            "LLM block, %d thread(s): %.1f G MAC, tensors %.0f MB; accsim audit --acc %s: %.2f s "
            "(%.1fx the %.3f s of oneDNN's GEMMs), peak %.0f MB (%.2fx the tensor bytes)\n",
            threads[ti], macs / 1e9, tensor_bytes / 1e6, acc_text.c_str(), audit[ti].seconds,
            gemm_s > 0 ? audit[ti].seconds / gemm_s : 0.0, gemm_s, audit[ti].peak_mb,
            audit[ti].peak_mb * 1048576.0 / tensor_bytes);
    }
}

// FP8 E4M3 GEMM through Hopper's FP8 accumulator (with and without promotion every 128) and
// Blackwell's, against oneDNN's f32 GEMM on the same values and shape.
void bench_fp8(int64_t m, int64_t n, int64_t k, const std::vector<int>& thread_counts,
               double budget, std::vector<Row>& rows) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> code(0, 255);
    api::FloatReplayRequest r;
    r.rows = m, r.channels = n, r.k = k;
    r.x_format = r.w_format = "e4m3";
    r.x.resize(static_cast<std::size_t>(m * k));
    r.w.resize(static_cast<std::size_t>(n * k));
    for (auto* v : {&r.x, &r.w})
        for (uint32_t& c : *v) {
            c = static_cast<uint32_t>(code(rng));
            if ((c & 0x7f) == 0x7f) c ^= 1;  // no NaN
        }
    const std::string name =
        "FP8 e4m3 " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
    const double macs = static_cast<double>(m * n * k);
    double onednn[2] = {0, 0};
#ifdef ACCSIM_HAVE_DNNL
    {
        const FloatFormat& f = operand_float_format("e4m3");
        std::vector<float> a(r.x.size()), b(r.w.size()), c(static_cast<std::size_t>(m * n));
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(f.to_double(r.x[i]));
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(f.to_double(r.w[i]));
        for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
            omp_set_num_threads(thread_counts[ti]);
            const double t = best_time(
                [&] {
                    if (dnnl_sgemm('N', 'T', m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f,
                                   c.data(), n) != dnnl_success)
                        std::abort();
                    g_sink = g_sink + static_cast<uint64_t>(c[0] != 0);
                },
                budget);
            onednn[ti] = macs / t / 1e9;
            rows.push_back(Row{name, "oneDNN f32 GEMM", "(fp32, not exact)", thread_counts[ti],
                               onednn[ti], onednn[ti], 0});
        }
    }
#endif
    for (const char* acc : {"e8m13:g32:f13:rz", "128xe8m13:g32:f13:rz,e8m23", "e8m23:g32:f25:rz"}) {
        r.acc = acc;
        for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
            r.threads = thread_counts[ti];
            const double t = best_time(
                [&] {
                    const api::FloatReplayResult out = api::replay_float(r);
                    g_sink = g_sink + static_cast<uint64_t>(out.values[0] != 0);
                },
                budget);
            rows.push_back(Row{name, "float replay (accsim.replay)", acc, thread_counts[ti],
                               macs / t / 1e9, onednn[ti], 0});
        }
    }
}

}  // namespace

int sc_main(int argc, char** argv) {
    bool quick = false;
    std::string only;      // one part of the benchmark (for profiles)
    std::string llm_path;  // the LLM block's trace (default: build/llm-block.trace)
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--quick")
            quick = true;
        else if (std::string(argv[i]) == "--once")
            g_once = true;
        else if (std::string(argv[i]) == "--only" && i + 1 < argc)
            only = argv[++i];
        else if (std::string(argv[i]) == "--llm" && i + 1 < argc)
            llm_path = argv[++i];
        else if (std::string(argv[i]).rfind("-", 0) == 0) {
            const bool help = std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h";
            std::fprintf(
                help ? stdout : stderr,
                "%susage: accsim_bench [--quick] [--once] "
                "[--only safe|overflow|sc_int|llm|fp8|trace] [--llm DIR] [TRACE] [CONFIG]\n",
                help ? ""
                     : ("accsim_bench: unknown option " + std::string(argv[i]) + "\n").c_str());
            return help ? 0 : 2;
        } else
            args.push_back(argv[i]);
    }
    auto part = [&](const char* name) { return only.empty() || only == name; };
    const std::string root = ACCSIM_SOURCE_DIR;
    const std::string trace_path =
        args.size() > 0 ? args[0] : root + "/traces/examples/ssd-mobilenetv1.trace";
    const std::string config_path = args.size() > 1 ? args[1] : root + "/configs/default.json";
    const int all = default_threads();
    const std::vector<int> threads = all > 1 ? std::vector<int>{1, all} : std::vector<int>{1};
    const double budget = quick ? 0.05 : 0.5;
#ifdef ACCSIM_HAVE_DNNL
    const dnnl_version_t* v = dnnl_version();
    std::printf("accsim_bench: %d hardware threads, packed kernel %s, oneDNN %d.%d.%d\n", all,
                packed_kernel_name(), v->major, v->minor, v->patch);
#else
    std::printf(
        "accsim_bench: %d hardware threads, packed kernel %s, no oneDNN (install "
        "libdnnl-dev)\n",
        all, packed_kernel_name());
#endif
    std::vector<Row> rows;

    // A layer whose exact bound proves it safe on these registers (u8 x s8 x 1024 < 2^25).
    const Work layer = random_layer(quick ? 64 : 256, quick ? 64 : 256, 1024);
    if (part("safe"))
        bench_work(layer, {{"32 wrap (safe)", "32"}, {"128x24,32:sat (safe)", "128x24,32:sat"}},
                   threads, true, budget, rows);
    // The same layer where every output overflows.
    if (part("overflow"))
        bench_work(layer,
                   {{"12 wrap (overflows)", "12"},
                    {"12:sat (overflows)", "12:sat"},
                    {"128x12,16 (overflows)", "128x12,16"}},
                   threads, true, budget, rows);
    if (part("sc_int")) {
        // The naive SystemC loop on the same layer.
        const double safe = layer.macs() / best_time([&] { run_sc_int<32>(layer); }, budget) / 1e9;
        const double over = layer.macs() / best_time([&] { run_sc_int<12>(layer); }, budget) / 1e9;
        rows.push_back(Row{layer.name, "sc_int<32> loop", "32 wrap (safe)", 1, safe, 0, 0});
        rows.push_back(Row{layer.name, "sc_int<12> loop", "12 wrap (overflows)", 1, over, 0, 0});
    }

    if (only == "llm" || (only.empty() && !quick)) bench_llm(llm_path, threads, budget, rows);
    if (part("fp8")) bench_fp8(quick ? 32 : 128, quick ? 32 : 128, 4096, threads, budget, rows);

    if (!part("trace")) {
        print(rows);
        return 0;
    }
    // A whole real trace, layer by layer, with its config's accumulator.
    ConfigSources src;
    src.file = config_path;
    const HwConfig config = load_config(src);
    const Trace trace = Trace::load(trace_path);
    std::vector<Work> layers = trace_works(trace, config);
    double trace_macs = 0;
    for (const Work& w : layers) trace_macs += w.macs();
    const std::string tname = trace.model() + " (" + std::to_string(layers.size()) + " layers)";
    const std::string acc_text = config.accumulator.describe();
    double ref_rate = 0;
    {
        const double t = best_time(
            [&] {
                for (const Work& w : layers) run_reference(w, config.accumulator);
            },
            budget);
        ref_rate = trace_macs / t / 1e9;
        rows.push_back(Row{tname, "scalar reference", acc_text, 1, ref_rate, 0, ref_rate});
    }
#ifdef ACCSIM_HAVE_DNNL
    double onednn_rate[2] = {0, 0};
    {
        OnednnTrace gemms(layers);
        for (std::size_t ti = 0; ti < threads.size(); ++ti) {
            onednn_rate[ti] = gemms.rate(threads[ti], budget);
            rows.push_back(Row{tname, "oneDNN int8 GEMM", "(exact, no register)", threads[ti],
                               onednn_rate[ti], onednn_rate[ti], 0});
        }
    }
#else
    const double onednn_rate[2] = {0, 0};
#endif
    for (std::size_t ti = 0; ti < threads.size(); ++ti) {
        const int n = threads[ti];
        const double t =
            best_time([&] { run_fast_trace(layers, config.accumulator, n, trace_macs); }, budget);
        rows.push_back(Row{tname, std::string("fast replay (") + packed_kernel_name() + ")",
                           acc_text, threads[ti], trace_macs / t / 1e9, onednn_rate[ti], ref_rate});
    }
    {
        FastCounters c;
        for (const Work& w : layers)
            c.add(run_fast(w, config.accumulator, 1, w.stage1_safe).counters);
        std::printf(
            "%s on %s: %llu stage-1 chunks, %.2f %% replayed per addition, %.2f %% scanned "
            "for the observed width\n",
            tname.c_str(), acc_text.c_str(), static_cast<unsigned long long>(c.chunks),
            100.0 * c.replayed / c.chunks, 100.0 * c.scanned / c.chunks);
    }
    // The whole audit as the CLI runs it (bounds, replay, statistics, output checks), and the
    // transaction-level SystemC run on top of it.
    std::vector<const LayerSpec*> all_layers;
    for (const LayerSpec& l : trace.layers()) all_layers.push_back(&l);
    for (int t : threads) {
        const double audit =
            best_time([&] { audit_layers(all_layers, config, trace.manifest_path(), t); }, budget);
        rows.push_back(Row{tname, "accsim audit (bounds + replay + stats)", acc_text, t,
                           trace_macs / audit / 1e9, 0, ref_rate});
    }
    if (config.array && config.memory) {
        // SystemC elaborates once per process: one timed run, against one audit just before.
        SimOptions o = sim_options(config, SimMode::tlm, "");
        o.threads = threads.back();
        const auto a0 = Clock::now();
        for (const LayerSpec& l : trace.layers())
            audit_layer(l, config, trace.manifest_path(), o.threads);
        const double audit = std::chrono::duration<double>(Clock::now() - a0).count();
        const auto t0 = Clock::now();
        run_layers(all_layers, config, o, trace.manifest_path());
        const double run = std::chrono::duration<double>(Clock::now() - t0).count();
        rows.push_back(Row{tname, "accsim run --mode tlm (SystemC)", acc_text, o.threads,
                           trace_macs / run / 1e9, 0, ref_rate});
        std::printf(
            "transaction-level run over the bare audit, %d threads: %.3f s / %.3f s = %+.1f %%\n",
            o.threads, run, audit, 100.0 * (run / audit - 1));
    }
    print(rows);
    return 0;
}

int main(int argc, char** argv) {
    setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
    return sc_core::sc_elab_and_sim(argc, argv);
}
