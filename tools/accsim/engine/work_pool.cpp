#include "engine/work_pool.h"

#include <chrono>
#include <exception>
#include <stdexcept>

#include "engine/unit_executor.h"

namespace accsim {

void LocalPool::drive(UnitSource* source, const UnitRunner& runner) {
    if (m_threads == 1) {  // on this thread: no hand-over between threads per unit
        while (!source->finished()) {
            std::vector<WorkUnit> u = source->take(1);
            if (u.empty())
                throw std::logic_error(
                    "work pool: no unit ready and none running, yet not finished");
            source->accept(u[0].id, runner(u[0].bytes, 1));
        }
        return;
    }
    UnitExecutor executor(runner, m_threads);
    std::exception_ptr failure;  // the first error: nothing more is started
    for (;;) {
        if (!failure) {
            try {
                while (executor.in_flight() < static_cast<std::size_t>(m_threads)) {
                    std::vector<WorkUnit> u = source->take(1);
                    if (u.empty()) break;
                    executor.submit(std::move(u[0]));
                }
            } catch (...) {
                failure = std::current_exception();
            }
        }
        if (executor.in_flight() == 0) {
            if (failure) std::rethrow_exception(failure);
            if (source->finished()) return;
            throw std::logic_error("work pool: no unit ready and none running, yet not finished");
        }
        for (UnitExecutor::Done& d : executor.collect(std::chrono::hours(1))) {
            if (failure) continue;
            if (d.error) {
                failure = d.error;
                continue;
            }
            try {
                source->accept(d.id, d.result);
            } catch (...) {
                failure = std::current_exception();
            }
        }
    }
}

}  // namespace accsim
