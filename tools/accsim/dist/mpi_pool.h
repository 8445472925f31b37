#pragma once
// A WorkPool over the ranks of an MPI job (MPI_COMM_WORLD): rank 0 coordinates, and every rank
// runs units on its threads (engine/unit_executor.h: several side by side, or a big one on all
// of them). Rank 0's own units run on threads that yield to its main thread, which hands out
// work and collects results (the only thread that calls MPI: MPI_THREAD_FUNNELED).
//
// Messages, all bytes: a unit (its id, whether it runs alone, its bytes) from rank 0; a result
// (the id, then the runner's bytes) or an error (InputError's file, field and problem, or an
// internal error's text) back; and a stop. A rank holds as many units as it has threads and gets
// another when a result arrives, so the load balances itself; the source decides the order
// (biggest first). A rank whose results come back quickly (small units) holds twice as many, so
// that its threads never wait for rank 0. Results are sent without blocking.
//
// When a rank reports an error, rank 0 hands out nothing more, waits for the units out, stops
// every rank and rethrows the error: the job ends with it on stderr and exit 2. Before any unit,
// agree() is one collective: when some rank could not get ready, the first such rank's error
// goes to every rank, and rank 0 reports it naming the rank.
#include <vector>

#include "engine/work_pool.h"

namespace accsim {

class MpiPool : public WorkPool {
  public:
    MpiPool(int rank, int size, int threads);
    bool coordinates() const override { return m_rank == 0; }
    int processes() const override { return m_size; }
    void agree(std::exception_ptr error) override;
    void leave(std::exception_ptr error) override;
    void drive(UnitSource* source, const UnitRunner& runner) override;

  private:
    void coordinate(UnitSource& source, const UnitRunner& runner);
    void serve(const UnitRunner& runner);

    int m_rank, m_size, m_threads;
    std::vector<int> m_rank_threads;  // every rank's threads
    bool m_agreed = false;            // agree() was called
};

}  // namespace accsim
