#include "parallel_for.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace accsim {

int default_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& f) {
    if (n <= 0) return;
    const int workers = static_cast<int>(std::min<int64_t>(std::max(threads, 1), n));
    if (workers == 1) {
        for (int64_t i = 0; i < n; ++i) f(i);
        return;
    }
    std::atomic<int64_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex m;
    int64_t failed_index = n;
    std::exception_ptr error;
    auto work = [&]() {
        for (;;) {
            const int64_t i = next.fetch_add(1);
            if (i >= n || failed.load()) return;
            try {
                f(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(m);
                if (i < failed_index) {
                    failed_index = i;
                    error = std::current_exception();
                }
                failed = true;
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < workers; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace accsim
