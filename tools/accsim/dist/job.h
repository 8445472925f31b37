#pragma once
// The processes of the job this process belongs to: one, or the ranks of an MPI job when
// accsim was built with MPI (-DACCSIM_MPI=ON, the default) and started by mpirun or srun.
//
//   int main(int argc, char** argv) {
//       accsim::job_start(&argc, &argv);
//       ...  // job_info().rank == 0 writes the files; job_pool(threads) runs the units
//       accsim::job_finish();
//   }
//
// Rank 0 coordinates and owns every output file; the other ranks run units (engine/work_pool.h)
// and print nothing. Should the job be stopped (a rank died, mpirun was killed), rank 0 prints
// the message set by job_stop_message before it goes.
#include <memory>
#include <string>

#include "engine/work_pool.h"

namespace accsim {

struct JobInfo {
    int rank = 0;
    int size = 1;
};

// Joins the MPI job when launched as one (MPI_Init); a job of one otherwise. (A build without
// MPI started by mpirun reports the launcher's rank and size, and runs nothing.)
void job_start(int* argc, char*** argv);
void job_finish();
JobInfo job_info();
// Whether this accsim was built with MPI.
bool job_mpi_built();
// The pool of the job's ranks; null for a job of one (the caller then runs locally).
std::unique_ptr<WorkPool> job_pool(int threads);
// What rank 0 prints on stderr when a signal stops it (SIGTERM, SIGINT, SIGHUP).
void job_stop_message(const std::string& message);

}  // namespace accsim
