// A process's place in a parallel job (`simbi run --ranks N`, mpirun, srun), and how the ranks
// wait for each other: every rank simulates a share of the rows, rank 0 joins and seals them, and
// the others wait for the sealed store when they train too.
#pragma once
#include <string>

namespace simbi::host {

struct RankInfo {
    unsigned rank = 0, size = 1;
    bool parallel() const { return size > 1; }
    std::string shard() const { return std::to_string(rank) + "/" + std::to_string(size); }
};

// This process's rank, from SIMBI_RANK/SIMBI_RANKS, Open MPI, PMI, or a SLURM step (rank 0 of 1
// otherwise). Throws UsageError for values that are no rank and size.
RankInfo rank_from_environment();

// Where the ranks of a data-parallel training meet, "host:port" (rank 0 listens): the
// SIMBI_RENDEZVOUS variable, else 127.0.0.1:29500.
std::string rendezvous_address();

// How long a rank waits for the others before it gives up: SIMBI_RANK_TIMEOUT_S seconds, else
// 600 s without a sign of progress from them.
double rank_wait_seconds();

// Ranks other than 0: waits until rank 0 has sealed the store (its fingerprint is there). Throws
// RunError when interrupted, when the parent `simbi run --ranks` that started this rank is gone,
// or after rank_wait_seconds() without the store.
void wait_for_sealed_store(const std::string& store, const std::string& fingerprint, bool quiet);

}  // namespace simbi::host
