#include "parallel_for.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace accsim {

int default_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

namespace {

// Set inside a task: a parallel_for from within one runs serially (the pool is busy with it).
thread_local bool t_in_task = false;

// One job at a time: its tasks, the next one to hand out, and the first failure.
struct Job {
    const std::function<void(int64_t)>* f = nullptr;
    int64_t n = 0;
    int helpers = 0;  // workers that may join it
    std::atomic<int64_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex m;
    int64_t failed_index = 0;
    std::exception_ptr error;
    int active = 0;  // workers inside it (guarded by the pool's mutex)

    void work() {
        const bool outer = t_in_task;
        t_in_task = true;
        struct Restore {
            bool v;
            ~Restore() { t_in_task = v; }
        } restore{outer};
        for (;;) {
            const int64_t i = next.fetch_add(1);
            if (i >= n || failed.load()) return;
            try {
                (*f)(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(m);
                if (!error || i < failed_index) {
                    failed_index = i;
                    error = std::current_exception();
                }
                failed = true;
            }
        }
    }
};

// Threads that live as long as the process and sleep between jobs: starting threads for every
// layer or tile would cost more than small tasks take.
class Pool {
  public:
    static Pool& instance() {
        static Pool p;
        return p;
    }

    void run(Job& job, int workers) {
        const std::lock_guard<std::mutex> one_job(m_jobs);  // callers on other threads queue up
        std::unique_lock<std::mutex> lock(m_mutex);
        grow(workers - 1);
        job.helpers = workers - 1;
        m_job = &job;
        ++m_generation;
        m_wake.notify_all();
        lock.unlock();
        job.work();  // the caller works too
        lock.lock();
        m_job = nullptr;  // no worker joins any more
        m_done.wait(lock, [&] { return job.active == 0; });
    }

    ~Pool() {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop = true;
            m_wake.notify_all();
        }
        for (std::thread& t : m_threads) t.join();
    }

  private:
    void grow(int n) {
        while (static_cast<int>(m_threads.size()) < n) {
            const int id = static_cast<int>(m_threads.size());
            m_threads.emplace_back([this, id] { loop(id); });
        }
    }

    void loop(int id) {
        std::unique_lock<std::mutex> lock(m_mutex);
        uint64_t seen = m_generation;
        for (;;) {
            m_wake.wait(lock, [&] { return m_stop || m_generation != seen; });
            if (m_stop) return;
            seen = m_generation;
            Job* job = m_job;
            if (!job || id >= job->helpers) continue;
            ++job->active;
            lock.unlock();
            job->work();
            lock.lock();
            if (--job->active == 0) m_done.notify_all();
        }
    }

    std::mutex m_jobs, m_mutex;
    std::condition_variable m_wake, m_done;
    std::vector<std::thread> m_threads;
    Job* m_job = nullptr;
    uint64_t m_generation = 0;
    bool m_stop = false;
};

}  // namespace

void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& f) {
    if (n <= 0) return;
    const int workers = static_cast<int>(std::min<int64_t>(std::max(threads, 1), n));
    if (workers == 1 || t_in_task) {
        for (int64_t i = 0; i < n; ++i) f(i);
        return;
    }
    Job job;
    job.f = &f;
    job.n = n;
    Pool::instance().run(job, workers);
    if (job.error) std::rethrow_exception(job.error);
}

}  // namespace accsim
