#include "simbi_host/plugins/host_services.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "simbi_host/core/progress.hpp"

namespace simbi::host {
namespace {
std::atomic<bool> g_cancel{false};
std::atomic<int> g_signal{0};
// What "the next safe point" is in the stage running now; a static string.
std::atomic<const char*> g_safe_point{"the current step"};
constexpr unsigned kTermGraceSeconds = 20;

void say(const char* s) {
    ssize_t ignored = write(2, s, std::strlen(s));
    (void)ignored;
}

extern "C" void on_grace_over(int) {
    say("\nsimbi: still running after the grace period; quitting now (what was saved resumes)\n");
    _exit(143);
}

extern "C" void on_stop_signal(int sig) {
    int none = 0;
    g_signal.compare_exchange_strong(none, sig);
    if (g_cancel.exchange(true)) {  // the second signal: leave now; journals and checkpoints resume
        say("\nsimbi: quitting at once\n");
        _exit(128 + sig);
    }
    say("\nsimbi: stopping after ");
    say(g_safe_point.load());
    say(sig == SIGTERM ? " (a second signal, or 20 s, quits at once)\n" : " (Ctrl-C again to quit at once)\n");
    if (sig == SIGTERM) {
        signal(SIGALRM, &on_grace_over);
        alarm(kTermGraceSeconds);
    }
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
    sa.sa_handler = &on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

void HostServices::set_safe_point(const char* description) { g_safe_point = description; }

bool HostServices::cancelled() { return g_cancel.load(std::memory_order_relaxed); }
int HostServices::stop_signal() { return g_signal.load(); }
void HostServices::request_cancel() { g_cancel = true; }

std::map<std::string, std::vector<std::pair<uint64_t, double>>> HostServices::metrics() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return metrics_;
}

void HostServices::log_cb(const simbi_host* h, simbi_log_level level, const char* message) {
    auto* self = static_cast<HostServices*>(h->host_data);
    if (self->quiet_ && level < SIMBI_LOG_WARNING) return;
    if (level == SIMBI_LOG_DEBUG && !self->debug_) return;
    if (self->log_sink_) {
        self->log_sink_(level, message ? message : "");
        return;
    }
    static const char* names[] = {"debug", "info", "warning", "error"};
    std::lock_guard<std::mutex> lock(self->mutex_);
    std::fprintf(stderr, "[%s] %s\n", (level >= 0 && level <= 3) ? names[level] : "log", printable(message ? message : "").c_str());
}

void HostServices::progress_cb(const simbi_host* h, const char* stage, uint64_t done, uint64_t total) {
    auto* self = static_cast<HostServices*>(h->host_data);
    if (self->quiet_) return;
    std::lock_guard<std::mutex> lock(self->mutex_);
    std::fprintf(stderr, "%s: %llu/%llu\n", printable(stage ? stage : "progress").c_str(), (unsigned long long)done,
                 (unsigned long long)total);
}

int32_t HostServices::cancelled_cb(const simbi_host*) { return cancelled() ? 1 : 0; }

void HostServices::metric_cb(const simbi_host* h, const char* name, uint64_t step, double value) {
    auto* self = static_cast<HostServices*>(h->host_data);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->metrics_[name ? name : "metric"].emplace_back(step, value);
}

}  // namespace simbi::host
