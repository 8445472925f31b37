#include "accumulator_unit.h"

namespace accsim {

AccumulatorUnit::AccumulatorUnit(sc_core::sc_module_name name, const StageSpec& stage)
    : sc_core::sc_module(name), m_reg(stage.bits, stage.overflow) {
    SC_HAS_PROCESS(AccumulatorUnit);
    SC_METHOD(tick);
    sensitive << clk.pos();
    dont_initialize();
}

void AccumulatorUnit::tick() {
    out_valid.write(false);
    overflow.write(false);
    if (!in_valid.read()) return;
    overflow.write(m_reg.add(in_data.read()));
    if (in_last.read()) {
        out_data.write(m_reg.value());
        out_valid.write(true);
        m_reg.clear();
    }
}

}  // namespace accsim
