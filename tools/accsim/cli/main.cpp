#include <cstdlib>
#include <iostream>
#include <systemc>

#include "cli/cli.h"
#include "dist/job.h"

// The accsim command line. SystemC's own main() would print a banner; this one silences it and
// hands over to SystemC, which calls sc_main.
int sc_main(int argc, char** argv) {
    return accsim::run_cli(argc, argv, std::cout, std::cerr);
}

int main(int argc, char** argv) {
    setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
    accsim::job_start(&argc, &argv);  // a rank of an MPI job when mpirun or srun started it
    const int status = sc_core::sc_elab_and_sim(argc, argv);
    accsim::job_finish();
    return status;
}
