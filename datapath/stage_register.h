#pragma once
// One sequential accumulator register, one addition at a time: the arithmetic core that
// SystemC modules wrap (models/accumulator_unit.h). Its results must equal the reference.
#include <cstdint>

#include "overflow.h"

namespace accsim {

class StageRegister {
  public:
    StageRegister(int bits, OverflowMode mode) : m_bits(bits), m_mode(mode) {}

    void clear() { m_value = 0; }
    // r = fit(r + e); returns whether this addition overflowed.
    bool add(int64_t e) {
        const Fitted f = fit(i128{m_value} + e, m_bits, m_mode);
        m_value = f.value;
        m_events += f.event;
        return f.event;
    }
    int64_t value() const { return m_value; }
    uint64_t events() const { return m_events; }
    int bits() const { return m_bits; }

  private:
    int m_bits;
    OverflowMode m_mode;
    int64_t m_value = 0;
    uint64_t m_events = 0;
};

}  // namespace accsim
