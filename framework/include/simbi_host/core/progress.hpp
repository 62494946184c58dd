// A progress display: a bar with rate and ETA on a terminal, a plain line every few seconds in logs.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace simbi::host {

class Progress {
public:
    Progress(std::string label, uint64_t total, uint64_t start = 0, bool enabled = true);
    void update(uint64_t done);
    void finish(uint64_t done);

private:
    void draw(uint64_t done, bool final);
    std::string label_;
    uint64_t total_, start_;
    bool enabled_, tty_, finished_ = false;
    std::chrono::steady_clock::time_point t0_, last_;
};

}  // namespace simbi::host
