#include "simbi_host/host_services.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "simbi_host/progress.hpp"

namespace simbi::host {
namespace {
std::atomic<bool> g_cancel{false};

extern "C" void on_sigint(int) {
    if (g_cancel.exchange(true)) _exit(130);  // second Ctrl-C: leave now
    const char msg[] = "\nsimbi: stopping after the current chunk (Ctrl-C again to quit at once)\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
}
}  // namespace

const char* status_name(simbi_status s) {
    switch (s) {
        case SIMBI_OK: return "ok";
        case SIMBI_DISCARD: return "discard";
        case SIMBI_ERROR: return "error";
        case SIMBI_FATAL: return "fatal";
        default: return "unknown status";
    }
}

HostServices::HostServices() {
    host_.size = sizeof host_;
    host_.host_data = this;
    host_.abi_major = SIMBI_ABI_MAJOR;
    host_.abi_minor = SIMBI_ABI_MINOR;
    host_.host_version = SIMBI_VERSION_STRING;
    host_.log = &log_cb;
    host_.progress = &progress_cb;
    host_.is_cancelled = &cancelled_cb;
    host_.metric = &metric_cb;
}

void HostServices::install_interrupt_handler() {
    struct sigaction sa {};
    sa.sa_handler = &on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

bool HostServices::cancelled() { return g_cancel.load(std::memory_order_relaxed); }
void HostServices::request_cancel() { g_cancel = true; }

std::map<std::string, std::vector<std::pair<uint64_t, double>>> HostServices::metrics() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return metrics_;
}

void HostServices::log_cb(const simbi_host* h, simbi_log_level level, const char* message) {
    auto* self = static_cast<HostServices*>(h->host_data);
    if (self->quiet_ && level < SIMBI_LOG_WARNING) return;
    static const char* names[] = {"debug", "info", "warning", "error"};
    std::lock_guard<std::mutex> lock(self->mutex_);
    std::fprintf(stderr, "[%s] %s\n", (level >= 0 && level <= 3) ? names[level] : "log", message ? message : "");
}

void HostServices::progress_cb(const simbi_host* h, const char* stage, uint64_t done, uint64_t total) {
    auto* self = static_cast<HostServices*>(h->host_data);
    if (self->quiet_) return;
    std::lock_guard<std::mutex> lock(self->mutex_);
    std::fprintf(stderr, "%s: %llu/%llu\n", stage ? stage : "progress", (unsigned long long)done, (unsigned long long)total);
}

int32_t HostServices::cancelled_cb(const simbi_host*) { return cancelled() ? 1 : 0; }

void HostServices::metric_cb(const simbi_host* h, const char* name, uint64_t step, double value) {
    auto* self = static_cast<HostServices*>(h->host_data);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->metrics_[name ? name : "metric"].emplace_back(step, value);
}

}  // namespace simbi::host
