// `simbi run`: a plan, then a short sequence of stages (simulate, train, sample, diagnose), each in
// its own file. Every check that can refuse the run happens before its folder gets a byte.
#pragma once
#include <string>
#include <vector>

#include "simbi_host/pipeline/plan.hpp"
#include "simbi_host/pipeline/stages.hpp"

namespace simbi::host {

struct RunReport {
    std::string output_dir;
    uint64_t simulated = 0, rows = 0;
    bool reused_simulations = false;
    bool reused_training = false;      // the artifact was up to date
    std::vector<std::string> written;  // files, relative to output_dir
    unsigned rank = 0;                 // in a parallel job: ranks other than 0 simulate, and train when data-parallel
    bool trained_rank = false;         // a rank other than 0 took part in a data-parallel training
};

// Runs every stage the plan names.
RunReport run_pipeline(const RunPlan& plan, const PluginRegistry& registry, HostServices& host, RunOptions options);

}  // namespace simbi::host
