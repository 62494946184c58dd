// The host's side of an assimilator plugin (simbi/ext/assimilator.h): one instance, trained on a
// store of trajectories, sampled given an observation operator, saved and loaded.
#pragma once
#include <simbi/ext/assimilator.h>

#include <string>
#include <vector>

#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/store/store.hpp"

namespace simbi::host {

// An observation of a trajectory of `length` states of state_dim components: the values y at the
// flat indices t * state_dim + c, with noise sigma.
struct ObservedEntries {
    uint64_t length = 0, state_dim = 0;
    std::vector<uint64_t> index;
    std::vector<double> y;
    double sigma = 1;
};

class AssimilatorInstance {
public:
    AssimilatorInstance(const PluginInfo& info, const json& config, const HostServices& host);
    ~AssimilatorInstance();
    AssimilatorInstance(const AssimilatorInstance&) = delete;
    AssimilatorInstance& operator=(const AssimilatorInstance&) = delete;

    // data: a store whose rows' x are trajectories [state_dim, steps].
    void train(const DatasetReader& data, uint64_t state_dim, uint64_t steps, const json& training, const std::string& checkpoint_dir,
               uint64_t seed);
    // n trajectories [n, length, state_dim] given the observation.
    std::vector<double> sample(const ObservedEntries& observation, uint64_t n, uint64_t seed);
    void save(const std::string& dir);
    void load(const std::string& dir);

private:
    [[noreturn]] void fail(const char* call, simbi_status st, const ErrorBuffer& eb) const;
    PluginInfo info_;
    const HostServices& host_;
    simbi_assimilator* a_ = nullptr;
};

}  // namespace simbi::host
