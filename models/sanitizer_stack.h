// AddressSanitizer and SystemC's coroutines. SystemC (QuickThreads) runs each process on a stack
// of its own and tells ASan about each switch, but the switch that ends a simulation and returns
// to sc_start's caller leaves ASan believing the thread still runs on the last process's stack.
// The first exception thrown after that makes ASan warn that it "is ignoring requested
// __asan_handle_no_return" and that false reports may follow (google/sanitizers#189).
//
//     sc_core::sc_start();
//     sanitizer_back_on_main_stack();  // ASan knows the thread's own stack again
//
// Compiled only into sanitizer builds (accsim's ACCSIM_SANITIZE, tools/test --sanitize); a no-op
// elsewhere.
#pragma once

namespace accsim {

void sanitizer_back_on_main_stack();

}  // namespace accsim
