// The simulation worker protocol, version 1 (docs/bridge.md has the byte-level table): a child
// process answers batches of theta with x and validity flags over its stdin and stdout. simbi's
// own isolated workers (`simbi worker`) speak it, and so can any executable (the process bridge).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace simbi::host::worker {

constexpr char kMagic[8] = {'S', 'I', 'M', 'B', 'I', 'W', 'K', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kSimulate = 1, kShutdown = 2;
constexpr uint32_t kOk = 0, kFailed = 1;

struct Handshake {
    uint32_t theta_dim = 0, x_dim = 0;
    std::string names_json = "{}";  // {"parameters": [...], "outputs": [...]}; may be {}
};

// Whole-buffer reads and writes on a file descriptor. read_exact waits at most timeout_s in all
// (0: no limit); both return false on end of file, error or timeout (timed_out says which).
bool write_all(int fd, const void* data, size_t n);
bool read_exact(int fd, void* data, size_t n, double timeout_s, bool* timed_out = nullptr);

bool write_handshake(int fd, const Handshake& h);
bool read_handshake(int fd, Handshake& h, double timeout_s, std::string& error);

// A child process with its stdin and stdout as pipes; stderr is shared with this process.
class ChildProcess {
public:
    // Starts argv[0] (a path, or a name looked up on PATH) with argv in folder cwd ("": this
    // process's); throws RunError.
    explicit ChildProcess(const std::vector<std::string>& argv, const std::string& cwd = "");
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    int to_child() const { return in_; }
    int from_child() const { return out_; }
    // Reaps it, killing it (SIGKILL) at once after a timeout or when it does not end within a
    // second, and says how it ended: "killed by signal 11 (Segmentation fault)", "exited with
    // status 3".
    std::string kill_and_describe(bool timed_out);

private:
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1;
};

}  // namespace simbi::host::worker
