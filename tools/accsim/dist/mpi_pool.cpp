#include "dist/mpi_pool.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "datapath/byte_stream.h"
#include "datapath/input_error.h"
#include "engine/unit_executor.h"

namespace accsim {

namespace {

enum Tag : int { k_unit = 1, k_result = 2, k_error = 3, k_stop = 4 };
enum : uint8_t { k_input_error = 1, k_internal_error = 2 };

using Clock = std::chrono::steady_clock;

// How long a process with nothing to do sleeps before it looks for messages again. Messages in
// transit move only while their sender and receiver call into MPI, so it stays short.
constexpr auto k_poll = std::chrono::microseconds(200);

// Receives the message `status` announced.
std::string receive(const MPI_Status& status) {
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    std::string bytes(static_cast<std::size_t>(count), '\0');
    MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    return bytes;
}

// Messages sent without blocking (the receiver may be busy), their buffers kept until delivered.
class Outbox {
  public:
    void send(std::string bytes, int to, Tag tag) {
        if (bytes.size() > static_cast<std::size_t>(INT_MAX))
            throw std::runtime_error("mpi: a message over 2 GiB");
        m_sending.push_back(Sending{std::make_unique<std::string>(std::move(bytes)), {}});
        Sending& s = m_sending.back();
        MPI_Isend(s.bytes->data(), static_cast<int>(s.bytes->size()), MPI_BYTE, to, tag,
                  MPI_COMM_WORLD, &s.request);
    }
    // Frees what was delivered.
    void progress() {
        for (std::size_t i = 0; i < m_sending.size();) {
            int done = 0;
            MPI_Test(&m_sending[i].request, &done, MPI_STATUS_IGNORE);
            if (done) {
                m_sending[i] = std::move(m_sending.back());
                m_sending.pop_back();
            } else {
                ++i;
            }
        }
    }
    void flush() {
        for (Sending& s : m_sending) MPI_Wait(&s.request, MPI_STATUS_IGNORE);
        m_sending.clear();
    }

  private:
    struct Sending {
        std::unique_ptr<std::string> bytes;
        MPI_Request request;
    };
    std::vector<Sending> m_sending;
};

// A unit's message: its id, whether it runs alone, its bytes.
std::string unit_message(const WorkUnit& u) {
    ByteWriter w;
    w.put(u.id);
    w.put_bool(u.alone);
    std::string m;
    m.reserve(w.bytes().size() + u.bytes.size());
    m += w.bytes();
    m += u.bytes;
    return m;
}

WorkUnit read_unit_message(const std::string& m) {
    constexpr std::size_t k_head = sizeof(uint64_t) + 1;
    if (m.size() < k_head) throw std::runtime_error("mpi: a unit without its header");
    const std::string head = m.substr(0, k_head);
    ByteReader r(head);
    WorkUnit u;
    u.id = r.get<uint64_t>();
    u.alone = r.get_bool();
    u.bytes.assign(m, k_head);
    return u;
}

// An error as bytes: an InputError's parts, or another exception's text with the rank's number.
void put_error(ByteWriter& w, const std::exception_ptr& error, int rank) {
    try {
        std::rethrow_exception(error);
    } catch (const InputError& e) {
        w.put(k_input_error);
        w.put_string(e.file());
        w.put_string(e.field());
        w.put_string(e.problem());
    } catch (const std::exception& e) {
        w.put(k_internal_error);
        w.put_string("rank " + std::to_string(rank) + ": " + e.what());
    } catch (...) {
        w.put(k_internal_error);
        w.put_string("rank " + std::to_string(rank) + ": an unknown exception");
    }
}

std::exception_ptr read_error(ByteReader& r) {
    if (r.get<uint8_t>() == k_input_error) {
        std::string file = r.get_string(), field = r.get_string();
        return std::make_exception_ptr(InputError(file, field, r.get_string()));
    }
    return std::make_exception_ptr(std::runtime_error(r.get_string()));
}

// A result's message: the unit's id, then the runner's bytes, or the error.
std::string result_message(const UnitExecutor::Done& d, int rank, Tag& tag) {
    ByteWriter w;
    w.put(d.id);
    if (!d.error) {
        tag = k_result;
        std::string m = w.take();
        m += d.result;
        return m;
    }
    tag = k_error;
    put_error(w, d.error, rank);
    return w.take();
}

// The exception a result message carries, if it carries one; else its result bytes in `result`.
std::exception_ptr read_result_message(const std::string& m, int tag, uint64_t& id,
                                       std::string& result) {
    if (m.size() < sizeof(uint64_t)) throw std::runtime_error("mpi: a result without its id");
    const std::string head_bytes = m.substr(0, sizeof(uint64_t));
    ByteReader head(head_bytes);
    id = head.get<uint64_t>();
    if (tag == k_result) {
        result = m.substr(sizeof(uint64_t));
        return nullptr;
    }
    if (tag != k_error) throw std::runtime_error("mpi: an unexpected message");
    const std::string error = m.substr(sizeof(uint64_t));
    ByteReader r(error);
    return read_error(r);
}

}  // namespace

MpiPool::MpiPool(int rank, int size, int threads)
    : m_rank(rank), m_size(size), m_threads(threads < 1 ? 1 : threads) {
    // Every rank's thread count (--threads, or its machine's hardware threads).
    m_rank_threads.resize(static_cast<std::size_t>(size));
    MPI_Allgather(&m_threads, 1, MPI_INT, m_rank_threads.data(), 1, MPI_INT, MPI_COMM_WORLD);
}

void MpiPool::agree(std::exception_ptr error) {
    m_agreed = true;
    // The first rank that failed, or m_size when none did.
    int mine = error ? m_rank : m_size, first = m_size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == m_size) return;
    // Its error, to every rank (rank 0 reports it).
    std::string bytes;
    if (m_rank == first) {
        ByteWriter w;
        put_error(w, error, m_rank);
        bytes = w.take();
    }
    int length = static_cast<int>(bytes.size());
    MPI_Bcast(&length, 1, MPI_INT, first, MPI_COMM_WORLD);
    bytes.resize(static_cast<std::size_t>(length));
    MPI_Bcast(bytes.data(), length, MPI_BYTE, first, MPI_COMM_WORLD);
    if (error) std::rethrow_exception(error);
    if (m_rank != 0)  // silent: rank 0 reports the job's error
        throw InputError("mpirun", "rank " + std::to_string(m_rank),
                         "rank " + std::to_string(first) + " could not start");
    ByteReader r(bytes);
    try {
        std::rethrow_exception(read_error(r));
    } catch (const InputError& e) {
        throw InputError(e.file(), e.field(),
                         e.problem() + " (on rank " + std::to_string(first) + ")");
    }
}

void MpiPool::leave(std::exception_ptr error) {
    if (!m_agreed) agree(error);
}

void MpiPool::drive(UnitSource* source, const UnitRunner& runner) {
    if (m_rank == 0) {
        coordinate(*source, runner);
        return;
    }
    // Errors in units go back to rank 0; one here (a fault of this rank's own, not a unit's)
    // would leave rank 0 waiting for results that will not come: the job ends at once.
    try {
        serve(runner);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "accsim: error: rank %d: %s\n", m_rank, e.what());
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

void MpiPool::serve(const UnitRunner& runner) {
    UnitExecutor executor(runner, m_threads);
    Outbox outbox;
    bool stopped = false;
    while (!stopped || executor.in_flight() > 0) {
        bool busy = false;
        for (;;) {  // every unit that has arrived goes to the threads
            int flag = 0;
            MPI_Status status;
            MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
            if (!flag) break;
            busy = true;
            const std::string m = receive(status);
            if (status.MPI_TAG == k_stop) {
                stopped = true;
                break;
            }
            executor.submit(read_unit_message(m));
        }
        // Results go back as they finish; the threads go on with the units this rank holds.
        // With every thread busy, nothing needs this thread until a unit ends: it sleeps till
        // then (units sent meanwhile wait in MPI's buffers), leaving the core to the units.
        const bool full = executor.in_flight() >= static_cast<std::size_t>(m_threads);
        const auto wait = busy   ? std::chrono::microseconds(0)
                          : full ? std::chrono::microseconds(std::chrono::hours(1))
                                 : k_poll;
        for (const UnitExecutor::Done& d : executor.collect(wait)) {
            Tag tag = k_result;
            std::string m = result_message(d, m_rank, tag);
            outbox.send(std::move(m), 0, tag);
            busy = true;
        }
        outbox.progress();
        if (!busy && executor.in_flight() == 0) std::this_thread::sleep_for(k_poll);
    }
    outbox.flush();
}

void MpiPool::coordinate(UnitSource& source, const UnitRunner& runner) {
    const std::size_t n = static_cast<std::size_t>(m_size);
    // Rank 0's own units run on threads that yield to this one, which answers the other ranks.
    UnitExecutor local(runner, m_threads, true);
    std::vector<int> out(n, 0);  // units handed to each rank, results not back
    // A rank holds as many units as it has threads; one whose units come back quickly holds
    // twice that, so that its threads never wait for this rank to answer.
    std::vector<int> limit(n);
    for (std::size_t r = 0; r < n; ++r) limit[r] = m_rank_threads[r];
    std::vector<Clock::time_point> last(n, Clock::now());
    Outbox outbox;
    std::exception_ptr failure;  // the first error: nothing more is handed out
    const auto fail = [&](std::exception_ptr e) {
        if (!failure) failure = e;
    };
    const auto accept = [&](uint64_t id, const std::string& result) {
        if (failure) return;
        try {
            source.accept(id, result);
        } catch (...) {
            fail(std::current_exception());
        }
    };
    for (;;) {
        if (!failure) {
            try {
                // The least loaded ranks first (rank 0 last: it also coordinates), so that the
                // biggest units start first and spread.
                bool more = true;
                const int most = *std::max_element(limit.begin(), limit.end());
                for (int held = 0; held < most && more; ++held)
                    for (std::size_t r = 1; r <= n && more; ++r) {
                        const std::size_t rank = r % n;
                        const int holds =
                            rank == 0 ? static_cast<int>(local.in_flight()) : out[rank];
                        if (holds != held || held >= limit[rank]) continue;
                        std::vector<WorkUnit> u = source.take(1);
                        if (u.empty()) {
                            more = false;
                        } else if (rank == 0) {
                            local.submit(std::move(u[0]));
                        } else {
                            outbox.send(unit_message(u[0]), static_cast<int>(rank), k_unit);
                            ++out[rank];
                        }
                    }
            } catch (...) {
                fail(std::current_exception());
            }
        }
        int remote = 0;
        for (std::size_t r = 1; r < n; ++r) remote += out[r];
        if (remote == 0 && local.in_flight() == 0) {
            if (failure || source.finished()) break;
            fail(std::make_exception_ptr(
                std::logic_error("mpi: no unit ready and none out, yet the work is not finished")));
            break;
        }
        bool progressed = false;
        for (;;) {  // every result that has arrived
            int flag = 0;
            MPI_Status status;
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
            if (!flag) break;
            progressed = true;
            const std::size_t from = static_cast<std::size_t>(status.MPI_SOURCE);
            const std::string m = receive(status);
            --out[from];
            const Clock::time_point now = Clock::now();
            const bool quick =
                (now - last[from]) * m_rank_threads[from] < std::chrono::milliseconds(20);
            limit[from] = m_rank_threads[from] * (quick ? 2 : 1);
            last[from] = now;
            try {
                uint64_t id = 0;
                std::string result;
                const std::exception_ptr error = read_result_message(m, status.MPI_TAG, id, result);
                if (error)
                    fail(error);
                else
                    accept(id, result);
            } catch (...) {
                fail(std::current_exception());
            }
        }
        outbox.progress();
        // Rank 0's own results; with nothing from the others, wait a little for one.
        const auto wait =
            progressed || local.in_flight() == 0 ? std::chrono::microseconds(0) : k_poll;
        for (const UnitExecutor::Done& d : local.collect(wait)) {
            progressed = true;
            if (d.error)
                fail(d.error);
            else
                accept(d.id, d.result);
        }
        if (!progressed && local.in_flight() == 0) std::this_thread::sleep_for(k_poll);
    }
    outbox.flush();
    for (int r = 1; r < m_size; ++r) outbox.send(std::string(), r, k_stop);
    outbox.flush();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace accsim
