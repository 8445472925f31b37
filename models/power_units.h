#pragma once
// Energy and power from each other: pJ, mW, cycles at a clock in MHz (mW x us = nJ).
#include <cstdint>

namespace accsim {

// pJ spent over `cycles` at `mw` milliwatts.
inline double energy_of_power(double mw, int64_t cycles, double clock_mhz) {
    return mw * static_cast<double>(cycles) / clock_mhz * 1000.0;
}

// Average power in mW of `pj` over `cycles` (0 over no time).
inline double power_of_energy(double pj, int64_t cycles, double clock_mhz) {
    return cycles > 0 ? pj / (static_cast<double>(cycles) / clock_mhz) / 1000.0 : 0.0;
}

}  // namespace accsim
