// dist/job.h for a build without MPI: always a job of one process.
#include "dist/job.h"

namespace accsim {

void job_start(int*, char***) {}
void job_finish() {}
JobInfo job_info() {
    return {};
}
bool job_mpi_built() {
    return false;
}
std::unique_ptr<WorkPool> job_pool(int) {
    return nullptr;
}
void job_stop_message(const std::string&) {}

}  // namespace accsim
