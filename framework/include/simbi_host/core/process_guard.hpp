// What keeps a run honest about how it ended: a lock per store and run folder, and a record of
// which plugin call is running, printed if a plugin ends the process (exit(), a crash).
#pragma once
#include <functional>
#include <string>

namespace simbi::host {

// An advisory lock (flock) on `path` + ".lock", held for the object's life. A second process
// asking for the same lock gets RunError "<what> is in use by pid N" and touches nothing.
class RunLock {
public:
    // Takes <path>.lock. Held by another process: throws RunError naming its pid, or, given
    // wait_unless, waits (saying so once) until it is free or wait_unless() returns true.
    RunLock(const std::string& path, const std::string& what, const std::function<bool()>& wait_unless = nullptr);
    ~RunLock();
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;

private:
    int fd_ = -1;
};

// Names the plugin call in flight for the process guards, e.g. "simulator 'x' at rows 0..1023".
// Nested scopes restore the outer description.
class PluginActivity {
public:
    explicit PluginActivity(const std::string& description);
    ~PluginActivity();
    PluginActivity(const PluginActivity&) = delete;
    PluginActivity& operator=(const PluginActivity&) = delete;

private:
    std::string previous_;
};

// Installs an atexit handler and handlers for fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
// SIGABRT). While a PluginActivity is open, a plugin that calls exit() makes the process exit 1
// with a message naming the call, instead of a silent 0; a crash prints the same before dying.
void install_process_guards();

}  // namespace simbi::host
