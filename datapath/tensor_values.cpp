#include "tensor_values.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace accsim {

namespace {
constexpr std::size_t k_huge_page = std::size_t{2} << 20;
}

void* allocate_large(std::size_t bytes) {
    const std::size_t rounded = (bytes + k_huge_page - 1) / k_huge_page * k_huge_page;
    void* p = std::aligned_alloc(k_huge_page, rounded);
    if (!p) throw std::bad_alloc();
    // Advice only: without transparent huge pages this changes nothing.
    ::madvise(p, rounded, MADV_HUGEPAGE);
    return p;
}

void free_large(void* p) {
    std::free(p);
}

}  // namespace accsim
