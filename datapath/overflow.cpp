#include "overflow.h"

namespace accsim {}  // namespace accsim
