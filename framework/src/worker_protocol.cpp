#include "simbi_host/worker_protocol.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "simbi_host/errors.hpp"

namespace simbi::host::worker {

bool write_all(int fd, const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= size_t(w);
    }
    return true;
}

namespace {
// Waits up to about a millisecond for fd to become readable, yielding the core between checks.
// An answer usually comes that soon, and a process that blocks in read() instead lets its core
// idle: on a virtual machine, waking it again costs up to a millisecond per message.
void spin_until_readable(int fd) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(1000);
    do {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 0) != 0) return;
        sched_yield();
    } while (std::chrono::steady_clock::now() < until);
}
}  // namespace

bool read_exact(int fd, void* data, size_t n, double timeout_s, bool* timed_out) {
    if (timed_out) *timed_out = false;
    char* p = static_cast<char*>(data);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    spin_until_readable(fd);
    while (n > 0) {
        if (timeout_s > 0) {
            const double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) {
                if (timed_out) *timed_out = true;
                return false;
            }
            pollfd pfd{fd, POLLIN, 0};
            int r = ::poll(&pfd, 1, int(std::min(left * 1000.0 + 1, 1e9)));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return false;
            if (r == 0) continue;  // the loop re-checks the deadline
        }
        ssize_t got = ::read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        p += got;
        n -= size_t(got);
    }
    return true;
}

bool write_handshake(int fd, const Handshake& h) {
    const uint32_t head[4] = {kVersion, h.theta_dim, h.x_dim, uint32_t(h.names_json.size())};
    return write_all(fd, kMagic, sizeof kMagic) && write_all(fd, head, sizeof head) && write_all(fd, h.names_json.data(), h.names_json.size());
}

bool read_handshake(int fd, Handshake& h, double timeout_s, std::string& error) {
    char magic[8];
    uint32_t head[4];
    bool timed_out = false;
    if (!read_exact(fd, magic, sizeof magic, timeout_s, &timed_out)) {
        error = timed_out ? "no handshake within " + std::to_string(int(timeout_s)) + " s" : "it ended before its handshake";
        return false;
    }
    if (std::memcmp(magic, kMagic, sizeof magic) != 0) {
        error = "its first bytes are not the protocol's magic \"SIMBIWK1\" (does it print something else to stdout?)";
        return false;
    }
    if (!read_exact(fd, head, sizeof head, timeout_s)) {
        error = "its handshake is cut short";
        return false;
    }
    if (head[0] != kVersion) {
        error = "it speaks protocol version " + std::to_string(head[0]) + "; this simbi speaks version " + std::to_string(kVersion);
        return false;
    }
    if (head[3] > (1u << 20)) {
        error = "its handshake's names are longer than 1 MiB";
        return false;
    }
    h.theta_dim = head[1];
    h.x_dim = head[2];
    h.names_json.assign(head[3], '\0');
    if (head[3] && !read_exact(fd, h.names_json.data(), head[3], timeout_s)) {
        error = "its handshake is cut short";
        return false;
    }
    return true;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& cwd) {
    if (argv.empty()) throw RunError("no worker command");
    int to[2], from[2];
    if (::pipe2(to, O_CLOEXEC) != 0) throw RunError(std::string("cannot create a pipe: ") + std::strerror(errno));
    if (::pipe2(from, O_CLOEXEC) != 0) {
        ::close(to[0]);
        ::close(to[1]);
        throw RunError(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw RunError(std::string("cannot start a worker process: ") + std::strerror(errno));
    if (pid_ == 0) {
        ::dup2(to[0], 0);
        ::dup2(from[1], 1);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            const char msg[] = "simbi: cannot enter the worker's folder\n";
            (void)!::write(2, msg, sizeof msg - 1);
            ::_exit(127);
        }
        ::execvp(args[0], args.data());
        const char msg[] = "simbi: cannot execute the worker command\n";
        (void)!::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    in_ = to[1];
    out_ = from[0];
}

std::string ChildProcess::kill_and_describe(bool timed_out) {
    if (pid_ <= 0) return "not running";
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    // A child whose pipe closed is usually ending: give it a moment to be reaped as it ended.
    for (int i = 0; !timed_out && r == 0 && i < 200; ++i) {
        ::usleep(5000);
        r = ::waitpid(pid_, &status, WNOHANG);
    }
    if (r == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return timed_out ? "killed after the timeout" : "killed: it stopped answering";
    }
    pid_ = -1;
    if (r < 0) return "ended (its status is unknown)";
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    return "ended";
}

ChildProcess::~ChildProcess() {
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
    if (pid_ > 0) {
        // Closing its stdin asks a well-behaved worker to leave; one that does not is killed.
        int status = 0;
        for (int i = 0; i < 50 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) ::usleep(2000);
        if (::waitpid(pid_, &status, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
    }
}

}  // namespace simbi::host::worker
