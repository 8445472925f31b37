#pragma once
// What the accelerator measured for one layer: cycles, folds, mapping and traffic. Filled by
// the SystemC models (models/accelerator.h); priced by the cost models at report time.
#include <cstdint>

#include "models/memory_model.h"

namespace accsim {

struct LayerTiming {
    int64_t total = 0;    // cycles from the first load to the last write-back
    int64_t compute = 0;  // cycles the array computes (folds with fill and drain)
    int64_t stall = 0;    // cycles it waits for memory
    int64_t folds = 0;
    int64_t macs = 0;
    double pe_count = 0;
    double mapping_efficiency = 0;  // mean share of PEs a fold maps work onto
    double scalesim_compute_util = 0;
    TrafficCounters traffic;
    double utilization() const {
        return total > 0 && pe_count > 0 ? static_cast<double>(macs) / (pe_count * total) : 0;
    }
};

}  // namespace accsim
