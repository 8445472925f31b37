// libsystemc defines main() and calls sc_main(); doctest runs from here. CTest runs each test
// case as its own process (-tc=NAME) because SystemC elaborates only once per process.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <systemc>

int sc_main(int argc, char* argv[]) {
    doctest::Context context(argc, argv);
    return context.run();
}
