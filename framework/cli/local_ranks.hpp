// `simbi run --ranks N`: a parallel job on this machine without mpirun. Ranks 1..N-1 are copies of
// this command, told their place by SIMBI_RANK, SIMBI_RANKS and SIMBI_RENDEZVOUS; this process is
// rank 0.
#pragma once
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace simbi_cli {

class LocalRanks {
public:
    // Starts ranks 1..n-1 as `simbi run ARGS --data-parallel --quiet` (args without --ranks), and
    // sets this process's environment to rank 0 of n. Throws RunError if one cannot start.
    LocalRanks(unsigned n, const std::vector<std::string>& args);
    // A rank that fails interrupts rank 0 (as Ctrl-C would), so that it does not wait for that
    // rank's share forever. Stops ranks still running (rank 0 failed): SIGTERM, then waits.
    ~LocalRanks();
    LocalRanks(const LocalRanks&) = delete;
    LocalRanks& operator=(const LocalRanks&) = delete;
    // Waits for every rank; throws RunError naming the first that failed and how.
    void wait_all();
    // The first rank's failure so far, in words ("" if none).
    std::string failure();

private:
    std::vector<pid_t> children_;
    std::vector<std::thread> watchers_;  // one per rank, reaping it
    std::mutex mutex_;
    std::string failed_;  // the first failure, in words
};

// The arguments of a run command without its --ranks flag (as "--ranks N" or "--ranks=N").
std::vector<std::string> without_ranks_flag(const std::vector<std::string>& args);

}  // namespace simbi_cli
