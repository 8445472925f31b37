#pragma once
// A WorkPool over the ranks of an MPI job (MPI_COMM_WORLD): rank 0 coordinates, ranks 1..N-1
// run units. Rank 0 also runs units itself, on a second thread, while its main thread hands out
// work and collects results (the only thread that calls MPI: MPI_THREAD_FUNNELED).
//
// Messages, all bytes: a unit (its id, then its bytes) from rank 0; a result (the id, then the
// runner's bytes) or an error (InputError's file, field and problem, or an internal error's
// text) back; and a stop. A rank gets another unit when a result arrives, so the load balances
// itself; the source decides the order (biggest first). A rank whose results come back quickly
// (small units) holds a few units ahead, so that it never waits for rank 0 between them.
//
// When a rank reports an error, rank 0 hands out nothing more, waits for the units out, stops
// every rank and rethrows the error: the job ends with it on stderr and exit 2.
#include "engine/work_pool.h"

namespace accsim {

class MpiPool : public WorkPool {
  public:
    MpiPool(int rank, int size, int threads);
    bool coordinates() const override { return m_rank == 0; }
    int processes() const override { return m_size; }
    void agree(bool ready) override;
    void drive(UnitSource* source, const UnitRunner& runner) override;

  private:
    void coordinate(UnitSource& source, const UnitRunner& runner);
    void serve(const UnitRunner& runner);

    int m_rank, m_size, m_threads;
};

}  // namespace accsim
