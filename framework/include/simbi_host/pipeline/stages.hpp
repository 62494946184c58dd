// The stages of `simbi run` after simulation, one file each: train (train_stage.cpp), sample
// (sample_stage.cpp), diagnose (diagnose_stage.cpp). Each reuses earlier work only when its
// fingerprint matches exactly.
#pragma once
#include <string>

#include "simbi_host/plugins/estimator_instance.hpp"
#include "simbi_host/pipeline/plan.hpp"
#include "simbi_host/pipeline/simulate_stage.hpp"
#include "simbi_host/core/text_file.hpp"

namespace simbi::host {

struct RunOptions {
    bool quiet = false;  // no progress display
    bool force = false;  // replace another setup's results in the output folder
    // In a parallel job (--ranks, mpirun, srun) every rank trains, data-parallel, when the
    // estimator can; otherwise rank 0 trains alone.
    bool data_parallel = false;
};

// Everything a stage after simulation needs to know about the run: its plan (with an estimator).
struct RunContext {
    const RunPlan& plan;
    const PluginRegistry& registry;
    HostServices& host;
    RunOptions options;
    const PlannedPlugin& simulator() const { return plan.simulation.simulator; }
    const EstimatorPart& estimator() const { return *plan.estimator; }
    const Prior& prior() const { return *plan.simulation.prior; }
};

struct TrainStageResult {
    std::string artifact;  // the folder
    bool reused = false;   // an artifact of the same fingerprint was there
    uint64_t simulations = 0, rows = 0;
};

// Whether <output>/artifact holds an estimator of another training (other data, estimator,
// settings or seed): a RunError naming it, before anything is written, unless options.force.
void check_kept_artifact(const RunContext& run, const std::string& store);
// Trains the plan's estimator on the simulated store (and any sequential rounds) into
// <output>/artifact, or reuses the artifact there when its training fingerprint matches.
TrainStageResult run_training(const RunContext& run, const SimulateResult& simulation);
// Whether every rank of this parallel job trains (options.data_parallel, more than one rank, and
// an estimator that declares SIMBI_CAPABILITY_DATA_PARALLEL).
bool trains_data_parallel(const RunContext& run);

// Draws the posterior at the plan's observation from the artifact on disk and writes
// posterior.h5, posterior.csv and summary.json; returns the files written.
std::vector<std::string> run_sampling(const RunContext& run, const TrainStageResult& trained);

// Runs the plan's diagnostics on the artifact: each writes diagnostics/<id>.json (reused when its
// fingerprint and checksum match), and all of them diagnostics.json. A failing diagnostic does not
// stop the others; a RunError names every failure after the rest are written. A stop signal ends
// the loop after the current diagnostic: Interrupted, with what is done kept.
std::vector<std::string> run_diagnostics(const RunContext& run, const TrainStageResult& trained);

// Trains the plan's assimilator on the simulated trajectories into <output>/assimilator (or loads
// it there when its fingerprint matches), draws the trajectories given the observation, and writes
// trajectories.csv, summary.json and assimilation.json (with the report's figures); returns the
// files written.
std::vector<std::string> run_assimilation(const RunPlan& plan, const SimulateResult& simulation, HostServices& host,
                                          const RunOptions& options);

// Runs one diagnostic with no posterior, prior or simulator, on files its config names (as
// simbi.c2st on two sample files); returns its results.
json run_standalone_diagnostic(const PluginRegistry& registry, const HostServices& host, const std::string& id, const json& config,
                               uint64_t seed);

}  // namespace simbi::host
