// The host's simulation service for sequential estimators (simbi_simulation_service, ABI 1.1):
// the estimator picks each round's parameters; the host simulates them into a store of their own
// beside the first round's, resumable like any simulation, and hands back a reader.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <simbi/estimator.h>

#include "simbi_host/plugins/estimator_instance.hpp"
#include "simbi_host/pipeline/plan.hpp"
#include "simbi_host/pipeline/simulate_stage.hpp"

namespace simbi::host {

class RoundService {
public:
    // The plan's simulation part runs the rounds; its observation is what the estimator may ask for.
    RoundService(const RunPlan& plan, const HostServices& host, bool quiet);
    const simbi_simulation_service* c() const { return &c_; }

    // Whether the estimator asked for the observation: its result then depends on it.
    bool used_observation() const { return used_observation_; }
    // One record per round simulated (round, simulations, rows, proposal, store, the estimator's note).
    const json& rounds() const { return rounds_; }
    uint64_t simulations() const { return simulations_; }
    uint64_t rows() const { return rows_; }

private:
    const simbi_batch_reader* simulate(uint64_t round, uint64_t n, const double* theta, const char* note_json);

    const SimulationPart& simulation_;
    const HostServices& host_;
    bool quiet_;
    uint64_t n_obs_ = 0;
    std::vector<double> observation_;  // n_obs rows, flat
    bool used_observation_ = false;
    json rounds_ = json::array();
    uint64_t simulations_ = 0, rows_ = 0;
    std::vector<std::unique_ptr<DatasetReader>> stores_;
    std::vector<std::unique_ptr<StoreBatchReader>> readers_;
    simbi_simulation_service c_{};
};

// A store opened for training: verified against its checksums and the simulator's dimensions.
std::unique_ptr<DatasetReader> open_training_store(const std::string& path, const PluginInfo& simulator);

}  // namespace simbi::host
