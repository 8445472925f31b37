#include "engine/audit_units.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "datapath/byte_stream.h"
#include "engine/audit_bytes.h"
#include "engine/float_audit.h"
#include "models/layer_work.h"

namespace accsim {

namespace {

// A unit: a whole layer (binding, static audit and replay), or a block of a big integer layer's
// replay tasks with the static bounds of its channels.
struct Part {
    std::size_t layer = 0;
    bool whole = true;
    TaskBlock block;
    int64_t size = 0;    // multiply-accumulates, for the order
    bool alone = false;  // big enough to take all of a process's threads
};

std::string encode(const Part& p) {
    ByteWriter w;
    w.put(static_cast<uint64_t>(p.layer));
    w.put_bool(p.whole);
    w.put(p.block.g0);
    w.put(p.block.g1);
    w.put(p.block.c0);
    w.put(p.block.c1);
    return w.take();
}

// The channels of a block: whole groups, or channel blocks of one group (parts are cut so).
std::pair<int64_t, int64_t> block_channels(const LayerWork& w, const TaskBlock& b) {
    return {b.g0 * w.n + b.c0 * k_task_channels,
            (b.g1 - 1) * w.n + std::min(w.n, b.c1 * k_task_channels)};
}

// What every process keeps between units: each layer's binding, made once.
class AuditRunner {
  public:
    AuditRunner(const std::vector<const LayerSpec*>& layers, const HwConfig& config,
                const std::string& manifest)
        : m_layers(layers),
          m_config(config),
          m_manifest(manifest),
          m_once(layers.size()),
          m_bindings(layers.size()) {}

    std::string run(const std::string& unit, int threads) {
        ByteReader r(unit);
        const std::size_t l = r.get<uint64_t>();
        const bool whole = r.get_bool();
        TaskBlock block;
        block.g0 = r.get<int64_t>();
        block.g1 = r.get<int64_t>();
        block.c0 = r.get<int64_t>();
        block.c1 = r.get<int64_t>();
        r.finish();
        if (l >= m_layers.size()) throw std::runtime_error("audit unit: no such layer");
        const LayerSpec& layer = *m_layers[l];
        const AccumulatorSpec& acc = m_config.accumulator;
        std::call_once(m_once[l],
                       [&] { m_bindings[l] = std::make_unique<LayerBinding>(layer, m_config); });
        const LayerBinding& b = *m_bindings[l];
        ByteWriter w;
        if (whole) {
            write_audit(
                w, replay_layer(b, static_audit(b, acc, threads), m_config, m_manifest, threads));
            return w.take();
        }
        const LayerWork& work = b.work();
        if (block.g0 < 0 || block.g1 > work.groups || block.g0 >= block.g1 || block.c0 < 0 ||
            block.c1 > channel_blocks(work) || block.c0 >= block.c1 ||
            (block.g1 - block.g0 > 1 && (block.c0 != 0 || block.c1 != channel_blocks(work))))
            throw std::runtime_error("audit unit: no such block of tasks");
        // The bounds of the block's channels; stage 1's screen is skipped where they allow.
        std::optional<StaticBounds> bounds;
        if (layer.has_static_weights()) {
            const auto [ch0, ch1] = block_channels(work, block);
            const std::vector<int64_t>& all_bias = b.bias_values();
            const std::vector<int64_t> bias =
                all_bias.empty()
                    ? std::vector<int64_t>()
                    : std::vector<int64_t>(all_bias.begin() + ch0, all_bias.begin() + ch1);
            bounds = bound_channels(layer.x.format, layer.q.format, layer.shape.k, acc,
                                    b.lowered().weights(0) + ch0 * layer.shape.k, ch1 - ch0, bias,
                                    threads);
        }
        const bool stage1_safe = static_audit_with(layer, acc, bounds).stage1_safe;
        const std::vector<OverflowStats> stats =
            replay_task_block(b, stage1_safe, m_config, m_manifest, block, threads);
        w.put(static_cast<uint64_t>(stats.size()));
        for (const OverflowStats& s : stats) write_stats(w, s);
        w.put_bool(bounds.has_value());
        if (bounds) bounds->save(w);
        return w.take();
    }

  private:
    const std::vector<const LayerSpec*>& m_layers;
    const HwConfig& m_config;
    const std::string& m_manifest;
    std::vector<std::once_flag> m_once;
    std::vector<std::unique_ptr<LayerBinding>> m_bindings;
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
            out.push_back(WorkUnit{i, encode(m_parts[i]), m_parts[i].alone});
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
        pool.agree(std::current_exception());  // rethrows it
        throw;
    }
    pool.agree(nullptr);
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
    // Units: every layer whole, biggest first, but a layer bigger than half a process's share
    // of the work in parts of about that size (blocks of groups, or of one group's channels),
    // so that every process stays busy to the end and few replay a layer's operands twice.
    int64_t all_macs = 0;
    for (const LayerSpec* l : layers) all_macs += l->macs();
    const int64_t target = std::max<int64_t>(1, all_macs / (2 * pool.processes()));
    std::vector<Part> parts;
    std::vector<std::vector<std::size_t>> parts_of(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const int64_t macs = layers[l]->macs();
        int64_t n =
            replays_as_float(*layers[l], config.accumulator) ? 1 : (macs + target - 1) / target;
        const LayerWork work = layer_work(*layers[l]);
        const int64_t blocks = channel_blocks(work);
        n = std::min(n, work.groups > 1 ? work.groups : blocks);
        if (n < 2) {
            parts_of[l].push_back(parts.size());
            parts.push_back(Part{l, true, all_tasks(work), macs});
            continue;
        }
        for (int64_t p = 0; p < n; ++p) {
            TaskBlock b = all_tasks(work);
            if (work.groups > 1) {
                b.g0 = work.groups * p / n;
                b.g1 = work.groups * (p + 1) / n;
            } else {
                b.c0 = blocks * p / n;
                b.c1 = blocks * (p + 1) / n;
            }
            const int64_t share = (b.g1 - b.g0) * (b.c1 - b.c0);
            parts_of[l].push_back(parts.size());
            parts.push_back(Part{l, false, b, macs * share / (work.groups * blocks)});
        }
    }
    for (Part& p : parts) p.alone = replays_alone(p.size, all_macs, threads);
    AuditSource source(parts);
    pool.drive(&source, run);

    std::vector<LayerAudit> audits;
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const LayerSpec& layer = *layers[l];
        const std::vector<std::size_t>& mine = parts_of[l];
        if (parts[mine.front()].whole) {
            ByteReader r(source.results()[mine.front()]);
            audits.push_back(read_audit(r, layer, config.accumulator));
            r.finish();
            continue;
        }
        // The blocks' bounds merged in channel order, their tasks' statistics in task order:
        // what replay_layer does in one piece.
        const LayerWork work = layer_work(layer);
        std::vector<std::optional<OverflowStats>> by_task(
            static_cast<std::size_t>(replay_tasks(work)));
        std::optional<StaticBounds> bounds;
        for (std::size_t i : mine) {
            ByteReader r(source.results()[i]);
            const std::vector<int64_t> tasks = task_indices(work, parts[i].block);
            if (r.get<uint64_t>() != tasks.size())
                throw std::runtime_error("audit: a part's statistics do not match its tasks");
            for (int64_t t : tasks) by_task.at(static_cast<std::size_t>(t)) = read_stats(r);
            if (r.get_bool()) {
                StaticBounds part(layer.x.format, layer.q.format, layer.shape.k,
                                  config.accumulator);
                part.load(r);
                if (!bounds)
                    bounds = std::move(part);
                else
                    bounds->merge(part);
            }
            r.finish();
        }
        LayerAudit a = static_audit_with(layer, config.accumulator, std::move(bounds));
        for (const std::optional<OverflowStats>& s : by_task) {
            if (!s) throw std::runtime_error("audit: a task of a split layer was not replayed");
            a.overflow.merge(*s);
        }
        a.output_verified = replay_verifies(layer);
        audits.push_back(std::move(a));
    }
    return audits;
}

}  // namespace accsim
