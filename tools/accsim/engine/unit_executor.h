#pragma once
// Runs work units on a process's threads as they arrive, and hands back their results as they
// finish: up to `threads` units side by side (one thread each), or a unit marked alone by itself
// on all of them. The pools (engine/work_pool.h, dist/mpi_pool.h) feed it and collect from it.
//
//   UnitExecutor ex(runner, 4);
//   ex.submit(unit);                                  // starts when a thread is free
//   for (UnitExecutor::Done& d : ex.collect(std::chrono::milliseconds(1))) ...  // d.id, d.result
//
// Units start in the order they were submitted; an alone unit waits for the running ones to
// finish, and nothing starts beside it. A unit that throws hands back its exception.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/work_pool.h"

namespace accsim {

class UnitExecutor {
  public:
    struct Done {
        uint64_t id = 0;
        std::string result;
        std::exception_ptr error;  // set instead of result when the runner threw
    };

    // `lower_priority`: its threads yield to the process's other threads (a coordinating thread
    // that must answer other processes at once).
    UnitExecutor(const UnitRunner& runner, int threads, bool lower_priority = false);
    ~UnitExecutor();
    UnitExecutor(const UnitExecutor&) = delete;
    UnitExecutor& operator=(const UnitExecutor&) = delete;

    int threads() const { return m_threads; }
    void submit(WorkUnit unit);
    // Units submitted and not yet collected.
    std::size_t in_flight() const;
    // The results that are in, waiting up to `wait` for one when none is.
    std::vector<Done> collect(std::chrono::microseconds wait);

  private:
    void loop();

    const UnitRunner& m_runner;
    const int m_threads;
    const bool m_lower_priority;
    mutable std::mutex m_mutex;
    std::condition_variable m_work;  // to the threads: a unit is waiting, or quit
    std::condition_variable m_done;  // to the collector: a result is in
    std::deque<WorkUnit> m_waiting;
    std::vector<Done> m_finished;
    int m_running = 0;
    bool m_alone_running = false;
    bool m_quit = false;
    std::size_t m_in_flight = 0;
    std::vector<std::thread> m_pool;  // last: started once the rest is set up
};

}  // namespace accsim
