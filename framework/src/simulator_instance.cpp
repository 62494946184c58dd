#include "simbi_host/simulator_instance.hpp"

#include "simbi_host/errors.hpp"

namespace simbi::host {

void* create_plugin_object(const PluginInfo& info, const std::string& config_json, const HostServices& host) {
    ErrorBuffer eb;
    void* obj = info.factory->create(info.factory, host.c_host(), info.id.c_str(), config_json.c_str(), eb.get());
    // A config the plugin rejects is a bad manifest: a usage error.
    if (!obj) throw UsageError("plugin '" + info.id + "' rejected its config " + config_json + ": " + eb.message());
    return obj;
}

SimulatorInstances::SimulatorInstances(const PluginInfo& info, const std::string& config_json, const HostServices& host,
                                       unsigned threads)
    : info_(info) {
    if (info.kind != SIMBI_KIND_SIMULATOR) throw RunError("plugin '" + info.id + "' is not a simulator");
    unsigned n = info.thread_safety == SIMBI_THREAD_SHARED ? 1 : std::max(1u, threads);
    try {
        for (unsigned t = 0; t < n; ++t) {
            auto* s = static_cast<simbi_simulator*>(create_plugin_object(info, config_json, host));
            if (s->size < sizeof(simbi_simulator) || !s->simulate || !s->destroy) {
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

SimulatorInstances::~SimulatorInstances() {
    for (auto* s : instances_)
        if (s) s->destroy(s);
}

}  // namespace simbi::host
