#pragma once
// Audit results as bytes (datapath/byte_stream.h), for sending them between the processes of a
// distributed job and back into the same structures bit for bit:
//
//   ByteWriter w;
//   write_audit(w, audit);                       // on the rank that audited the layer
//   ByteReader r(w.bytes());                     // on the rank that receives w.bytes()
//   LayerAudit a = read_audit(r, layer, acc);    // the same layer and accumulator
//   r.finish();
//
// Every reader throws std::runtime_error when the bytes do not parse or do not fit (vectors of
// stage counts that disagree, bounds saved under another layout).
#include "datapath/byte_stream.h"
#include "datapath/float_stats.h"
#include "datapath/overflow_stats.h"
#include "engine/layer_audit.h"
#include "models/operand_activity.h"

namespace accsim {

void write_stats(ByteWriter& w, const OverflowStats& s);
OverflowStats read_stats(ByteReader& r);

void write_float_stats(ByteWriter& w, const FloatStats& s);
FloatStats read_float_stats(ByteReader& r);

// Every field but `layer` (read_audit points it at `layer`) and `outputs` (never sent: write_audit
// throws std::logic_error when it is set). The bounds are rebuilt as static_audit builds them,
// StaticBounds(layer.x.format, layer.q.format, layer.shape.k, acc), so `acc` must be the
// accumulator the audit was made under (after static_audit_at, the one it was moved to).
void write_audit(ByteWriter& w, const LayerAudit& a);
LayerAudit read_audit(ByteReader& r, const LayerSpec& layer, const AccumulatorSpec& acc);

void write_zeros(ByteWriter& w, const ZeroProducts& z);
ZeroProducts read_zeros(ByteReader& r);

}  // namespace accsim
