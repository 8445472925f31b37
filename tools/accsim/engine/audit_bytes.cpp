#include "engine/audit_bytes.h"

#include <stdexcept>
#include <string>

namespace accsim {

namespace {

[[noreturn]] void refuse(const char* what) {
    throw std::runtime_error(std::string("audit bytes: ") + what);
}

// ValueRange field by field: its padding bytes are never sent.
void put_range(ByteWriter& w, const ValueRange& v) {
    w.put(v.lo);
    w.put(v.hi);
    w.put_bool(v.empty);
}

ValueRange get_range(ByteReader& r) {
    ValueRange v;
    v.lo = r.get<i128>();
    v.hi = r.get<i128>();
    v.empty = r.get_bool();
    return v;
}

}  // namespace

void write_stats(ByteWriter& w, const OverflowStats& s) {
    w.put(s.outputs);
    w.put(s.events);
    w.put_vector(s.events_by_stage);
    w.put(s.outputs_with_events);
    w.put(s.outputs_corrupted);
    w.put(s.max_abs_error);
    w.put(s.sum_abs_error);
    w.put_bool(s.has_real_error);
    w.put(s.max_abs_error_real);
    w.put(s.sum_abs_error_real);
    w.put(static_cast<uint64_t>(s.observed_by_stage.size()));
    for (const ValueRange& v : s.observed_by_stage) put_range(w, v);
}

OverflowStats read_stats(ByteReader& r) {
    OverflowStats s(0);
    s.outputs = r.get<uint64_t>();
    s.events = r.get<uint64_t>();
    s.events_by_stage = r.get_vector<uint64_t>();
    s.outputs_with_events = r.get<uint64_t>();
    s.outputs_corrupted = r.get<uint64_t>();
    s.max_abs_error = r.get<u128>();
    s.sum_abs_error = r.get<long double>();
    s.has_real_error = r.get_bool();
    s.max_abs_error_real = r.get<double>();
    s.sum_abs_error_real = r.get<long double>();
    const uint64_t stages = r.get<uint64_t>();
    if (stages != s.events_by_stage.size()) refuse("overflow stages disagree");
    for (uint64_t j = 0; j < stages; ++j) s.observed_by_stage.push_back(get_range(r));
    return s;
}

void write_float_stats(ByteWriter& w, const FloatStats& s) {
    w.put(s.outputs);
    w.put(s.finite_outputs);
    w.put(s.max_abs_error);
    w.put(s.sum_abs_error);
    w.put(s.max_rel_error);
    w.put(s.sum_rel_error);
    w.put(s.rel_outputs);
    w.put(s.max_ulp_error);
    w.put(s.not_correctly_rounded);
    w.put(s.inexact);
    w.put_vector(s.swamped_by_stage);
    w.put_vector(s.events_by_stage);
    w.put(s.outputs_with_events);
    w.put(s.infinities);
    w.put(s.nans);
    w.put(s.nonfinite_inputs);
    w.put(s.corrupted_to_nonfinite);
}

FloatStats read_float_stats(ByteReader& r) {
    FloatStats s(0);
    s.outputs = r.get<uint64_t>();
    s.finite_outputs = r.get<uint64_t>();
    s.max_abs_error = r.get<double>();
    s.sum_abs_error = r.get<long double>();
    s.max_rel_error = r.get<double>();
    s.sum_rel_error = r.get<long double>();
    s.rel_outputs = r.get<uint64_t>();
    s.max_ulp_error = r.get<double>();
    s.not_correctly_rounded = r.get<uint64_t>();
    s.inexact = r.get<uint64_t>();
    s.swamped_by_stage = r.get_vector<uint64_t>();
    s.events_by_stage = r.get_vector<uint64_t>();
    if (s.swamped_by_stage.size() != s.events_by_stage.size()) refuse("float stages disagree");
    s.outputs_with_events = r.get<uint64_t>();
    s.infinities = r.get<uint64_t>();
    s.nans = r.get<uint64_t>();
    s.nonfinite_inputs = r.get<uint64_t>();
    s.corrupted_to_nonfinite = r.get<uint64_t>();
    return s;
}

void write_audit(ByteWriter& w, const LayerAudit& a) {
    if (a.outputs) throw std::logic_error("write_audit: kept outputs are never sent");
    write_stats(w, a.overflow);
    w.put(a.datatype_bits);
    w.put_bool(a.bounds.has_value());
    if (a.bounds) a.bounds->save(w);
    w.put_bool(a.output_verified);
    w.put_bool(a.statically_at_risk);
    w.put_bool(a.stage1_safe);
    w.put_bool(a.floating.has_value());
    if (a.floating) write_float_stats(w, *a.floating);
}

LayerAudit read_audit(ByteReader& r, const LayerSpec& layer, const AccumulatorSpec& acc) {
    LayerAudit a;
    a.layer = &layer;
    a.overflow = read_stats(r);
    a.datatype_bits = r.get<int>();
    if (r.get_bool()) {
        // As bound_channels constructs them (static_audit_at keeps this through with_widths).
        a.bounds.emplace(layer.x.format, layer.q.format, layer.shape.k, acc);
        a.bounds->load(r);
    }
    a.output_verified = r.get_bool();
    a.statically_at_risk = r.get_bool();
    a.stage1_safe = r.get_bool();
    if (r.get_bool()) a.floating = read_float_stats(r);
    return a;
}

void write_zeros(ByteWriter& w, const ZeroProducts& z) {
    w.put(z.either);
    w.put(z.input);
    w.put(z.weight);
}

ZeroProducts read_zeros(ByteReader& r) {
    ZeroProducts z;
    z.either = r.get<int64_t>();
    z.input = r.get<int64_t>();
    z.weight = r.get<int64_t>();
    return z;
}

}  // namespace accsim
