// Process isolation of a simulator: each engine thread's simulator is a worker process that
// speaks the worker protocol (simbi's own `simbi worker`, or any bridge executable). A batch that
// crashes the worker, ends it or exceeds the timeout is reported with its rows; the worker is
// restarted and the batch's rows are retried one by one, once; a row that fails alone comes back
// invalid (NaN), for the manifest's invalid-row policy to drop, redraw or fail.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <simbi/simulator.h>

#include "simbi_host/json_reader.hpp"
#include "simbi_host/worker_protocol.hpp"

namespace simbi::host {

struct IsolationStats {
    std::atomic<uint64_t> failed_batches{0}, crashes{0}, timeouts{0}, rows_retried{0}, rows_failed{0}, restarts{0};
    json to_json() const;
};

struct IsolationOptions {
    std::vector<std::string> command;  // the worker's argv
    std::string cwd;                   // its working folder ("": this process's)
    double timeout_s = 0;              // per batch; 0: none
    uint64_t theta_dim = 0, x_dim = 0; // what the handshake must say
    std::string what;                  // names the simulator in messages
    bool quiet = false;
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
    simbi_status simulate(uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x, uint8_t* valid, simbi_error* err);

    IsolationOptions opt_;
    IsolationStats& stats_;
    std::unique_ptr<worker::ChildProcess> child_;
    simbi_simulator c_{};
};

}  // namespace simbi::host
