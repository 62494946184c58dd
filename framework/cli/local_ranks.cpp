#include "local_ranks.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "simbi_host/core/errors.hpp"

namespace simbi_cli {

namespace {

// A TCP port on the loopback interface that nothing listens on now, for rank 0's rendezvous.
unsigned free_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw simbi::host::RunError(std::string("cannot open a socket for the ranks' rendezvous: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    const bool ok =
        bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    close(fd);
    if (!ok) throw simbi::host::RunError(std::string("cannot find a free port for the ranks' rendezvous: ") + std::strerror(errno));
    return ntohs(addr.sin_port);
}

}  // namespace

std::vector<std::string> without_ranks_flag(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--ranks") {
            ++i;
            continue;
        }
        if (args[i].rfind("--ranks=", 0) == 0) continue;
        out.push_back(args[i]);
    }
    return out;
}

LocalRanks::LocalRanks(unsigned n, const std::vector<std::string>& args) {
    const std::string ranks = std::to_string(n), parent = std::to_string(getpid());
    const std::string rendezvous = "127.0.0.1:" + std::to_string(free_loopback_port());
    setenv("SIMBI_RANKS", ranks.c_str(), 1);
    setenv("SIMBI_RENDEZVOUS", rendezvous.c_str(), 1);
    setenv("SIMBI_PARENT_PID", parent.c_str(), 1);
    std::vector<std::string> child_args = {"simbi", "run"};
    for (const auto& a : without_ranks_flag(args))
        if (a != "-q" && a != "--quiet" && a != "--data-parallel") child_args.push_back(a);
    child_args.push_back("--data-parallel");
    child_args.push_back("--quiet");
    std::vector<char*> argv;
    for (auto& a : child_args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (unsigned r = 1; r < n; ++r) {
        const pid_t pid = fork();
        if (pid < 0) throw simbi::host::RunError(std::string("cannot start rank ") + std::to_string(r) + ": " + std::strerror(errno));
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);  // a rank outlives no rank 0
            setenv("SIMBI_RANK", std::to_string(r).c_str(), 1);
            execv("/proc/self/exe", argv.data());
            std::fprintf(stderr, "error: cannot start rank %u: %s\n", r, std::strerror(errno));
            _exit(127);
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            children_.push_back(pid);
        }
        watchers_.emplace_back([this, pid, r] {
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            std::string how;
            if (WIFEXITED(status) && WEXITSTATUS(status) != 0) how = "exited with status " + std::to_string(WEXITSTATUS(status));
            if (WIFSIGNALED(status)) how = "was killed by signal " + std::to_string(WTERMSIG(status));
            if (how.empty()) return;
            std::lock_guard<std::mutex> lock(mutex_);
            if (!failed_.empty()) return;
            failed_ = "rank " + std::to_string(r) + " " + how;
            for (pid_t other : children_)
                if (other != pid) kill(other, SIGTERM);
            kill(getpid(), SIGTERM);  // rank 0 stops at its next safe point
        });
    }
    setenv("SIMBI_RANK", "0", 1);
}

LocalRanks::~LocalRanks() {
    for (pid_t pid : children_) kill(pid, SIGTERM);
    for (auto& w : watchers_) w.join();
}

void LocalRanks::wait_all() {
    for (auto& w : watchers_) w.join();
    watchers_.clear();
    children_.clear();
    if (!failed_.empty()) throw simbi::host::RunError(failed_ + " (its messages are above)");
}

std::string LocalRanks::failure() {
    std::lock_guard<std::mutex> lock(mutex_);
    return failed_;
}

}  // namespace simbi_cli
