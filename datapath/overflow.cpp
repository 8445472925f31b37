#include "overflow.h"

namespace accsim {

const char* to_string(OverflowMode m) {
    return m == OverflowMode::wrap ? "wrap" : "saturate";
}

}  // namespace accsim
