// `simbi run`: a short sequence of stages (simulate, train, sample, diagnose), each in its own
// file, after every input has been checked.
#pragma once
#include <string>
#include <vector>

#include "simbi_host/estimator_instance.hpp"
#include "simbi_host/manifest.hpp"
#include "simbi_host/stages.hpp"

namespace simbi::host {

struct RunReport {
    std::string output_dir;
    uint64_t simulated = 0, rows = 0;
    bool reused_simulations = false;
    bool reused_training = false;      // the artifact was up to date
    std::vector<std::string> written;  // files, relative to output_dir
    unsigned rank = 0;                  // in a parallel job: ranks other than 0 simulate, and train when data-parallel
    bool trained_rank = false;          // a rank other than 0 took part in a data-parallel training
};

// Checks everything that can be checked before simulating: the plugins exist and accept their
// configs, the prior fits the simulator, the observation has the simulator's length and finite
// values. Throws UsageError naming the manifest path.
void validate_run(const Manifest& m, const PluginRegistry& registry, const HostServices& host);

// After --set estimator.id=...: drops the config and training keys the new estimator does not
// declare, with one note on stderr, so that switching estimators is one line.
void adapt_to_switched_estimator(Manifest& m, const PluginRegistry& registry);

// Every plugin a run uses, as found: role, id, version, ABI, path and SHA-256 (the run folder's
// plugins.lock.json).
json plugins_lock(const Manifest& m, const PluginRegistry& registry);

// Runs every stage the manifest names. Stages whose plugins are missing fail with RunError.
RunReport run_pipeline(const Manifest& m, const PluginRegistry& registry, HostServices& host, RunOptions options);

}  // namespace simbi::host
