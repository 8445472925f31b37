#include "dist/mpi_pool.h"

#include <mpi.h>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <chrono>
#include <climits>

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "datapath/byte_stream.h"
#include "datapath/input_error.h"

namespace accsim {

namespace {

enum Tag : int { k_unit = 1, k_result = 2, k_error = 3, k_stop = 4 };
enum : uint8_t { k_input_error = 1, k_internal_error = 2 };

void send(const std::string& bytes, int to, Tag tag) {
    if (bytes.size() > static_cast<std::size_t>(INT_MAX))
        throw std::runtime_error("mpi: a message over 2 GiB");
    MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, to, tag, MPI_COMM_WORLD);
}

// Receives the message `status` announced.
std::string receive(const MPI_Status& status) {
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    std::string bytes(static_cast<std::size_t>(count), '\0');
    MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    return bytes;
}

std::string with_id(uint64_t id, const std::string& bytes) {
    ByteWriter w;
    w.put(id);
    std::string out = w.take();
    out += bytes;
    return out;
}

uint64_t split_id(std::string& bytes) {
    if (bytes.size() < sizeof(uint64_t)) throw std::runtime_error("mpi: a message without an id");
    ByteReader r(bytes);
    const uint64_t id = r.get<uint64_t>();
    bytes.erase(0, sizeof(uint64_t));
    return id;
}

// Rank 0's own worker: one thread that runs the units it is given, at a lower priority than
// the coordinating thread, which must answer the other ranks at once (they may share a core).
class LocalWorker {
  public:
    LocalWorker(const UnitRunner& runner, int threads)
        : m_runner(runner), m_threads(threads), m_thread([this] { loop(); }) {}
    ~LocalWorker() {
        {
            const std::lock_guard<std::mutex> lock(m_mutex);
            m_quit = true;
        }
        m_wake.notify_all();
        m_thread.join();
    }
    bool busy() const { return m_busy; }
    void start(uint64_t id, std::string unit) {
        {
            const std::lock_guard<std::mutex> lock(m_mutex);
            m_id = id;
            m_unit = std::move(unit);
            m_busy = m_posted = true;
            m_done = false;
        }
        m_wake.notify_all();
    }
    // Waits up to `wait` for the unit to end; true (with its id, result or error) if it has.
    bool finished(std::chrono::microseconds wait, uint64_t& id, std::string& result,
                  std::exception_ptr& error) {
        std::unique_lock<std::mutex> lock(m_mutex);
        if (!m_done && wait.count() > 0) m_wake.wait_for(lock, wait, [&] { return m_done; });
        if (!m_done) return false;
        m_done = m_busy = false;
        id = m_id;
        result = std::move(m_result);
        error = m_error;
        return true;
    }

  private:
    void loop() {
        setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
        std::unique_lock<std::mutex> lock(m_mutex);
        for (;;) {
            m_wake.wait(lock, [&] { return m_posted || m_quit; });
            if (m_quit) return;
            m_posted = false;
            const std::string unit = std::move(m_unit);
            lock.unlock();
            std::string result;
            std::exception_ptr error;
            try {
                result = m_runner(unit, m_threads);
            } catch (...) {
                error = std::current_exception();
            }
            lock.lock();
            m_result = std::move(result);
            m_error = error;
            m_done = true;
            m_wake.notify_all();
        }
    }

    const UnitRunner& m_runner;
    int m_threads;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_posted = false, m_done = false, m_quit = false;
    bool m_busy = false;  // the coordinating thread's view: a unit started, not collected
    uint64_t m_id = 0;
    std::string m_unit, m_result;
    std::exception_ptr m_error;
    std::thread m_thread;  // last: starts once the rest is set up
};

// A unit on its way to a rank (sent without blocking: the rank may be busy with the one before).
struct Sending {
    std::unique_ptr<std::string> bytes;
    MPI_Request request = MPI_REQUEST_NULL;
};

// Units a rank holds: while its units take long, one (so the biggest units spread over the
// ranks); once they come back quickly, several, so that it starts the next as soon as it sends
// a result and never waits for rank 0 to answer.
constexpr int k_depth_quick = 4;
constexpr auto k_quick = std::chrono::milliseconds(20);

}  // namespace

MpiPool::MpiPool(int rank, int size, int threads)
    : m_rank(rank), m_size(size), m_threads(threads < 1 ? 1 : threads) {}

void MpiPool::agree(bool ready) {
    int mine = ready ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all && ready)
        throw InputError("mpirun", "rank " + std::to_string(m_rank),
                         "another rank could not start (rank 0 says why)");
}

void MpiPool::drive(UnitSource* source, const UnitRunner& runner) {
    if (m_rank == 0)
        coordinate(*source, runner);
    else
        serve(runner);
}

void MpiPool::serve(const UnitRunner& runner) {
    // A result goes out without blocking (rank 0 may be busy): this rank starts its next unit
    // at once, and the send completes at its next call into MPI.
    Sending sent;
    const auto send_back = [&](std::string bytes, Tag tag) {
        MPI_Wait(&sent.request, MPI_STATUS_IGNORE);
        if (bytes.size() > static_cast<std::size_t>(INT_MAX))
            throw std::runtime_error("mpi: a message over 2 GiB");
        sent.bytes = std::make_unique<std::string>(std::move(bytes));
        MPI_Isend(sent.bytes->data(), static_cast<int>(sent.bytes->size()), MPI_BYTE, 0, tag,
                  MPI_COMM_WORLD, &sent.request);
    };
    for (;;) {
        MPI_Status status;
        MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
        std::string bytes = receive(status);
        if (status.MPI_TAG == k_stop) break;
        const uint64_t id = split_id(bytes);
        ByteWriter error;
        try {
            send_back(with_id(id, runner(bytes, m_threads)), k_result);
            continue;
        } catch (const InputError& e) {
            error.put(k_input_error);
            error.put_string(e.file());
            error.put_string(e.field());
            error.put_string(e.problem());
        } catch (const std::exception& e) {
            error.put(k_internal_error);
            error.put_string("rank " + std::to_string(m_rank) + ": " + e.what());
        }
        send_back(with_id(id, error.bytes()), k_error);
    }
    MPI_Wait(&sent.request, MPI_STATUS_IGNORE);
}

void MpiPool::coordinate(UnitSource& source, const UnitRunner& runner) {
    using Clock = std::chrono::steady_clock;
    std::vector<int> out(static_cast<std::size_t>(m_size), 0);  // units out, per rank
    std::vector<int> depth(static_cast<std::size_t>(m_size), 1);
    std::vector<Clock::time_point> last(static_cast<std::size_t>(m_size), Clock::now());
    int busy = 0;  // units out, all ranks
    std::vector<Sending> sending;
    LocalWorker local(runner, m_threads);
    std::exception_ptr failure;  // the first error: nothing more is handed out
    const auto fail = [&](std::exception_ptr e) {
        if (!failure) failure = e;
    };
    for (;;) {
        if (!failure) {
            try {
                // The least loaded ranks first, so the biggest units start first.
                bool more = true;
                for (int held = 0; held < k_depth_quick && more; ++held)
                    for (int r = 1; r < m_size && more; ++r) {
                        const std::size_t ri = static_cast<std::size_t>(r);
                        if (out[ri] != held || held >= depth[ri]) continue;
                        std::vector<WorkUnit> u = source.take(1);
                        if (u.empty()) {
                            more = false;
                            break;
                        }
                        Sending s;
                        s.bytes = std::make_unique<std::string>(with_id(u[0].id, u[0].bytes));
                        if (s.bytes->size() > static_cast<std::size_t>(INT_MAX))
                            throw std::runtime_error("mpi: a message over 2 GiB");
                        MPI_Isend(s.bytes->data(), static_cast<int>(s.bytes->size()), MPI_BYTE, r,
                                  k_unit, MPI_COMM_WORLD, &s.request);
                        sending.push_back(std::move(s));
                        ++out[static_cast<std::size_t>(r)];
                        ++busy;
                    }
                if (!local.busy()) {
                    std::vector<WorkUnit> u = source.take(1);
                    if (!u.empty()) local.start(u[0].id, std::move(u[0].bytes));
                }
            } catch (...) {
                fail(std::current_exception());
            }
        }
        if (busy == 0 && !local.busy()) {
            if (failure || source.finished()) break;
            fail(std::make_exception_ptr(
                std::logic_error("mpi: no unit ready and none out, yet the work is not finished")));
            break;
        }
        bool progressed = false;
        for (;;) {  // every message that has arrived
            int flag = 0;
            MPI_Status status;
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
            if (!flag) break;
            progressed = true;
            std::string bytes = receive(status);
            --busy;
            const std::size_t from = static_cast<std::size_t>(status.MPI_SOURCE);
            --out[from];
            const Clock::time_point now = Clock::now();
            depth[from] = now - last[from] < k_quick ? k_depth_quick : 1;
            last[from] = now;
            try {
                const uint64_t id = split_id(bytes);
                if (status.MPI_TAG == k_result) {
                    if (!failure) source.accept(id, bytes);
                } else if (status.MPI_TAG == k_error) {
                    ByteReader r(bytes);
                    const uint8_t kind = r.get<uint8_t>();
                    if (kind == k_input_error) {
                        std::string file = r.get_string(), field = r.get_string();
                        fail(std::make_exception_ptr(InputError(file, field, r.get_string())));
                    } else {
                        fail(std::make_exception_ptr(std::runtime_error(r.get_string())));
                    }
                } else {
                    throw std::runtime_error("mpi: an unexpected message");
                }
            } catch (...) {
                fail(std::current_exception());
            }
        }
        // Units delivered: their buffers go.
        for (std::size_t i = 0; i < sending.size();) {
            int done = 0;
            MPI_Test(&sending[i].request, &done, MPI_STATUS_IGNORE);
            if (done) {
                sending[i] = std::move(sending.back());
                sending.pop_back();
            } else {
                ++i;
            }
        }
        if (local.busy()) {
            // Nothing from the ranks: sleep until the local unit ends, or 0.2 ms (results
            // and units in transit move only while rank 0 calls into MPI).
            uint64_t id = 0;
            std::string result;
            std::exception_ptr error;
            const auto wait =
                progressed ? std::chrono::microseconds(0) : std::chrono::microseconds(200);
            if (local.finished(wait, id, result, error)) {
                if (error)
                    fail(error);
                else if (!failure) {
                    try {
                        source.accept(id, result);
                    } catch (...) {
                        fail(std::current_exception());
                    }
                }
            }
        } else if (!progressed) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    for (Sending& s : sending) MPI_Wait(&s.request, MPI_STATUS_IGNORE);
    for (int r = 1; r < m_size; ++r) send(std::string(), r, k_stop);
    if (failure) std::rethrow_exception(failure);
}

}  // namespace accsim
