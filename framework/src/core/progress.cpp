#include "simbi_host/core/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace simbi::host {

Progress::Progress(std::string label, uint64_t total, uint64_t start, bool enabled)
    : label_(std::move(label)), total_(total), start_(start), enabled_(enabled), tty_(isatty(2) != 0) {
    t0_ = last_ = std::chrono::steady_clock::now();
}

static std::string fmt_duration(double s) {
    char buf[32];
    if (s < 0 || s > 1e7) return "--:--";
    int t = int(s + 0.5);
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        std::snprintf(buf, sizeof buf, "%02d:%02d", t / 60, t % 60);
    return buf;
}

void Progress::draw(uint64_t done, bool final) {
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    double rate = elapsed > 0 ? double(done - start_) / elapsed : 0.0;
    double eta = rate > 0 ? double(total_ - done) / rate : -1;
    double frac = total_ ? double(done) / double(total_) : 1.0;
    if (tty_) {
        const int width = 30;
        int fill = int(frac * width);
        std::string bar(size_t(fill), '#');
        bar.resize(width, '.');
        std::fprintf(stderr, "\r%s [%s] %5.1f%% %llu/%llu  %.0f/s  ETA %s%s", label_.c_str(), bar.c_str(), 100 * frac,
                     (unsigned long long)done, (unsigned long long)total_, rate, fmt_duration(eta).c_str(), final ? "\n" : "");
    } else {
        std::fprintf(stderr, "%s: %llu/%llu (%.1f%%), %.0f/s, ETA %s\n", label_.c_str(), (unsigned long long)done,
                     (unsigned long long)total_, 100 * frac, rate, fmt_duration(eta).c_str());
    }
    std::fflush(stderr);
}

void Progress::update(uint64_t done) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    double since = std::chrono::duration<double>(now - last_).count();
    if (since < (tty_ ? 0.1 : 5.0)) return;
    last_ = now;
    draw(done, false);
}

void Progress::finish(uint64_t done) {
    if (!enabled_ || finished_) return;
    finished_ = true;
    draw(done, true);
}

}  // namespace simbi::host
