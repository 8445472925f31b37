#pragma once
// A progress bar with an estimate of the time left, redrawn in place on a terminal stream
// (at most five times a second), for long commands such as sweeps. Thread-safe.
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <mutex>
#include <string>

namespace accsim {

class ProgressBar {
  public:
    // Nothing is drawn when `enabled` is false.
    ProgressBar(std::ostream& out, std::string label, int64_t total, bool enabled);
    void advance(int64_t n = 1);
    // Draws the final state and ends the line.
    void finish();

  private:
    void draw(bool final);

    std::ostream& m_out;
    std::string m_label;
    int64_t m_total, m_done = 0;
    bool m_enabled, m_finished = false;
    std::chrono::steady_clock::time_point m_start, m_last_draw;
    std::mutex m_mutex;
};

// "1:05", "12:00:03": seconds as the bar shows them.
std::string format_duration(double seconds);

}  // namespace accsim
