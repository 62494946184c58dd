#include "simbi_host/plugins/worker_protocol.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "simbi_host/core/errors.hpp"

extern char** environ;

namespace simbi::host::worker {
namespace {

using Clock = std::chrono::steady_clock;

void put_u32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }  // x86-64 and aarch64 Linux: little-endian
void put_u64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get_u32(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
uint64_t get_u64(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Milliseconds left before the deadline, for poll: -1 for none, at least 0.
int ms_left(bool has_deadline, Clock::time_point deadline) {
    if (!has_deadline) return -1;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : int(std::min<long long>(left + 1, 1 << 30));
}

constexpr size_t kTailBytes = 600;

}  // namespace

void encode_request(const RequestHead& h, char out[kRequestHeadBytes]) {
    put_u32(out, kSimulate);
    put_u64(out + 4, h.sequence);
    put_u64(out + 12, h.seed);
    put_u64(out + 20, h.first);
    put_u64(out + 28, h.rows);
}

AnswerHead decode_answer(const char in[kAnswerHeadBytes]) { return {get_u32(in), get_u64(in + 4), get_u64(in + 12)}; }

void encode_answer(const AnswerHead& h, char out[kAnswerHeadBytes]) {
    put_u32(out, h.status);
    put_u64(out + 4, h.sequence);
    put_u64(out + 12, h.length);
}

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

bool read_all(int fd, void* data, size_t n) {
    char* p = static_cast<char*>(data);
    while (n > 0) {
        ssize_t got = ::read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        p += got;
        n -= size_t(got);
    }
    return true;
}

bool write_handshake(int fd, const Handshake& h) {
    const uint32_t head[4] = {h.version, h.theta_dim, h.x_dim, uint32_t(h.names_json.size())};
    return write_all(fd, kMagic, sizeof kMagic) && write_all(fd, head, sizeof head) &&
           write_all(fd, h.names_json.data(), h.names_json.size());
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& cwd, const std::string& label,
                           const std::vector<std::string>& env)
    : label_(label) {
    if (argv.empty()) throw RunError("no worker command");
    int to[2] = {-1, -1}, from[2] = {-1, -1}, err[2] = {-1, -1};
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
        const int e = errno;
        for (int fd : {to[0], to[1], from[0], from[1], err[0], err[1]})
            if (fd >= 0) ::close(fd);
        throw RunError(std::string("cannot create a pipe: ") + std::strerror(e));
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // The environment is built before fork: after it, in a threaded process, only async-signal-safe
    // calls are allowed.
    std::vector<std::string> environment;
    for (char** e = environ; e && *e; ++e) {
        const std::string entry = *e;
        const std::string name = entry.substr(0, entry.find('='));
        bool replaced = false;
        for (const auto& over : env) replaced = replaced || over.compare(0, name.size() + 1, name + "=") == 0;
        if (!replaced) environment.push_back(entry);
    }
    environment.insert(environment.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw RunError(std::string("cannot start a worker process: ") + std::strerror(errno));
    if (pid_ == 0) {
        ::dup2(to[0], 0);
        ::dup2(from[1], 1);
        ::dup2(err[1], 2);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            const char msg[] = "simbi: cannot enter the worker's folder\n";
            (void)!::write(2, msg, sizeof msg - 1);
            ::_exit(127);
        }
        ::execvpe(args[0], args.data(), envp.data());
        const char msg[] = "simbi: cannot execute the worker command\n";
        (void)!::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    ::close(err[1]);
    in_ = to[1];
    out_ = from[0];
    err_ = err[0];
    set_nonblocking(in_);
    set_nonblocking(out_);
    set_nonblocking(err_);
#ifdef SYS_pidfd_open
    pidfd_ = int(::syscall(SYS_pidfd_open, pid_, 0));
#endif
}

ChildProcess::~ChildProcess() {
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
    if (!exited_ && pid_ > 0) {
        // Closing its stdin asks a well-behaved worker to leave; one that does not is killed.
        for (int i = 0; i < 50 && !reap(false); ++i) ::usleep(2000);
        if (!exited_) {
            ::kill(pid_, SIGKILL);
            reap(true);
        }
    }
    if (err_ >= 0) {
        drain_stderr(true);
        ::close(err_);
    }
    if (pidfd_ >= 0) ::close(pidfd_);
}

bool ChildProcess::reap(bool wait) {
    if (exited_) return true;
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, wait ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
        exited_ = true;
        status_ = r == pid_ ? status : -1;
        return true;
    }
    return false;
}

void ChildProcess::drain_stderr(bool all) {
    char buf[4096];
    for (;;) {
        const ssize_t got = ::read(err_, buf, sizeof buf);
        if (got <= 0) break;
        for (ssize_t i = 0; i < got; ++i) {
            if (buf[i] != '\n') {
                if (err_line_.size() < 4096) err_line_ += buf[i];
                continue;
            }
            const std::string line = printable(err_line_);
            err_line_.clear();
            if (!label_.empty()) std::fprintf(stderr, "[%s] %s\n", label_.c_str(), line.c_str());
            err_tail_ += (err_tail_.empty() ? "" : " | ") + line;
            if (err_tail_.size() > kTailBytes) err_tail_.erase(0, err_tail_.size() - kTailBytes);
        }
        if (!all && got < ssize_t(sizeof buf)) break;
    }
}

std::string ChildProcess::stderr_tail() const {
    std::string tail = err_tail_;
    if (!err_line_.empty()) tail += (tail.empty() ? "" : " | ") + printable(err_line_);
    if (tail.size() > kTailBytes) tail.erase(0, tail.size() - kTailBytes);
    return tail;
}

size_t ChildProcess::unread_bytes() const {
    int n = 0;
    return ::ioctl(out_, FIONREAD, &n) == 0 && n > 0 ? size_t(n) : 0;
}

ChildProcess::Io ChildProcess::send(const void* data, size_t n, double timeout_s) {
    const char* p = static_cast<const char*>(data);
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
    while (n > 0) {
        const ssize_t w = ::write(in_, p, n);
        if (w > 0) {
            p += w;
            n -= size_t(w);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno != EAGAIN) return reap(false) ? Io::Exited : Io::Closed;
        // The pipe is full: wait for room, relaying stderr meanwhile (a worker blocked on a full
        // stderr would never read its stdin).
        pollfd fds[3] = {{in_, POLLOUT, 0}, {err_, POLLIN, 0}, {pidfd_, POLLIN, 0}};
        int wait = ms_left(timeout_s > 0, deadline);
        if (pidfd_ < 0) wait = wait < 0 ? 100 : std::min(wait, 100);  // no pidfd: look at the pid now and then
        const int r = ::poll(fds, pidfd_ >= 0 ? 3 : 2, wait);
        if (r < 0 && errno != EINTR) return Io::Closed;
        if (fds[1].revents & (POLLIN | POLLHUP)) drain_stderr(false);
        if ((pidfd_ >= 0 && (fds[2].revents & POLLIN)) || (pidfd_ < 0 && reap(false))) {
            reap(true);
            return Io::Exited;
        }
        if (timeout_s > 0 && Clock::now() >= deadline) return Io::TimedOut;
    }
    return Io::Ok;
}

ChildProcess::Io ChildProcess::receive(void* data, size_t n, double timeout_s) {
    char* p = static_cast<char*>(data);
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
    // An answer usually comes within a millisecond; a process that blocks in poll() instead lets
    // its core idle, and on a virtual machine waking it again costs up to a millisecond a message.
    const auto spin_until = start + std::chrono::microseconds(1000);
    while (n > 0) {
        const ssize_t got = ::read(out_, p, n);
        if (got > 0) {
            p += got;
            n -= size_t(got);
            continue;
        }
        if (got == 0) {
            // Its stdout closed: the worker ended, or is ending.
            return Io::Closed;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return Io::Closed;
        if (exited_) return Io::Exited;  // ended, and nothing is left to read
        if (Clock::now() < spin_until) {
            sched_yield();
            continue;
        }
        pollfd fds[3] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}, {pidfd_, POLLIN, 0}};
        int wait = ms_left(timeout_s > 0, deadline);
        if (pidfd_ < 0) wait = wait < 0 ? 100 : std::min(wait, 100);  // no pidfd: look at the pid now and then
        const int r = ::poll(fds, pidfd_ >= 0 ? 3 : 2, wait);
        if (r < 0 && errno != EINTR) return Io::Closed;
        if (fds[1].revents & (POLLIN | POLLHUP)) drain_stderr(false);
        if ((pidfd_ >= 0 && (fds[2].revents & POLLIN)) || (pidfd_ < 0 && reap(false))) reap(true);  // read what it left, then report
        if (timeout_s > 0 && Clock::now() >= deadline && !(fds[0].revents & POLLIN)) return Io::TimedOut;
    }
    return Io::Ok;
}

std::string ChildProcess::kill_and_describe(bool timed_out) {
    if (pid_ <= 0) return "not running";
    if (!exited_ && !timed_out) {
        // A child whose pipe closed is usually ending: give it a moment to be reaped as it ended.
        for (int i = 0; i < 40 && !reap(false); ++i) {
            pollfd pfd{pidfd_, POLLIN, 0};
            if (pidfd_ >= 0)
                ::poll(&pfd, 1, 5);
            else
                ::usleep(5000);
        }
    }
    bool killed = false;
    if (!exited_) {
        ::kill(pid_, SIGKILL);
        reap(true);
        killed = true;
    }
    drain_stderr(true);
    pid_ = -1;
    if (killed) return timed_out ? "killed after the timeout" : "killed: it stopped answering";
    if (status_ < 0) return "ended (its status is unknown)";
    if (WIFSIGNALED(status_)) return "killed by signal " + std::to_string(WTERMSIG(status_)) + " (" + strsignal(WTERMSIG(status_)) + ")";
    if (WIFEXITED(status_)) return "exited with status " + std::to_string(WEXITSTATUS(status_));
    return "ended";
}

}  // namespace simbi::host::worker
