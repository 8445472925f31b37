#include "engine/audit_units.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "datapath/byte_stream.h"
#include "engine/audit_bytes.h"
#include "engine/float_audit.h"

namespace accsim {

namespace {

struct Part {
    std::size_t layer = 0;
    int64_t from = 0, to = 0;  // replay tasks; whole layer: 0, 0
    bool whole = true;
    int64_t size = 0;  // multiply-accumulates, for the order
};

std::string encode(const Part& p) {
    ByteWriter w;
    w.put(static_cast<uint64_t>(p.layer));
    w.put(p.from);
    w.put(p.to);
    w.put_bool(p.whole);
    return w.take();
}

// What every process keeps between units: each layer's binding and static audit, made once.
class AuditRunner {
  public:
    AuditRunner(const std::vector<const LayerSpec*>& layers, const HwConfig& config,
                const std::string& manifest)
        : m_layers(layers),
          m_config(config),
          m_manifest(manifest),
          m_once(layers.size()),
          m_bindings(layers.size()),
          m_static(layers.size()) {}

    std::string run(const std::string& unit, int threads) {
        ByteReader r(unit);
        const std::size_t l = r.get<uint64_t>();
        const int64_t from = r.get<int64_t>(), to = r.get<int64_t>();
        const bool whole = r.get_bool();
        r.finish();
        if (l >= m_layers.size()) throw std::runtime_error("audit unit: no such layer");
        std::call_once(m_once[l], [&] {
            m_bindings[l] = std::make_unique<LayerBinding>(*m_layers[l], m_config);
            m_static[l] = std::make_unique<LayerAudit>(
                static_audit(*m_bindings[l], m_config.accumulator, threads));
        });
        const LayerBinding& b = *m_bindings[l];
        ByteWriter w;
        if (whole) {
            write_audit(w, replay_layer(b, *m_static[l], m_config, m_manifest, threads));
            return w.take();
        }
        const std::vector<OverflowStats> stats =
            replay_task_range(b, *m_static[l], m_config, m_manifest, from, to, threads);
        w.put(static_cast<uint64_t>(stats.size()));
        for (const OverflowStats& s : stats) write_stats(w, s);
        if (from == 0) {  // the first part brings the static audit
            write_audit(w, *m_static[l]);
            w.put_bool(replay_verifies(b));
        }
        return w.take();
    }

  private:
    const std::vector<const LayerSpec*>& m_layers;
    const HwConfig& m_config;
    const std::string& m_manifest;
    std::vector<std::once_flag> m_once;
    std::vector<std::unique_ptr<LayerBinding>> m_bindings;
    std::vector<std::unique_ptr<LayerAudit>> m_static;
};

class AuditSource : public UnitSource {
  public:
    explicit AuditSource(std::vector<Part> parts) : m_parts(std::move(parts)) {
        for (std::size_t i = 0; i < m_parts.size(); ++i) m_order.push_back(i);
        std::stable_sort(m_order.begin(), m_order.end(), [&](std::size_t a, std::size_t b) {
            return m_parts[a].size > m_parts[b].size;
        });
        m_results.resize(m_parts.size());
    }
    std::vector<WorkUnit> take(std::size_t max) override {
        std::vector<WorkUnit> out;
        while (out.size() < max && m_next < m_order.size()) {
            const std::size_t i = m_order[m_next++];
            out.push_back(WorkUnit{i, encode(m_parts[i]), false});
        }
        return out;
    }
    void accept(uint64_t id, const std::string& result) override {
        m_results.at(id) = result;
        ++m_accepted;
    }
    bool finished() const override { return m_accepted == m_parts.size(); }
    const std::vector<std::string>& results() const { return m_results; }

  private:
    std::vector<Part> m_parts;
    std::vector<std::size_t> m_order;
    std::size_t m_next = 0, m_accepted = 0;
    std::vector<std::string> m_results;
};

// A source with nothing to do: releases the other ranks.
class NoUnits : public UnitSource {
  public:
    std::vector<WorkUnit> take(std::size_t) override { return {}; }
    void accept(uint64_t, const std::string&) override {}
    bool finished() const override { return true; }
};

}  // namespace

std::vector<LayerAudit> audit_layers_on(WorkPool& pool, const std::vector<const LayerSpec*>& layers,
                                        const HwConfig& config, const std::string& manifest_path,
                                        int threads, bool keep_outputs) {
    try {
        for (const LayerSpec* l : layers)
            check_float_pairing(*l, config.accumulator, manifest_path);
    } catch (...) {
        pool.agree(false);
        throw;
    }
    pool.agree(true);
    AuditRunner runner(layers, config, manifest_path);
    const UnitRunner run = [&](const std::string& unit, int t) { return runner.run(unit, t); };
    if (!pool.coordinates()) {
        pool.drive(nullptr, run);
        return {};
    }
    if (keep_outputs) {
        NoUnits none;
        pool.drive(&none, run);
        return audit_layers(layers, config, manifest_path, threads, true);
    }
    // Units: every layer whole, but a big integer layer in parts of its replay tasks, about four
    // per process, so that the biggest-first order keeps every process busy to the end.
    int64_t all_macs = 0;
    for (const LayerSpec* l : layers) all_macs += l->macs();
    const int64_t processes = pool.processes();
    std::vector<Part> parts;
    std::vector<std::vector<std::size_t>> parts_of(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const int64_t macs = layers[l]->macs();
        int64_t tasks = 0;
        const bool splittable =
            !replays_as_float(*layers[l], config.accumulator) && macs * 4 * processes >= all_macs;
        if (splittable) tasks = replay_tasks(LayerBinding(*layers[l], config));
        const int64_t n = std::min<int64_t>(tasks, 4 * processes);
        if (n < 2) {
            parts_of[l].push_back(parts.size());
            parts.push_back(Part{l, 0, 0, true, macs});
            continue;
        }
        for (int64_t p = 0; p < n; ++p) {
            const int64_t from = tasks * p / n, to = tasks * (p + 1) / n;
            parts_of[l].push_back(parts.size());
            parts.push_back(Part{l, from, to, false, macs * (to - from) / tasks});
        }
    }
    AuditSource source(parts);
    pool.drive(&source, run);

    std::vector<LayerAudit> audits;
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const std::vector<std::size_t>& mine = parts_of[l];
        if (parts[mine.front()].whole) {
            ByteReader r(source.results()[mine.front()]);
            audits.push_back(read_audit(r, *layers[l], config.accumulator));
            r.finish();
            continue;
        }
        // The static part from the first part, then every task's statistics in task order.
        std::vector<std::vector<OverflowStats>> stats;
        std::optional<LayerAudit> a;
        bool verified = false;
        for (std::size_t i : mine) {
            ByteReader r(source.results()[i]);
            const uint64_t n = r.get<uint64_t>();
            stats.emplace_back();
            for (uint64_t t = 0; t < n; ++t) stats.back().push_back(read_stats(r));
            if (parts[i].from == 0) {
                a = read_audit(r, *layers[l], config.accumulator);
                verified = r.get_bool();
            }
            r.finish();
        }
        for (const auto& part : stats)
            for (const OverflowStats& s : part) a->overflow.merge(s);
        a->output_verified = verified;
        audits.push_back(std::move(*a));
    }
    return audits;
}

}  // namespace accsim
