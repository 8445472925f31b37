#include "dist/launcher_env.h"

#include <cstdlib>

namespace accsim {

bool launched_by_mpi() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
        if (std::getenv(v)) return true;
    return false;
}

int launcher_count(std::initializer_list<const char*> names, int fallback) {
    for (const char* name : names) {
        const char* v = std::getenv(name);
        if (!v || !*v) continue;
        char* end = nullptr;
        const long n = std::strtol(v, &end, 10);
        if (*end == '\0' && n >= 0 && n < (1 << 24)) return static_cast<int>(n);
    }
    return fallback;
}

int srun_step_tasks() {
    return launcher_count({"SLURM_STEP_NUM_TASKS"}, 1);
}

}  // namespace accsim
