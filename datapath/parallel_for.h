#pragma once
// Runs f(0) .. f(n-1) on up to `threads` threads (the caller's among them). Tasks are handed out
// in index order; what each computes must not depend on which thread runs it, so that results
// (merged by the caller in index order) are identical for any thread count. An exception thrown
// by a task stops the handing out; the one of the lowest index is rethrown. The threads persist
// between calls (a pool), and a parallel_for inside a task runs serially.
#include <cstdint>
#include <functional>

namespace accsim {

void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& f);

// The default thread count: every hardware thread (at least 1).
int default_threads();

}  // namespace accsim
