// The simulate stage: prior -> simulator -> store, resumable. It takes the plan's simulation part
// and runs in four steps: reuse a sealed store of the same setup, plan this rank's share of the
// chunks, simulate them into a journal, and seal the journal into the store.
#pragma once
#include <optional>
#include <string>

#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/pipeline/plan.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"
#include "simbi_host/store/store.hpp"

namespace simbi::host {

struct SimulateOptions {
    bool quiet = false;  // no progress display
    bool force = false;  // rewrite the store even if it is up to date, or holds another setup's data
};

// A simulation other than the plan's own (a sequential round): another proposal, store, budget or
// seed. Unset fields come from the plan.
struct RoundSimulation {
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
    json isolation;           // under process isolation: failed batches, crashes, timeouts, retries (this run's)
    std::string shard;        // under mpirun, ranks other than 0: the shard written (rank 0 writes the store)
    std::string fingerprint;  // of the simulation setup, as the sealed store records it
};

// What defines the dataset a simulation part (and round) writes.
StoreMeta store_meta(const SimulationPart& part, const RoundSimulation& round = {});

// Runs the simulate stage. Throws RunError when interrupted, naming the journal.
SimulateResult run_simulation(const SimulationPart& part, const HostServices& host, SimulateOptions options,
                              const RoundSimulation& round = {});

unsigned resolve_threads(unsigned requested);

// The part's simulator, `threads` instances: in this process, or in worker processes under
// "isolation": "process" and always for a process bridge.
std::unique_ptr<SimulatorInstances> make_simulators(const SimulationPart& part, const HostServices& host, unsigned threads, bool quiet);

// The running simbi binary, which process isolation starts as `simbi worker`.
std::string self_executable();

// Where a setup's store goes: `store` when it is free or already this setup's; else a file of its
// own beside it (<stem>.<fingerprint prefix>.h5), so another setup's data is never deleted.
// force: `store`, whatever it holds. Throws RunError for an unreadable journal.
std::string choose_store_path(const std::string& store, const std::string& fingerprint, bool force, bool quiet);

}  // namespace simbi::host
