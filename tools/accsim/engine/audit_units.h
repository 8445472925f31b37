#pragma once
// `accsim audit` over the processes of a WorkPool (an MPI job's ranks): every layer is a unit,
// and a big integer layer is split into parts of its replay tasks (blocks of rows and channels,
// engine/layer_audit.h), biggest first. Rank 0 merges the parts in task order into exactly the
// audit one process makes, so the report is the same bytes for any number of ranks.
//
//   std::vector<LayerAudit> a = audit_layers_on(pool, layers, config, manifest, threads);
//   if (pool.coordinates()) ...  // a[i] is layer i's audit; other processes get an empty vector
//
// With `keep_outputs` (--dump-outputs) the coordinator replays every layer itself, since the
// outputs are written there; the other ranks are released at once.
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "engine/layer_audit.h"
#include "engine/work_pool.h"
#include "traces/trace.h"

namespace accsim {

std::vector<LayerAudit> audit_layers_on(WorkPool& pool, const std::vector<const LayerSpec*>& layers,
                                        const HwConfig& config, const std::string& manifest_path,
                                        int threads, bool keep_outputs = false);

}  // namespace accsim
