#pragma once
// A tensor's values read into memory, without first zeroing memory that is filled right away
// (tensors of a large layer are hundreds of megabytes: a zeroing pass costs as much as reading):
//
//     TensorValues<int32_t> x(n);  // n values, not initialised
//     read_ints(info, x.data());
//
// A std::vector whose allocator default-initialises its elements instead of value-initialising.
#include <memory>
#include <utility>
#include <vector>

namespace accsim {

template <class T>
struct DefaultInitAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = DefaultInitAllocator<U>;
    };
    DefaultInitAllocator() = default;
    template <class U>
    DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

template <class T>
using TensorValues = std::vector<T, DefaultInitAllocator<T>>;

}  // namespace accsim
