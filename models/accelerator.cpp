#include "accelerator.h"

#include <exception>
#include <memory>
#include <systemc>

#include "models/sanitizer_stack.h"

#include "models/array_kind.h"
#include "models/cycle_array.h"
#include "models/cycle_bank.h"
#include "models/tile_kernel.h"
#include "models/timing_replay.h"

namespace accsim {
namespace {

using sc_core::sc_module;
using sc_core::sc_module_name;
using sc_core::SC_NS;
using sc_core::sc_port;
using sc_core::sc_time;

// One cycle of the array's clock is 1 ns of simulated time; reports convert with clock_mhz.
const sc_time k_cycle(1, SC_NS);

int64_t cycles(const sc_time& t) {
    return static_cast<int64_t>(t / k_cycle);
}

// ---- interfaces between the modules ---------------------------------------------------------

class MemoryIf : public virtual sc_core::sc_interface {
  public:
    virtual void begin_layer(const LayerWork& work, const ElementBytes& bytes) = 0;
    // Blocks for the stall cycles the fold's data costs; returns the traffic.
    virtual TrafficCounters fetch(const Fold& f, int64_t previous_compute) = 0;
    virtual TrafficCounters write_back() = 0;
};

class AccumulatorIf : public virtual sc_core::sc_interface {
  public:
    virtual void begin_layer(const LayerJob& job) = 0;
    virtual void accumulate(const OutputTile& tile) = 0;
};

class ArrayIf : public virtual sc_core::sc_interface {
  public:
    virtual void begin_layer(const LayerJob& job) = 0;
    // Blocks for the fold's compute cycles.
    virtual void compute(const Fold& f) = 0;
};

// ---- memory system: buffers and DRAM, a shell around MemoryModel -------------------------------

class MemorySystem : public sc_module, public MemoryIf {
  public:
    MemorySystem(sc_module_name name, const MemorySpec& spec, const SimOptions& o)
        : sc_module(name), m_model(spec, o.dram_stalls, o.sram_limits) {}

    void begin_layer(const LayerWork& work, const ElementBytes& bytes) override {
        m_model.begin_layer(work, bytes);
    }
    TrafficCounters fetch(const Fold& f, int64_t previous_compute) override {
        const FoldCost c = m_model.fold(f, previous_compute);
        if (c.stall > 0) wait(c.stall * k_cycle);
        return c.traffic;
    }
    TrafficCounters write_back() override {
        const FoldCost c = m_model.end_layer();
        if (c.stall > 0) wait(c.stall * k_cycle);
        return c.traffic;
    }

  private:
    MemoryModel m_model;
};

// ---- accumulator: the config's stages, a shell around the tile kernel ---------------------------

class Accumulator : public sc_module, public AccumulatorIf {
  public:
    Accumulator(sc_module_name name, const AccumulatorSpec& spec, int threads)
        : sc_module(name), m_spec(spec), m_threads(threads) {}

    void begin_layer(const LayerJob& job) override {
        m_job = &job;
        m_kernel.reset();
        if (job.values)
            m_kernel = std::make_unique<TileKernel>(m_spec, job.work, m_threads, job.stage1_safe);
    }
    void accumulate(const OutputTile& tile) override {
        if (m_kernel) m_kernel->run(tile, *m_job->values, *m_job->sink);
    }

  private:
    AccumulatorSpec m_spec;
    int m_threads;
    const LayerJob* m_job = nullptr;
    std::unique_ptr<TileKernel> m_kernel;
};

// ---- transaction-level array: whole folds, time annotated ---------------------------------------

class ArrayTlm : public sc_module, public ArrayIf {
  public:
    sc_port<AccumulatorIf> accumulator;

    ArrayTlm(sc_module_name name, const ArraySpec& spec) : sc_module(name), m_spec(spec) {}

    void begin_layer(const LayerJob& job) override { m_work = &job.work; }
    void compute(const Fold& f) override {
        if (f.compute_cycles > 0) wait(f.compute_cycles * k_cycle);
        for (const OutputTile& t : completed_tiles(m_spec, *m_work, f)) accumulator->accumulate(t);
    }

  private:
    ArraySpec m_spec;
    const LayerWork* m_work = nullptr;
};

// ---- cycle-accurate array: every PE clocked, the fold's own cycle count
// ---------------------------

class ArrayCycle : public sc_module, public ArrayIf {
  public:
    ArrayCycle(sc_module_name name, const ArraySpec& spec, const AccumulatorSpec& acc,
               const SimOptions& o)
        : sc_module(name),
          m_spec(spec),
          m_acc(acc),
          m_convention(o.convention),
          m_rows(static_cast<std::size_t>(
              std::min<int64_t>(array_kind_model(spec.kind).waveform_rows(spec), 16))) {
        for (std::size_t i = 0; i < m_rows.size(); ++i)
            m_rows[i] = std::make_unique<sc_core::sc_signal<bool>>(
                sc_core::sc_gen_unique_name("row_valid"));
    }

    void begin_layer(const LayerJob& job) override {
        m_job = &job;
        m_bank.reset();
        if (job.values) m_bank = std::make_unique<CycleBank>(m_acc, job.work.k, job.sink);
    }

    void compute(const Fold& f) override {
        std::unique_ptr<FoldSim> sim =
            make_fold_sim(m_spec, m_acc, m_convention, m_job->work, f, m_job->values, m_bank.get());
        while (!sim->done()) {
            sim->step();
            const CycleProbe& p = sim->probe();
            for (std::size_t i = 0; i < m_rows.size(); ++i)
                m_rows[i]->write((p.row_valid >> i) & 1);
            pe00.write(p.pe00);
            overflow.write(p.overflow);
            wait(k_cycle);
        }
    }

    void trace(sc_core::sc_trace_file* tf) {
        for (std::size_t i = 0; i < m_rows.size(); ++i)
            sc_core::sc_trace(tf, *m_rows[i], "array.row" + std::to_string(i) + "_valid");
        sc_core::sc_trace(tf, pe00, "array.pe0_0.psum");
        sc_core::sc_trace(tf, overflow, "array.overflow");
    }

    sc_core::sc_signal<sc_dt::int64> pe00{"pe00"};
    sc_core::sc_signal<bool> overflow{"overflow"};

  private:
    ArraySpec m_spec;
    AccumulatorSpec m_acc;
    TimingConvention m_convention;
    std::vector<std::unique_ptr<sc_core::sc_signal<bool>>> m_rows;
    const LayerJob* m_job = nullptr;
    std::unique_ptr<CycleBank> m_bank;
};

// ---- controller: tiles each layer onto the array and drives memory ------------------------------

class Controller : public sc_module {
  public:
    sc_port<MemoryIf> memory;
    sc_port<ArrayIf> array;
    sc_port<AccumulatorIf> accumulator;

    Controller(sc_module_name name, const ArraySpec& spec, const AccumulatorSpec& acc,
               const std::vector<LayerJob>& jobs, const SimOptions& o,
               std::vector<LayerTiming>& results)
        : sc_module(name),
          m_spec(spec),
          m_stage1_length(acc.stages.size() > 1 ? *acc.stages.front().length : 0),
          m_jobs(jobs),
          m_options(o),
          m_results(results) {
        SC_HAS_PROCESS(Controller);
        SC_THREAD(run);
    }

  private:
    void run() {
        // An exception must not escape a SystemC process: keep it for simulate() to rethrow.
        try {
            run_layers();
        } catch (...) {
            m_error = std::current_exception();
        }
        sc_core::sc_stop();  // the clock would tick on forever
    }

    void run_layers() {
        for (const LayerJob& job : m_jobs) {
            const FoldSchedule s =
                schedule_folds(m_spec, job.work, m_options.convention, m_stage1_length);
            LayerTiming t = begin_layer_timing(m_spec, job.work, s);
            memory->begin_layer(job.work, job.bytes);
            accumulator->begin_layer(job);
            array->begin_layer(job);
            const sc_time start = sc_core::sc_time_stamp();
            int64_t previous = 0;
            for (const Fold& f : s.folds) {
                t.traffic.add(memory->fetch(f, previous));
                const sc_time before = sc_core::sc_time_stamp();
                array->compute(f);
                previous = cycles(sc_core::sc_time_stamp() - before);
                t.compute += previous;
            }
            t.traffic.add(memory->write_back());
            const int64_t elapsed = cycles(sc_core::sc_time_stamp() - start);
            // Per layer: the pipeline's depth (vector units), or SCALE-Sim's one cycle short.
            if (s.extra_cycles > 0) wait(s.extra_cycles * k_cycle);
            end_layer_timing(t, s, elapsed);
            m_results.push_back(t);
        }
    }

  public:
    std::exception_ptr m_error;

  private:
    ArraySpec m_spec;
    int64_t m_stage1_length;
    const std::vector<LayerJob>& m_jobs;
    SimOptions m_options;
    std::vector<LayerTiming>& m_results;
};

struct Top : sc_module {
    Controller controller;
    MemorySystem memory;
    Accumulator accumulator;
    std::unique_ptr<ArrayTlm> tlm;
    std::unique_ptr<ArrayCycle> cycle;
    // A clock only for waveforms: the models count cycles themselves, and a free-running clock
    // would cost an event per cycle of the whole run.
    std::unique_ptr<sc_core::sc_clock> clock;

    Top(sc_module_name name, const ArraySpec& a, const MemorySpec& m, const AccumulatorSpec& acc,
        const std::vector<LayerJob>& jobs, const SimOptions& o, std::vector<LayerTiming>& results)
        : sc_module(name),
          controller("controller", a, acc, jobs, o, results),
          memory("memory", m, o),
          accumulator("accumulator", acc, o.threads) {
        controller.memory(memory);
        controller.accumulator(accumulator);
        if (!o.vcd_path.empty()) clock = std::make_unique<sc_core::sc_clock>("clock", k_cycle);
        if (o.mode == SimMode::cycle) {
            cycle = std::make_unique<ArrayCycle>("array", a, acc, o);
            controller.array(*cycle);
        } else {
            tlm = std::make_unique<ArrayTlm>("array", a);
            tlm->accumulator(accumulator);
            controller.array(*tlm);
        }
    }
};

}  // namespace

std::vector<LayerTiming> simulate(const ArraySpec& array, const MemorySpec& memory,
                                  const AccumulatorSpec& acc, const std::vector<LayerJob>& jobs,
                                  const SimOptions& options) {
    std::vector<LayerTiming> results;
    // SystemC's notices (such as "simulation stopped by user") are not accsim's output.
    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    Top top("accelerator", array, memory, acc, jobs, options, results);
    sc_core::sc_trace_file* vcd = nullptr;
    if (!options.vcd_path.empty() && top.cycle) {
        // SystemC appends ".vcd" itself (the command line insists on a name ending in it).
        std::string base = options.vcd_path;
        if (base.size() > 4 && base.compare(base.size() - 4, 4, ".vcd") == 0)
            base.resize(base.size() - 4);
        vcd = sc_core::sc_create_vcd_trace_file(base.c_str());
        vcd->set_time_unit(100, sc_core::SC_PS);  // the clock's half period must be representable
        sc_core::sc_trace(vcd, *top.clock, "clock");
        top.cycle->trace(vcd);
    }
    sc_core::sc_start();
    sanitizer_back_on_main_stack();
    if (vcd) sc_core::sc_close_vcd_trace_file(vcd);
    if (top.controller.m_error) std::rethrow_exception(top.controller.m_error);
    return results;
}

}  // namespace accsim
