#include "engine/unit_executor.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace accsim {

UnitExecutor::UnitExecutor(const UnitRunner& runner, int threads, bool lower_priority)
    : m_runner(runner), m_threads(threads < 1 ? 1 : threads), m_lower_priority(lower_priority) {
    for (int t = 0; t < m_threads; ++t) m_pool.emplace_back([this] { loop(); });
}

UnitExecutor::~UnitExecutor() {
    {
        const std::lock_guard<std::mutex> lock(m_mutex);
        m_quit = true;
    }
    m_work.notify_all();
    for (std::thread& t : m_pool) t.join();
}

void UnitExecutor::submit(WorkUnit unit) {
    {
        const std::lock_guard<std::mutex> lock(m_mutex);
        m_waiting.push_back(std::move(unit));
        ++m_in_flight;
    }
    m_work.notify_all();
}

std::size_t UnitExecutor::in_flight() const {
    const std::lock_guard<std::mutex> lock(m_mutex);
    return m_in_flight;
}

std::vector<UnitExecutor::Done> UnitExecutor::collect(std::chrono::microseconds wait) {
    std::unique_lock<std::mutex> lock(m_mutex);
    if (m_finished.empty() && wait.count() > 0)
        m_done.wait_for(lock, wait, [&] { return !m_finished.empty(); });
    std::vector<Done> done;
    done.swap(m_finished);
    m_in_flight -= done.size();
    return done;
}

void UnitExecutor::loop() {
    if (m_lower_priority) setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
        // The next unit may start when nothing runs alone, and, if it is alone, nothing runs.
        m_work.wait(lock, [&] {
            return m_quit || (!m_waiting.empty() && !m_alone_running &&
                              (!m_waiting.front().alone || m_running == 0));
        });
        if (m_quit) return;
        WorkUnit unit = std::move(m_waiting.front());
        m_waiting.pop_front();
        ++m_running;
        m_alone_running = unit.alone;
        lock.unlock();
        Done d;
        d.id = unit.id;
        try {
            d.result = m_runner(unit.bytes, unit.alone ? m_threads : 1);
        } catch (...) {
            d.error = std::current_exception();
        }
        lock.lock();
        --m_running;
        if (unit.alone) m_alone_running = false;
        m_finished.push_back(std::move(d));
        m_done.notify_all();
        m_work.notify_all();  // an alone unit may start now, or others after one
    }
}

}  // namespace accsim
