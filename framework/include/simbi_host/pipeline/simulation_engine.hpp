// The simulation engine: draws theta from the prior and x from the simulator, in parallel, with
// every row a pure function of (seed, global row index). The same seed gives the same rows
// whatever the thread count or batch size.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "simbi_host/core/prior.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"
#include "simbi_host/store/store.hpp"

namespace simbi::host {

enum class InvalidPolicy { Drop, Resample, Fail };
InvalidPolicy parse_invalid_policy(const std::string& s);
const char* invalid_policy_name(InvalidPolicy p);

struct EngineOptions {
    uint64_t seed = 1;
    unsigned threads = 1;
    uint64_t batch_rows = 64;  // rows per simulate() call; does not change results
    InvalidPolicy invalid = InvalidPolicy::Drop;
    unsigned max_attempts = 100;  // per row, under Resample
    // The plugin gets a copy of theta and an x buffer with guard values after it, both checked
    // after each call. Off only to measure what the guards cost (bench_simulation).
    bool guard_buffers = true;
};

class SimulationEngine {
public:
    SimulationEngine(const Prior& prior, const SimulatorInstances& sims, EngineOptions options);
    ~SimulationEngine();
    SimulationEngine(const SimulationEngine&) = delete;
    SimulationEngine& operator=(const SimulationEngine&) = delete;

    // Simulates global rows [first, first + count). Throws RunError if the plugin fails, or if a
    // row is invalid under the Fail policy (or stays invalid after max_attempts under Resample).
    ChunkRows run(uint64_t first, uint64_t count);
    // The same into `out`, reusing its buffers across calls.
    void run(uint64_t first, uint64_t count, ChunkRows& out);

    // The seeds derived from the run seed for the prior's and the simulator's streams.
    static uint64_t prior_seed(uint64_t seed, unsigned attempt);
    static uint64_t simulator_seed(uint64_t seed, unsigned attempt);

    // Rows marked invalid so far because an output was left unwritten (see kUnwrittenBits).
    uint64_t unwritten_rows() const;

private:
    struct Pool;
    void work(unsigned thread);
    void mark_unwritten(uint64_t first, uint64_t n, const double* x, uint8_t* valid);
    void simulate_batch(unsigned thread, uint64_t first, uint64_t n, double* theta, double* x, uint8_t* valid, unsigned attempt);

    const Prior& prior_;
    const SimulatorInstances& sims_;
    EngineOptions opt_;
    Pool* pool_;
    std::vector<uint8_t> valid_;
};

// True if the row is usable: the simulator said valid and every value is finite.
bool row_is_valid(uint8_t valid_flag, const double* x, uint64_t k);

}  // namespace simbi::host
