// Work units give the same results whoever runs them and in whatever order they finish: a pool
// that claims several processes (so that big layers are split) and runs the ready units in a
// random order, accepting their results shuffled, must give exactly what one process gives, for
// audits (split by channel blocks and by groups) and for sweeps (chains, derivations, points).
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "datapath/byte_stream.h"
#include "engine/audit_bytes.h"
#include "engine/audit_units.h"
#include "engine/layer_audit.h"
#include "engine/work_pool.h"
#include "models/layer_work.h"
#include "sweep/sweep.h"
#include "sweep/sweep_grid.h"
#include "traces/trace.h"

using namespace accsim;

namespace {

// Claims `processes` processes; runs every ready unit (one thread each) in a shuffled order and
// hands the results back shuffled too, a few at a time.
class ShufflePool : public WorkPool {
  public:
    ShufflePool(int processes, unsigned seed) : m_processes(processes), m_rng(seed) {}
    bool coordinates() const override { return true; }
    int processes() const override { return m_processes; }
    void agree(std::exception_ptr error) override {
        if (error) std::rethrow_exception(error);
    }
    void leave(std::exception_ptr) override {}
    void drive(UnitSource* source, const UnitRunner& runner) override {
        std::vector<std::pair<uint64_t, std::string>> done;
        while (!source->finished()) {
            std::vector<WorkUnit> units = source->take(1 + m_rng() % 5);
            if (units.empty() && done.empty())
                throw std::logic_error("shuffle pool: nothing ready, nothing out");
            std::shuffle(units.begin(), units.end(), m_rng);
            for (const WorkUnit& u : units) done.emplace_back(u.id, runner(u.bytes, 1));
            taken += units.size();
            std::shuffle(done.begin(), done.end(), m_rng);
            // Hand back some of what finished; the rest stays "out" a while longer.
            const std::size_t back = units.empty() ? done.size() : m_rng() % (done.size() + 1);
            for (std::size_t i = 0; i < back; ++i) {
                source->accept(done.back().first, done.back().second);
                done.pop_back();
            }
        }
        CHECK(done.empty());
    }
    std::size_t taken = 0;  // units run

  private:
    int m_processes;
    std::mt19937 m_rng;
};

std::string bytes_of(const LayerAudit& a) {
    ByteWriter w;
    write_audit(w, a);
    return w.take();
}

std::string example(const std::string& name) {
    return std::string(ACCSIM_SOURCE_DIR) + "/traces/examples/" + name;
}

}  // namespace

TEST_CASE("audits split over processes and run in any order equal one process") {
    struct Case {
        const char* trace;
        const char* acc;
    };
    // Pointwise and depthwise convolutions (channel blocks and groups), overflowing or not,
    // with trees and saturation.
    for (const Case c : {Case{"ssd-mobilenetv1.trace", "32x13,18"},
                         Case{"tiny-face-detector.trace", "64x14:sat,24:tree"},
                         Case{"ppocr-v4-svtr.trace", "16"}, Case{"small-cnn.trace", "32"}}) {
        CAPTURE(c.trace);
        const Trace trace = Trace::load(example(c.trace));
        ConfigSources sources;
        sources.acc = c.acc;
        const HwConfig config = load_config(sources);
        std::vector<const LayerSpec*> layers;
        for (const LayerSpec& l : trace.layers()) layers.push_back(&l);
        const std::vector<LayerAudit> one = audit_layers(layers, config, trace.manifest_path(), 2);
        for (int processes : {2, 3, 8}) {
            for (unsigned seed : {1u, 2u}) {
                CAPTURE(processes);
                ShufflePool pool(processes, seed);
                const std::vector<LayerAudit> split =
                    audit_layers_on(pool, layers, config, trace.manifest_path(), 1);
                REQUIRE(split.size() == one.size());
                for (std::size_t l = 0; l < one.size(); ++l) {
                    CAPTURE(layers[l]->name);
                    CHECK(bytes_of(split[l]) == bytes_of(one[l]));
                }
                // With 8 processes every layer over 1/16 of the work is split.
                if (processes == 8) CHECK(pool.taken > layers.size());
            }
        }
    }
}

TEST_CASE("a split layer's parts cover its tasks once, in blocks of channels or groups") {
    const Trace trace = Trace::load(example("ssd-mobilenetv1.trace"));
    for (const LayerSpec& l : trace.layers()) {
        const LayerWork w = layer_work(l);
        std::vector<int> seen(static_cast<std::size_t>(replay_tasks(w)), 0);
        const TaskBlock all = all_tasks(w);
        // Halves: by groups when there are several, else by channel blocks.
        std::vector<TaskBlock> halves(2, all);
        if (w.groups > 1) {
            halves[0].g1 = halves[1].g0 = w.groups / 2;
        } else {
            halves[0].c1 = halves[1].c0 = channel_blocks(w) / 2;
        }
        for (const TaskBlock& b : halves)
            for (int64_t t : task_indices(w, b)) ++seen.at(static_cast<std::size_t>(t));
        CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
        const std::vector<int64_t> order = task_indices(w, all);
        CHECK(std::is_sorted(order.begin(), order.end()));
    }
}

TEST_CASE("a sweep whose units finish in any order gives the same sweep") {
    const Trace trace = Trace::load(example("tiny-face-detector.trace"));
    std::vector<const LayerSpec*> layers;
    for (const LayerSpec& l : trace.layers()) layers.push_back(&l);
    SweepOptions o;
    o.base.file = std::string(ACCSIM_SOURCE_DIR) + "/configs/asic/systolic-32x32-os.json";
    o.accs = {"32x13,24", "64x13,24", "16"};
    o.axes = {parse_grid("accumulator.stages.0.bits=13..19:3"),
              parse_grid("memory.dram.bandwidth_bytes_per_cycle=8,32")};
    o.threads = 2;
    const auto one = run_sweep(o, trace, layers).sweep;
    for (bool derive : {true, false}) {
        o.derive = derive;
        const auto reference = derive ? one : run_sweep(o, trace, layers).sweep;
        for (unsigned seed : {3u, 4u, 5u}) {
            ShufflePool pool(4, seed);
            o.pool = &pool;
            CHECK(run_sweep(o, trace, layers).sweep == reference);
            o.pool = nullptr;
        }
    }
}
