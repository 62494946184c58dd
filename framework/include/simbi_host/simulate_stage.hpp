// The simulate stage: prior -> simulator -> store, resumable.
#pragma once
#include <optional>
#include <string>

#include "simbi_host/host_services.hpp"
#include "simbi_host/manifest.hpp"
#include "simbi_host/plugin_registry.hpp"
#include "simbi_host/prior.hpp"
#include "simbi_host/simulator_instance.hpp"
#include "simbi_host/store.hpp"

namespace simbi::host {

struct SimulateOptions {
    bool quiet = false;   // no progress display
    bool force = false;   // rewrite the store even if it is up to date, or holds another setup's data
};

// A simulation other than the manifest's own (a sequential round): another proposal, store,
// budget or seed. Unset fields come from the manifest.
struct SimulationPlan {
    const Prior* proposal = nullptr;
    std::string store;
    uint64_t budget = 0;
    std::optional<uint64_t> seed;
};

struct SimulateResult {
    std::string store;
    StoreTotals totals;
    bool reused = false;   // the store was up to date
    bool resumed = false;  // an interrupted run was continued
    double seconds = 0.0;
    json isolation;        // under process isolation: failed batches, crashes, timeouts, retries (this run's)
    std::string shard;     // under mpirun, ranks other than 0: the shard written (rank 0 writes the store)
    std::string fingerprint;  // of the simulation setup, as the sealed store records it
};

// This process's place in a parallel job started by `simbi run --ranks N`, mpirun or srun (rank 0
// of 1 otherwise).
struct RankInfo {
    unsigned rank = 0, size = 1;
};
RankInfo rank_from_environment();
// Where the ranks of a data-parallel training meet, "host:port" (rank 0 listens): the
// SIMBI_RENDEZVOUS variable, else 127.0.0.1:29500.
std::string rendezvous_address();

// Ranks other than 0: waits until rank 0 has sealed the store of this simulation (the result of
// this rank's run_simulation). Throws RunError when interrupted, or when the parent `simbi run
// --ranks` that started this rank is gone.
void wait_for_sealed_store(const SimulateResult& simulated, bool quiet);

// The prior of a manifest: its own, or the simulator's default. Throws UsageError if neither.
std::unique_ptr<Prior> manifest_prior(const Manifest& m, const PluginInfo& simulator);

// Runs the simulate stage of a manifest (with the manifest's simulation section, already
// overridden by any command-line flags). Throws RunError when interrupted, naming the journal.
SimulateResult run_simulation(const Manifest& m, const PluginRegistry& registry, const HostServices& host, SimulateOptions options,
                              const SimulationPlan& plan = {});

unsigned resolve_threads(unsigned requested);

// The manifest's simulator, `threads` instances: in this process, or in worker processes under
// "isolation": "process" and always for a process bridge.
std::unique_ptr<SimulatorInstances> make_simulators(const PluginInfo& info, const Manifest& m, const HostServices& host, unsigned threads,
                                                    bool quiet);

// The running simbi binary, which process isolation starts as `simbi worker`.
std::string self_executable();

// Where a setup's store goes: `store` when it is free or already this setup's; else a file of its
// own beside it (<stem>.<fingerprint prefix>.h5), so another setup's data is never deleted.
// force: `store`, whatever it holds. Throws RunError for an unreadable journal.
std::string choose_store_path(const std::string& store, const std::string& fingerprint, bool force, bool quiet);

}  // namespace simbi::host
