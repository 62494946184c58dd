// The simbi_host that plugins see: logging, progress, cancellation and metrics.
#pragma once
#include <cstdlib>
#include <functional>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <simbi/simbi.h>
#include <string>
#include <vector>

#include "simbi_host/core/errors.hpp"

namespace simbi::host {

class HostServices {
public:
    HostServices();
    HostServices(const HostServices&) = delete;
    HostServices& operator=(const HostServices&) = delete;

    const simbi_host* c_host() const { return &host_; }

    // Ctrl-C sets the flag; a second Ctrl-C exits at once.
    static void install_interrupt_handler();
    static bool cancelled();
    // The signal that asked to stop (SIGINT, SIGTERM), or 0.
    static int stop_signal();
    static void request_cancel();
    // Where the running stage stops when asked to, for the message (a string literal, e.g.
    // "the current chunk"). A first SIGINT or SIGTERM stops there; a second one, or SIGTERM's
    // grace period running out, exits at once.
    static void set_safe_point(const char* description);

    // Series recorded through simbi_host.metric, by name: (step, value) pairs.
    std::map<std::string, std::vector<std::pair<uint64_t, double>>> metrics() const;
    void set_quiet(bool quiet) { quiet_ = quiet; }
    // Debug lines are dropped unless SIMBI_DEBUG is set in the environment or this is called.
    void set_debug(bool debug) { debug_ = debug; }
    // Log lines go to sink instead of stderr (a bench reading what a plugin reports).
    void set_log_sink(std::function<void(simbi_log_level, const std::string&)> sink) { log_sink_ = std::move(sink); }

private:
    static void log_cb(const simbi_host*, simbi_log_level, const char*);
    static void progress_cb(const simbi_host*, const char*, uint64_t, uint64_t);
    static int32_t cancelled_cb(const simbi_host*);
    static void metric_cb(const simbi_host*, const char*, uint64_t, double);

    simbi_host host_{};
    mutable std::mutex mutex_;
    std::map<std::string, std::vector<std::pair<uint64_t, double>>> metrics_;
    bool quiet_ = false;
    bool debug_ = std::getenv("SIMBI_DEBUG") != nullptr;
    std::function<void(simbi_log_level, const std::string&)> log_sink_;
};

// A caller-owned error record with its buffer, for calls into plugins.
struct ErrorBuffer {
    char text[2048];
    simbi_error err;
    ErrorBuffer() { reset(); }
    simbi_error* get() { return &err; }
    void reset() {
        text[0] = '\0';
        err = simbi_error{sizeof(simbi_error), SIMBI_OK, 0, text, sizeof text};
    }
    // The plugin's message, with control characters escaped (printable()).
    std::string message() const { return text[0] ? printable(std::string(text, strnlen(text, sizeof text))) : std::string("(no message)"); }
};

const char* status_name(simbi_status s);

}  // namespace simbi::host
