#include "simbi_host/core/process_guard.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "simbi_host/core/buffer_guard.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/safe_files.hpp"

namespace simbi::host {
namespace {

// The description lives in a fixed buffer so that signal handlers can print it without allocating.
char g_activity[512];
std::atomic<bool> g_active{false};
std::mutex g_activity_mutex;

void write_stderr(const char* s) {
    ssize_t ignored = ::write(2, s, std::strlen(s));
    (void)ignored;
}

void set_activity(const std::string& text) {
    std::lock_guard<std::mutex> lock(g_activity_mutex);
    g_active = false;
    std::strncpy(g_activity, text.c_str(), sizeof g_activity - 1);
    g_activity[sizeof g_activity - 1] = '\0';
    g_active = !text.empty();
}

extern "C" void on_exit_during_plugin() {
    if (!g_active.load()) return;
    write_stderr("simbi: failed: the process was ended by exit() during ");
    write_stderr(g_activity);
    write_stderr("; the output of this call is lost, earlier results are kept\n");
    _exit(1);
}

std::atomic<bool> g_fault_handled{false};

extern "C" void on_fatal_signal(int sig, siginfo_t* info, void*) {
    // One thread speaks for the process: another that faults too (two simulator threads that
    // overrun at once) waits here for the first to end the process.
    if (g_fault_handled.exchange(true))
        for (;;) ::pause();
    // A write on an output buffer's guard page: a plugin overran what it was given, and the fault
    // stopped it before any damage. A clean failure, not a crash.
    char what[256];
    if ((sig == SIGSEGV || sig == SIGBUS) && info && describe_guard_fault(info->si_addr, what, sizeof what)) {
        write_stderr("simbi: failed: ");
        write_stderr(what);
        write_stderr(" (the write hit a guard page; earlier results are kept)\n");
        _exit(1);
    }
    write_stderr("simbi: crashed (");
    write_stderr(strsignal(sig));
    write_stderr(")");
    if (g_active.load()) {
        write_stderr(" during ");
        write_stderr(g_activity);
    }
    write_stderr("\n");
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

}  // namespace

RunLock::RunLock(const std::string& path, const std::string& what, const std::function<bool()>& wait_unless) {
    const std::string file = path + ".lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    // Another user's lock file in a shared folder: flock(2) works on a read-only descriptor too.
    if (fd_ < 0 && errno == EACCES) fd_ = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0) fd_ = open_no_follow(file, O_RDWR | O_CREAT, 0644, "the lock file");  // throws, saying why
    bool told = false;
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {0};
        ssize_t got = ::pread(fd_, buf, sizeof buf - 1, 0);
        std::string pid = got > 0 ? std::string(buf, size_t(got)) : std::string("another process");
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        if (!wait_unless) {
            ::close(fd_);
            fd_ = -1;
            throw RunError(what + " is in use by pid " + pid + " (lock " + file + "); wait for it to finish");
        }
        if (!told) std::fprintf(stderr, "note: %s is being written by pid %s; waiting for it (Ctrl-C stops)\n", what.c_str(), pid.c_str());
        told = true;
        if (wait_unless()) {
            ::close(fd_);
            fd_ = -1;
            throw RunError("stopped while waiting for " + what + " (lock " + file + ")");
        }
        ::usleep(200000);
    }
    const std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) {
        ssize_t ignored = ::pwrite(fd_, me.data(), me.size(), 0);
        (void)ignored;
    }
}

RunLock::~RunLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock; the file stays, harmless
}

PluginActivity::PluginActivity(const std::string& description) {
    {
        std::lock_guard<std::mutex> lock(g_activity_mutex);
        previous_ = g_active.load() ? std::string(g_activity) : std::string();
    }
    set_activity(description);
}

PluginActivity::~PluginActivity() { set_activity(previous_); }

void install_process_guards() {
    std::atexit(&on_exit_during_plugin);
    struct sigaction sa {};
    sa.sa_sigaction = &on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO;  // not reset: a second thread's fault must find the handler too
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
}

}  // namespace simbi::host
