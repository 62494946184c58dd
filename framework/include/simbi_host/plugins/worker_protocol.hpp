// The simulation worker protocol, version 2 (docs/bridge.md has the byte-level table): a child
// process answers batches of theta with x and validity flags over its stdin and stdout. simbi's
// own isolated workers (`simbi worker`) speak it, and so can any executable (the process bridge).
//
// Every answer is framed: it carries the sequence number of the request it answers and the length
// of what follows, and the host checks both, so a worker that writes a byte too many or too few
// is stopped with a protocol error at the batch where it happened, never read out of step.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace simbi::host::worker {

constexpr char kMagic[8] = {'S', 'I', 'M', 'B', 'I', 'W', 'K', '1'};
constexpr uint32_t kVersion = 2;
constexpr uint32_t kSimulate = 1, kShutdown = 2;
constexpr uint32_t kOk = 0, kFailed = 1;
constexpr uint64_t kMaxMessage = 1u << 16;  // bytes of a failed answer's message

struct Handshake {
    uint32_t version = kVersion;
    uint32_t theta_dim = 0, x_dim = 0;
    std::string names_json = "{}";  // {"parameters": [...]}; may be {}
};

// The fixed part of a request and of an answer, little-endian, as the protocol lays them out.
struct RequestHead {
    uint64_t sequence = 0, seed = 0, first = 0, rows = 0;
};
constexpr size_t kRequestHeadBytes = 4 + 4 * 8;  // type, then the four u64
struct AnswerHead {
    uint32_t status = 0;
    uint64_t sequence = 0, length = 0;
};
constexpr size_t kAnswerHeadBytes = 4 + 8 + 8;
void encode_request(const RequestHead& h, char out[kRequestHeadBytes]);
AnswerHead decode_answer(const char in[kAnswerHeadBytes]);
void encode_answer(const AnswerHead& h, char out[kAnswerHeadBytes]);

// Blocking whole-buffer reads and writes, for the worker's side (`simbi worker`).
bool write_all(int fd, const void* data, size_t n);
bool read_all(int fd, void* data, size_t n);
bool write_handshake(int fd, const Handshake& h);

// A worker process with its stdin, stdout and stderr as pipes. Its stderr is relayed to this
// process's, line by line, prefixed and with control characters escaped, and its last lines are
// kept for messages. Its end is noticed by its pid (a pidfd), not by its stdout closing: a worker
// that exits while a child of its own holds the pipe is seen to end.
class ChildProcess {
public:
    // Starts argv[0] (a path, or a name looked up on PATH) with argv in folder cwd ("": this
    // process's), with this process's environment and `env` ("NAME=VALUE") over it; `label`
    // prefixes its relayed stderr lines ("" keeps them quiet, tail only). Throws RunError.
    ChildProcess(const std::vector<std::string>& argv, const std::string& cwd, const std::string& label,
                 const std::vector<std::string>& env = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    enum class Io { Ok, Closed, TimedOut, Exited };
    // timeout_s: for the whole call; 0 waits for as long as it takes.
    Io send(const void* data, size_t n, double timeout_s);
    Io receive(void* data, size_t n, double timeout_s);
    // Bytes of stdout that arrived and are not read yet (a framing check: after a whole answer,
    // there must be none).
    size_t unread_bytes() const;
    // Reaps it, killing it (SIGKILL) at once after a timeout or when it does not end within a
    // moment, and says how it ended: "killed by signal 11 (Segmentation fault)", "exited with
    // status 3".
    std::string kill_and_describe(bool timed_out);
    // The last lines it wrote to stderr (at most a few hundred bytes), escaped; "" if none.
    std::string stderr_tail() const;

private:
    void drain_stderr(bool all);
    bool reap(bool wait);
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1, err_ = -1, pidfd_ = -1;
    bool exited_ = false;
    int status_ = 0;
    std::string label_, err_line_, err_tail_;
};

}  // namespace simbi::host::worker
