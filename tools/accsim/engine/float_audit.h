#pragma once
// Auditing a layer through an accumulator with float stages (datapath/FLOAT.md): float
// operands (e4m3 ... fp32) into fused float stages, or integer operands whose exact integer
// tiles a float stage takes over, with block scales where the trace has them. Every output is
// compared with its exact result; the report's "float" section comes from here.
#include <string>

#include "config/hw_config.h"
#include "engine/layer_audit.h"
#include "engine/layer_binding.h"

namespace accsim {

// Whether the layer replays through the float datapath under `acc`.
bool replays_as_float(const LayerSpec& layer, const AccumulatorSpec& acc);
// Throws InputError (naming the manifest and the layer) when the layer and the accumulator do
// not go together: float operands need float stages, integer operands need integer stages before
// any float stage, block scales need a float stage and tiles that lie inside one block.
void check_float_pairing(const LayerSpec& layer, const AccumulatorSpec& acc,
                         const std::string& manifest_path);
// The audit of a float-replayed layer: no integer bounds, the float statistics, and the
// overflow section filled from the float events. Results do not depend on `threads`.
LayerAudit float_audit(const LayerBinding& binding, const HwConfig& config,
                       const std::string& manifest_path, int threads, bool keep_outputs = false);

}  // namespace accsim
