// dist/job.h with MPI: an MPI job when started by mpirun or srun, a job of one otherwise.
#include <mpi.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "dist/job.h"
#include "dist/launcher_env.h"
#include "dist/mpi_pool.h"

namespace accsim {

namespace {

bool g_started = false;
JobInfo g_info;
char g_stop_message[4096] = "accsim: error: the job was stopped by a signal\n";

extern "C" void on_stop_signal(int sig) {
    // Async-signal-safe: one write, then go with the signal's usual status.
    const ssize_t ignored = ::write(STDERR_FILENO, g_stop_message, std::strlen(g_stop_message));
    (void)ignored;
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

}  // namespace

void job_start(int* argc, char*** argv) {
    if (!launched_by_mpi()) return;
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    g_started = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_info.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_info.size);
    if (g_info.rank == 0 && g_info.size > 1)
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) std::signal(sig, on_stop_signal);
}

void job_finish() {
    // Rank 0 has said all it had to say: a signal from here on (mpirun stopping the job because
    // another rank ended with an error while this one finalizes) adds no message.
    if (g_started && g_info.rank == 0 && g_info.size > 1)
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) std::signal(sig, SIG_DFL);
    if (g_started) MPI_Finalize();
    g_started = false;
}

JobInfo job_info() {
    return g_info;
}

bool job_mpi_built() {
    return true;
}

std::unique_ptr<WorkPool> job_pool(int threads) {
    if (g_info.size <= 1) return nullptr;
    return std::make_unique<MpiPool>(g_info.rank, g_info.size, threads);
}

void job_stop_message(const std::string& message) {
    std::strncpy(g_stop_message, message.c_str(), sizeof g_stop_message - 1);
    g_stop_message[sizeof g_stop_message - 1] = '\0';
}

}  // namespace accsim
