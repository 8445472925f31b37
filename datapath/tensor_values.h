#pragma once
// A tensor's values read into memory, without first zeroing memory that is filled right away
// (tensors of a large layer are hundreds of megabytes: a zeroing pass costs as much as reading):
//
//     TensorValues<int32_t> x(n);  // n values, not initialised
//     read_ints(info, x.data());
//
// A std::vector whose allocator default-initialises its elements instead of value-initialising
// them, and gives large blocks huge pages where the system allows.
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace accsim {

// Large blocks (4 MiB and more) are 2 MiB-aligned and asked to use transparent huge pages:
// a 300 MB layer then costs a few hundred page faults instead of tens of thousands.
void* allocate_large(std::size_t bytes);
void free_large(void* p);
inline constexpr std::size_t k_large_block = std::size_t{4} << 20;

template <class T>
struct DefaultInitAllocator {
    using value_type = T;
    template <class U>
    struct rebind {
        using other = DefaultInitAllocator<U>;
    };
    DefaultInitAllocator() = default;
    template <class U>
    DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        if (n * sizeof(T) >= k_large_block) return static_cast<T*>(allocate_large(n * sizeof(T)));
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) >= k_large_block)
            free_large(p);
        else
            std::allocator<T>().deallocate(p, n);
    }
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
    template <class U>
    bool operator==(const DefaultInitAllocator<U>&) const noexcept {
        return true;
    }
    template <class U>
    bool operator!=(const DefaultInitAllocator<U>&) const noexcept {
        return false;
    }
};

template <class T>
using TensorValues = std::vector<T, DefaultInitAllocator<T>>;

}  // namespace accsim
