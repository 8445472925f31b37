// dist/job.h for a build without MPI: always a job of one process. Started by an MPI launcher
// all the same, job_info() tells the launcher's rank and size, so that the CLI can refuse to
// have every process run (and write) the whole job.
#include <string>

#include "dist/job.h"
#include "dist/launcher_env.h"

namespace accsim {

void job_start(int*, char***) {}
void job_finish() {}
JobInfo job_info() {
    JobInfo j;
    j.rank = launcher_count({"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}, 0);
    j.size = launcher_count({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}, 1);
    if (j.size < 1 || j.rank >= j.size) j = JobInfo{};
    return j;
}
bool job_mpi_built() {
    return false;
}
std::unique_ptr<WorkPool> job_pool(int) {
    return nullptr;
}
void job_stop_message(const std::string&) {}

}  // namespace accsim
