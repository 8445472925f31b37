#pragma once
// A clocked single-stage accumulator: one product per cycle while in_valid; in_last marks the
// final product of a dot product, after which the result appears on out_data with out_valid
// for one cycle and the register clears. `overflow` is high in the cycle after an addition
// overflowed. The arithmetic is datapath's StageRegister; this module owns only ports and time.
#include <systemc>

#include "datapath/accumulator_spec.h"
#include "datapath/stage_register.h"

namespace accsim {

class AccumulatorUnit : public sc_core::sc_module {
  public:
    sc_core::sc_in<bool> clk;
    sc_core::sc_in<bool> in_valid;
    sc_core::sc_in<bool> in_last;
    sc_core::sc_in<sc_dt::int64> in_data;
    sc_core::sc_out<bool> out_valid;
    sc_core::sc_out<sc_dt::int64> out_data;
    sc_core::sc_out<bool> overflow;

    AccumulatorUnit(sc_core::sc_module_name name, const StageSpec& stage);

    uint64_t events() const { return m_reg.events(); }

  private:
    void tick();
    StageRegister m_reg;
};

}  // namespace accsim
