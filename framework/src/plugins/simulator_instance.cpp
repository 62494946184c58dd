#include "simbi_host/plugins/simulator_instance.hpp"

#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/plugin_scan.hpp"
#include "simbi_host/core/process_guard.hpp"

namespace simbi::host {

void* create_plugin_object(const PluginInfo& info, const std::string& config_json, const HostServices& host) {
    ErrorBuffer eb;
    const simbi_factory* factory = plugin_factory(info);
    void* obj;
    {
        PluginActivity activity("creating an instance of plugin '" + info.id + "'");
        obj = factory->create(factory, host.c_host(), info.id.c_str(), config_json.c_str(), eb.get());
    }
    // A config the plugin rejects is a bad manifest: a usage error.
    if (!obj) throw UsageError("plugin '" + info.id + "' rejected its config " + config_json + ": " + eb.message());
    return obj;
}

SimulatorInstances::SimulatorInstances(const PluginInfo& info, const std::string& config_json, const HostServices& host, unsigned threads)
    : info_(info) {
    if (info.kind != SIMBI_KIND_SIMULATOR) throw RunError("plugin '" + info.id + "' is not a simulator");
    unsigned n = info.thread_safety == SIMBI_THREAD_SHARED ? 1 : std::max(1u, threads);
    try {
        for (unsigned t = 0; t < n; ++t) {
            auto* s = static_cast<simbi_simulator*>(create_plugin_object(info, config_json, host));
            if (s->size < SIMBI_SIMULATOR_SIZE_1_0 || !s->simulate || !s->destroy) {
                instances_.push_back(nullptr);
                throw RunError("plugin '" + info.id + "': create() returned an incomplete simulator");
            }
            instances_.push_back(s);
        }
    } catch (...) {
        for (auto* s : instances_)
            if (s) s->destroy(s);
        throw;
    }
}

SimulatorInstances::SimulatorInstances(const PluginInfo& info, unsigned threads, const IsolationOptions& isolation)
    : info_(info), stats_(std::make_unique<IsolationStats>()) {
    if (info.kind != SIMBI_KIND_SIMULATOR) throw RunError("plugin '" + info.id + "' is not a simulator");
    for (unsigned t = 0; t < std::max(1u, threads); ++t) {
        isolated_.push_back(std::make_unique<IsolatedSimulator>(isolation, *stats_));
        instances_.push_back(isolated_.back()->c());
    }
}

SimulatorInstances::~SimulatorInstances() {
    for (auto* s : instances_)
        if (s) s->destroy(s);
}

}  // namespace simbi::host
