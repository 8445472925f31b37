#include "accumulator_spec.h"

#include <stdexcept>

#include "float_format.h"
#include "float_step.h"

namespace accsim {

int64_t AccumulatorSpec::span(std::size_t j, int64_t k) const {
    if (j + 1 >= stages.size()) return k;
    i128 s = 1;  // 128 bits: a product of several configured lengths may exceed 64 bits
    for (std::size_t i = 0; i <= j; ++i) {
        s *= *stages[i].length;
        if (s >= k) return k;
    }
    return static_cast<int64_t>(s);
}

void AccumulatorSpec::check() const {
    if (stages.empty()) throw std::logic_error("accumulator: no stages");
    for (std::size_t j = 0; j < stages.size(); ++j) {
        const StageSpec& s = stages[j];
        if (s.is_float()) {
            if (s.exponent_bits < k_min_float_exponent_bits ||
                s.exponent_bits > k_max_float_exponent_bits ||
                s.mantissa_bits < k_min_float_mantissa_bits ||
                s.mantissa_bits > k_max_float_mantissa_bits || s.group < 1 ||
                s.group > k_max_float_group ||
                (s.fraction_bits &&
                 (*s.fraction_bits < 0 || *s.fraction_bits > k_max_fraction_bits)))
                throw std::logic_error("accumulator: float stage out of range");
            if (j < first_float()) throw std::logic_error("accumulator: float stage order");
        } else if (j > first_float()) {
            throw std::logic_error("accumulator: integer stage after a float stage");
        }
        if (s.bits < k_min_acc_bits || s.bits > k_max_acc_bits)
            throw std::logic_error("accumulator: stage bits out of range");
        const bool last = j + 1 == stages.size();
        if (last && s.length) throw std::logic_error("accumulator: length on the last stage");
        if (!last && (!s.length || *s.length <= 0))
            throw std::logic_error("accumulator: inner stage without a positive length");
    }
}

std::string AccumulatorSpec::describe() const {
    std::string out;
    for (std::size_t j = 0; j < stages.size(); ++j) {
        const StageSpec& s = stages[j];
        if (j) out += ",";
        if (s.length) out += std::to_string(*s.length) + "x";
        if (s.is_float()) {
            out += "e" + std::to_string(s.exponent_bits) + "m" + std::to_string(s.mantissa_bits);
            if (s.group != 1) out += ":g" + std::to_string(s.group);
            if (s.fraction_bits) out += ":f" + std::to_string(*s.fraction_bits);
            out += std::string(":") + to_string(s.rounding);
            continue;
        }
        out += std::to_string(s.bits);
        out += std::string(":") + name_of(k_overflow_flags, s.overflow);
        if (s.reduction != Reduction::sequential)
            out += std::string(":") + name_of(k_reduction_flags, s.reduction);
    }
    return out;
}

bool AccumulatorSpec::has_float() const {
    return first_float() < stages.size();
}

std::size_t AccumulatorSpec::first_float() const {
    std::size_t j = 0;
    while (j < stages.size() && !stages[j].is_float()) ++j;
    return j;
}

}  // namespace accsim
