// Instances of a simulator plugin, one per thread where the plugin asks for it.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/plugins/isolated_simulator.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace simbi::host {

class SimulatorInstances {
public:
    // Creates `threads` instances (or one, if the plugin's instances may be shared).
    // Throws RunError with the plugin's message if create() fails.
    SimulatorInstances(const PluginInfo& info, const std::string& config_json, const HostServices& host, unsigned threads);
    // Process isolation: `threads` worker processes, each running `command` (the worker
    // protocol); their failures are counted in stats().
    SimulatorInstances(const PluginInfo& info, unsigned threads, const IsolationOptions& isolation);
    const IsolationStats* stats() const { return stats_.get(); }
    ~SimulatorInstances();
    SimulatorInstances(const SimulatorInstances&) = delete;
    SimulatorInstances& operator=(const SimulatorInstances&) = delete;

    simbi_simulator* for_thread(unsigned t) const { return instances_[instances_.size() == 1 ? 0 : t]; }
    const PluginInfo& info() const { return info_; }
    uint64_t theta_dim() const { return info_.param_names.size(); }
    uint64_t x_dim() const { return info_.output_dim; }

private:
    PluginInfo info_;
    std::vector<simbi_simulator*> instances_;
    std::unique_ptr<IsolationStats> stats_;
    std::vector<std::unique_ptr<IsolatedSimulator>> isolated_;
};

// Creates one plugin object through the factory; throws RunError naming the plugin on failure.
void* create_plugin_object(const PluginInfo& info, const std::string& config_json, const HostServices& host);

}  // namespace simbi::host
