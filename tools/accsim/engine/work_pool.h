#pragma once
// Work split into self-contained units, run by one process on its threads (LocalPool) or by
// the ranks of an MPI job (dist/mpi_pool.h): the same units and the same results either way,
// so that a job's files do not depend on how many processes made them.
//
//   struct Squares : UnitSource { ... };          // hands out units, takes their results
//   const UnitRunner runner = [](const std::string& unit, int threads) { ...; return result; };
//   LocalPool pool(threads);
//   pool.agree(nullptr);                          // every process got ready
//   pool.drive(&squares, runner);                 // until squares.finished()
//
// The coordinating process owns the UnitSource: it decides what is ready (a unit may wait for
// the results of others) and receives every result, in whatever order they finish; what it makes
// of them must not depend on that order. The other processes (ranks > 0 of an MPI job) pass no
// source: they run the units sent to them until the coordinator is done.
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace accsim {

struct WorkUnit {
    uint64_t id = 0;
    std::string bytes;   // everything the runner needs
    bool alone = false;  // big enough to take all of a process's threads by itself
};

class UnitSource {
  public:
    virtual ~UnitSource() = default;
    // Up to `max` units that are ready, the most urgent (biggest) first; none when those left
    // wait for results still out.
    virtual std::vector<WorkUnit> take(std::size_t max) = 0;
    // The result of unit `id` (its runner's return value).
    virtual void accept(uint64_t id, const std::string& result) = 0;
    virtual bool finished() const = 0;
};

// What every process can compute: a unit into its result, on `threads` threads. Throws
// InputError for bad input (the coordinator then reports it and the job ends).
using UnitRunner = std::function<std::string(const std::string& unit, int threads)>;

class WorkPool {
  public:
    virtual ~WorkPool() = default;
    // This process coordinates: it holds the source, and writes the job's files.
    virtual bool coordinates() const = 0;
    virtual int processes() const = 0;
    // Called by every process at the same point, with its error if it could not get ready
    // (null when it did). Rethrows this process's own error. A process that was ready when
    // another was not throws InputError too, so that none waits for work that will not come:
    // on the coordinator, the first failing process's error (its file, field and problem, the
    // process named), which the coordinator then reports for the job.
    virtual void agree(std::exception_ptr error) = 0;
    // Called on the way out of a failed command, with its error: a process that had not agreed
    // yet (it failed before, e.g. loading a trace its machine cannot read) takes part in the
    // agreement the others wait in. Nothing once it has agreed.
    virtual void leave(std::exception_ptr error) = 0;
    // The coordinator runs `source` to the end (its units on every process); another process
    // runs what it is sent until then (`source` is null there). Every process calls it once
    // per agree(nullptr) that returned.
    virtual void drive(UnitSource* source, const UnitRunner& runner) = 0;
};

// One process: ready units side by side on `threads` threads (one each), a unit marked alone on
// all of them (engine/unit_executor.h), each result taken as soon as its unit ends.
class LocalPool : public WorkPool {
  public:
    explicit LocalPool(int threads) : m_threads(threads < 1 ? 1 : threads) {}
    bool coordinates() const override { return true; }
    int processes() const override { return 1; }
    void agree(std::exception_ptr error) override {
        if (error) std::rethrow_exception(error);
    }
    void leave(std::exception_ptr) override {}
    void drive(UnitSource* source, const UnitRunner& runner) override;

  private:
    int m_threads;
};

}  // namespace accsim
