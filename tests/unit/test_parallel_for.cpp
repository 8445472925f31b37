// parallel_for: every index runs exactly once on any thread count; nested calls run serially;
// the exception of the lowest failing index is the one rethrown; the pool survives errors.
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "datapath/parallel_for.h"

using namespace accsim;

TEST_CASE("parallel_for runs every index exactly once, for any thread count") {
    for (int threads : {1, 2, 3, 8}) {
        for (int64_t n : {0, 1, 5, 1000}) {
            std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
            parallel_for(n, threads, [&](int64_t i) { hits[static_cast<std::size_t>(i)]++; });
            for (int64_t i = 0; i < n; ++i) REQUIRE(hits[static_cast<std::size_t>(i)] == 1);
        }
    }
}

TEST_CASE("a parallel_for inside a task runs serially and completes") {
    std::atomic<int64_t> total{0};
    parallel_for(6, 4,
                 [&](int64_t i) { parallel_for(10, 4, [&](int64_t j) { total += i * 10 + j; }); });
    CHECK(total == 59 * 60 / 2);
}

TEST_CASE("the exception of the lowest failing index is rethrown; the pool keeps working") {
    for (int threads : {1, 2, 4}) {
        std::string what;
        try {
            parallel_for(200, threads, [&](int64_t i) {
                if (i == 37 || i == 150) throw std::runtime_error("task " + std::to_string(i));
            });
        } catch (const std::runtime_error& e) {
            what = e.what();
        }
        CHECK(what == "task 37");
        std::atomic<int> after{0};
        parallel_for(50, threads, [&](int64_t) { after++; });
        CHECK(after == 50);
    }
}
