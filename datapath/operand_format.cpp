#include "operand_format.h"

namespace accsim {

std::string OperandFormat::describe() const {
    return std::to_string(bits) + "-bit " + (is_signed ? "signed" : "unsigned") +
           (has_range ? ", range [" : " [") + std::to_string(min()) + ", " + std::to_string(max()) +
           "]";
}

}  // namespace accsim
