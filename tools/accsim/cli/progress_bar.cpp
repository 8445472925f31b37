#include "cli/progress_bar.h"

#include <cmath>
#include <cstdio>
#include <ostream>

namespace accsim {

using Clock = std::chrono::steady_clock;

std::string format_duration(double seconds) {
    const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    else
        std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    return buf;
}

ProgressBar::ProgressBar(std::ostream& out, std::string label, int64_t total, bool enabled)
    : m_out(out),
      m_label(std::move(label)),
      m_total(total),
      m_enabled(enabled),
      m_start(Clock::now()),
      m_last_draw(m_start) {
    if (m_enabled) draw(false);
}

void ProgressBar::advance(int64_t n) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_done += n;
    const auto now = Clock::now();
    if (m_enabled && now - m_last_draw > std::chrono::milliseconds(200)) {
        m_last_draw = now;
        draw(false);
    }
}

void ProgressBar::finish() {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_enabled || m_finished) return;
    m_finished = true;
    draw(true);
    m_out << "\n" << std::flush;
}

void ProgressBar::draw(bool final) {
    constexpr int k_width = 30;
    const double share = m_total > 0 ? static_cast<double>(m_done) / m_total : 1.0;
    const int filled = static_cast<int>(share * k_width);
    const double elapsed = std::chrono::duration<double>(Clock::now() - m_start).count();
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(k_width, '.');
    std::string tail;
    if (final)
        tail = "done in " + format_duration(elapsed);
    else if (m_done > 0)
        tail = "ETA " + format_duration(elapsed / share - elapsed);
    else
        tail = "ETA -:--";
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(share * 100));
    m_out << "\r" << m_label << " [" << bar << "] " << m_done << "/" << m_total << " " << pct
          << "  " << tail << "   " << std::flush;
}

}  // namespace accsim
