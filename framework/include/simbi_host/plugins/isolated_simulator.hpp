// Process isolation of a simulator: each engine thread's simulator is a worker process that
// speaks the worker protocol (simbi's own `simbi worker`, or any bridge executable). A batch that
// crashes the worker, ends it or exceeds the timeout is reported with its rows; the worker is
// restarted and the batch's rows are retried one by one, once; a row that fails alone comes back
// invalid (NaN), for the manifest's invalid-row policy to drop, redraw or fail. When a few rows in
// a row fail alone, the simulator is broken, not unlucky: the run stops, naming the first failure
// and what the worker last wrote to stderr. A worker that breaks the protocol's framing stops the
// run at once.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <simbi/simulator.h>

#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/plugins/worker_protocol.hpp"

namespace simbi::host {

// Rows that fail alone, one after another, before a run stops.
constexpr uint64_t kMaxConsecutiveFailedRows = 5;
// A batch's time limit when the manifest sets none; "timeout_s": 0 lifts it.
constexpr double kDefaultWorkerTimeoutSeconds = 300;

struct IsolationStats {
    std::atomic<uint64_t> failed_batches{0}, crashes{0}, timeouts{0}, rows_retried{0}, rows_failed{0}, restarts{0};
    // Rows that failed alone since the last row that succeeded, and the first of them.
    std::atomic<uint64_t> consecutive_failed_rows{0};
    std::mutex first_failure_mutex;
    std::string first_failure;
    json to_json() const;
};

struct IsolationOptions {
    std::vector<std::string> command;                 // the worker's argv
    std::string cwd;                                  // its working folder ("": this process's)
    std::vector<std::string> env;                     // "NAME=VALUE" over this process's environment
    double timeout_s = kDefaultWorkerTimeoutSeconds;  // per batch; 0: none
    uint64_t theta_dim = 0, x_dim = 0;                // what the handshake must say
    std::vector<std::string> parameter_names;         // what its handshake must name, when it names any
    std::string what;                                 // names the simulator in messages
    bool quiet = false;
    uint64_t max_consecutive_failed_rows = kMaxConsecutiveFailedRows;
    // Called before each worker starts (a bridge checks that its files are the ones planned).
    std::function<void()> before_start;
};

// One worker process behind the simbi_simulator interface. Calls on one instance must not
// overlap (one per engine thread).
class IsolatedSimulator {
public:
    IsolatedSimulator(IsolationOptions options, IsolationStats& stats);
    ~IsolatedSimulator();
    simbi_simulator* c() { return &c_; }

private:
    enum class Outcome { Ok, PluginError, Failed };
    Outcome attempt(uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x, uint8_t* valid, std::string& message);
    void start();
    [[noreturn]] void protocol_error(uint64_t row_offset, uint64_t n, const std::string& what);
    void row_failed(uint64_t row, const std::string& message);
    simbi_status simulate(uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x, uint8_t* valid, simbi_error* err);

    IsolationOptions opt_;
    IsolationStats& stats_;
    std::unique_ptr<worker::ChildProcess> child_;
    uint64_t sequence_ = 0;  // of the last request sent
    std::vector<char> answer_;
    simbi_simulator c_{};
};

}  // namespace simbi::host
