#include "sweep/sweep_scheduler.h"

#include <algorithm>
#include <stdexcept>

#include "datapath/byte_stream.h"
#include "engine/float_audit.h"

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

// Points per point unit: each carries its accumulator's values for every layer, so few and
// larger units move less; 16 points take some tens of milliseconds.
constexpr std::size_t k_points_per_unit = 16;

}  // namespace

SweepScheduler::SweepScheduler(const SweepPlan& plan, const std::vector<const LayerSpec*>& layers,
                               const SweepOptions& options, const std::vector<std::size_t>& todo,
                               const std::map<std::size_t, Json>& done,
                               std::function<void(std::size_t, const std::string&)> on_record,
                               std::function<void()> on_step)
    : m_plan(plan),
      m_layers(layers),
      m_options(options),
      m_on_record(std::move(on_record)),
      m_on_step(std::move(on_step)),
      m_need(plan.values.size(), Need::elsewhere),
      m_todo(plan.values.size()),
      m_layers_done(plan.values.size(), 0),
      m_chains(plan.chains.size()) {
    for (const LayerSpec* l : layers) m_all_macs += l->macs();
    for (std::size_t i : todo) m_todo[plan.value_of[i]].push_back(i);
    m_points_left = todo.size();
    m_steps = static_cast<int64_t>(todo.size());
    // Known: every point of the accumulator journalled, its owner's labels readable.
    std::vector<std::vector<Member>> known(plan.values.size());
    for (std::size_t v = 0; v < plan.values.size(); ++v) {
        if (!m_todo[v].empty()) {
            m_need[v] = Need::compute;
            continue;
        }
        const auto it = done.find(plan.owner[v]);
        bool all_done = it != done.end();
        for (std::size_t i : plan.points_of[v]) all_done = all_done && done.count(i);
        if (!all_done) continue;
        const Json& rl = it->second["layers"];
        std::vector<Member> ms;
        for (std::size_t l = 0; l < layers.size() && l < rl.size(); ++l) {
            const Json& lr = rl[l];
            const std::optional<ReplayKind> kind =
                lr["replay"].is_string() ? replay_kind(lr["replay"].get<std::string>())
                                         : std::nullopt;
            if (!kind || !lr["events"].is_number_unsigned()) break;
            Member m;
            m.kind = kind;
            m.events = lr["events"].get<uint64_t>();
            ms.push_back(m);
        }
        if (ms.size() != layers.size()) continue;  // unreadable: evaluated where needed
        m_need[v] = Need::known;
        known[v] = std::move(ms);
    }
    for (std::size_t c = 0; c < plan.chains.size(); ++c) {
        const ValueChain& ch = plan.chains[c];
        ChainState& s = m_chains[c];
        s.members.resize(ch.members.size());
        for (std::size_t p = 0; p < ch.members.size(); ++p) {
            const std::size_t v = ch.members[p];
            if (m_need[v] == Need::known) s.members[p] = known[v][ch.layer];
            if (m_need[v] == Need::compute) {
                s.end = p + 1;
                ++m_steps;
            }
        }
    }
    for (std::size_t c = 0; c < m_chains.size(); ++c) advance(c);
    // Accumulators with points here but no layer to replay (a sweep over no layer).
    if (layers.empty())
        for (std::size_t v = 0; v < plan.values.size(); ++v)
            if (m_need[v] == Need::compute) points_ready(v);
}

bool SweepScheduler::floating(std::size_t chain, std::size_t p) const {
    const ValueChain& ch = m_plan.chains[chain];
    return replays_as_float(*m_layers[ch.layer], m_plan.values[ch.members[p]]->accumulator);
}

void SweepScheduler::note(std::size_t chain, std::size_t p, ReplayKind kind, uint64_t events) {
    ChainState& s = m_chains[chain];
    s.members[p].kind = kind;
    s.members[p].events = events;
    if (floating(chain, p)) return;
    const HwConfig& c = *m_plan.values[m_plan.chains[chain].members[p]];
    if (!s.sample) s.sample = p;
    s.replayed.emplace(registers_key(c), p);
    if (kind == ReplayKind::simulated && events == 0) s.clean.push_back(stage_widths(c));
}

void SweepScheduler::queue_value(std::size_t chain, std::size_t p,
                                 std::optional<ReplayKind> known) {
    ChainState& s = m_chains[chain];
    const ValueChain& ch = m_plan.chains[chain];
    const HwConfig& c = *m_plan.values[ch.members[p]];
    ValueUnit u;
    u.chain = chain;
    u.position = p;
    u.derive = m_options.derive;
    u.known = known;
    if (!floating(chain, p)) {
        if (known) {
            // Recomputing: a replay needs nothing, a derived result its sample.
            if (*known != ReplayKind::simulated) {
                u.sample_position = s.sample;
                u.sample = s.members[*s.sample].result;
            }
        } else if (m_options.derive && s.sample) {
            const auto same = s.replayed.find(registers_key(c));
            if (same != s.replayed.end()) {
                u.same_position = same->second;
                u.same = s.members[same->second].result;
            } else {
                u.sample_position = s.sample;
                u.sample = s.members[*s.sample].result;
                const std::vector<int> wd = stage_widths(c);
                u.dominated =
                    std::any_of(s.clean.begin(), s.clean.end(),
                                [&](const std::vector<int>& cw) { return no_wider(cw, wd); });
            }
        }
    }
    WorkUnit unit;
    unit.id = m_next_id++;
    unit.bytes = encode_value_unit(u);
    const int64_t macs = m_layers[ch.layer]->macs();
    unit.alone = replays_alone(macs, m_all_macs, m_options.threads);
    m_out[unit.id] = Out{true, chain, p, known.has_value()};
    m_ready_values.emplace(macs, std::move(unit));
    s.busy = true;
}

bool SweepScheduler::ensure(std::size_t chain, std::size_t p) {
    ChainState& s = m_chains[chain];
    Member& m = s.members[p];
    if (m.result) return true;
    if (!m.kind) throw std::logic_error("sweep: a member needed before its turn");
    if (*m.kind == ReplayKind::derived_equivalent)
        throw std::logic_error("sweep: an equivalent replay taken as a source");
    if (*m.kind != ReplayKind::simulated && !ensure(chain, *s.sample)) return false;
    queue_value(chain, p, m.kind);
    return false;
}

void SweepScheduler::advance(std::size_t chain) {
    ChainState& s = m_chains[chain];
    const ValueChain& ch = m_plan.chains[chain];
    while (!s.busy && s.next < s.end) {
        const std::size_t p = s.next;
        const std::size_t v = ch.members[p];
        if (m_need[v] == Need::known) {
            note(chain, p, *s.members[p].kind, s.members[p].events);
            ++s.next;
            continue;
        }
        // What the member is derived from must be at hand (recomputed after a resume).
        if (m_options.derive && s.sample && !floating(chain, p)) {
            const auto same = s.replayed.find(registers_key(*m_plan.values[v]));
            if (!ensure(chain, same != s.replayed.end() ? same->second : *s.sample)) return;
        }
        queue_value(chain, p, std::nullopt);
    }
}

void SweepScheduler::points_ready(std::size_t v) {
    std::vector<std::shared_ptr<const ValueBytes>> results;
    for (std::size_t l = 0; l < m_layers.size(); ++l) {
        const auto [c, p] = m_plan.place[v][l];
        results.push_back(m_chains[c].members[p].result);
    }
    const std::string bytes = encode_results(results);
    const std::vector<std::size_t>& points = m_todo[v];
    for (std::size_t from = 0; from < points.size(); from += k_points_per_unit) {
        PointUnit u;
        u.value = v;
        u.points.assign(points.begin() + static_cast<std::ptrdiff_t>(from),
                        points.begin() + static_cast<std::ptrdiff_t>(
                                             std::min(points.size(), from + k_points_per_unit)));
        u.results = bytes;
        WorkUnit unit;
        unit.id = m_next_id++;
        unit.bytes = encode_point_unit(u);
        m_out[unit.id] = Out{false, 0, 0, false};
        m_ready_points.push_back(std::move(unit));
    }
}

std::vector<WorkUnit> SweepScheduler::take(std::size_t max) {
    std::vector<WorkUnit> units;
    while (units.size() < max && !m_ready_values.empty()) {
        units.push_back(std::move(m_ready_values.begin()->second));
        m_ready_values.erase(m_ready_values.begin());
    }
    while (units.size() < max && !m_ready_points.empty()) {
        units.push_back(std::move(m_ready_points.front()));
        m_ready_points.pop_front();
    }
    return units;
}

void SweepScheduler::accept(uint64_t id, const std::string& result) {
    const auto it = m_out.find(id);
    if (it == m_out.end()) throw std::logic_error("sweep: a result for no unit");
    const Out out = it->second;
    m_out.erase(it);
    if (!out.value) {
        for (const auto& [i, text] : decode_records(result)) {
            if (i >= m_plan.points.size()) throw std::runtime_error("sweep: a record of no point");
            --m_points_left;
            m_on_record(i, text);
            m_on_step();
        }
        return;
    }
    ChainState& s = m_chains[out.chain];
    const ValueChain& ch = m_plan.chains[out.chain];
    const std::size_t v = ch.members[out.position];
    s.busy = false;
    Member& m = s.members[out.position];
    m.result = std::make_shared<const ValueBytes>(decode_value_bytes(result));
    if (!out.recompute) {
        note(out.chain, out.position, m.result->kind, m.result->events);
        ++s.next;
        if (m_need[v] == Need::compute) {
            m_on_step();
            if (++m_layers_done[v] == m_layers.size()) points_ready(v);
        }
    }
    advance(out.chain);
}

bool SweepScheduler::finished() const {
    return m_points_left == 0 && m_out.empty();
}

}  // namespace accsim
