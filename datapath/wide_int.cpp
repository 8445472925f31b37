#include "wide_int.h"

#include <algorithm>

namespace accsim {

std::string to_string(i128 v) {
    if (v == 0) return "0";
    u128 m = abs_u128(v);
    std::string s;
    while (m != 0) {
        s.push_back(static_cast<char>('0' + static_cast<int>(m % 10)));
        m /= 10;
    }
    if (v < 0) s.push_back('-');
    std::reverse(s.begin(), s.end());
    return s;
}

}  // namespace accsim
