#pragma once
// What every fuzz harness shares: the contract it asserts (an input yields a result or the
// project's InputError; any other exception, a crash, a hang or a sanitizer report is a
// finding), and a private scratch directory for harnesses whose entry point reads files.
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//       return accsim::fuzz::contract([&] { parse_acc_shorthand(accsim::fuzz::text(data, size)); });
//   }
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "datapath/input_error.h"

namespace accsim::fuzz {

inline std::string text(const uint8_t* data, size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs `f`: InputError is the contract's other outcome; anything else escapes and is a finding.
template <class F>
int contract(F&& f) {
    try {
        f();
    } catch (const InputError&) {
    }
    return 0;
}

// A directory of this process's own (removed at exit is not needed: the OS's /tmp).
inline const std::string& scratch() {
    static const std::string dir = [] {
        std::string d = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
        d += "/accsim-fuzz-" + std::to_string(::getpid());
        std::string cmd = "mkdir -p '" + d + "'";
        if (std::system(cmd.c_str()) != 0) std::abort();
        return d;
    }();
    return dir;
}

// Writes `size` bytes to `path` (below scratch()).
inline void write_file(const std::string& path, const uint8_t* data, size_t size) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

// The small valid trace the bad-input tests share (its manifest and tensors).
inline std::string seed_trace_file(const char* name) {
    return std::string(ACCSIM_SOURCE_DIR) + "/tests/bad/_shared/ok.trace/" + name;
}

}  // namespace accsim::fuzz
