#pragma once
// What a launcher (Open MPI's mpirun, PMIx, PMI, Slurm's srun) tells the processes it starts,
// through their environment.
//
//   if (launched_by_mpi()) MPI_Init_thread(...);               // an MPI job's rank
//   const int tasks = srun_step_tasks();                        // > 1: srun started several
#include <initializer_list>

namespace accsim {

// Whether a launcher started this process as a rank of an MPI job: Open MPI's mpirun, PMIx
// (srun --mpi=pmix) or PMI (MPICH, srun --mpi=pmi2).
bool launched_by_mpi();

// The first of the variables `names` that holds a count in [0, 2^24), or `fallback`.
int launcher_count(std::initializer_list<const char*> names, int fallback);

// The tasks Slurm's srun started for this job step (SLURM_STEP_NUM_TASKS); 1 outside srun,
// including in an sbatch script itself.
int srun_step_tasks();

}  // namespace accsim
