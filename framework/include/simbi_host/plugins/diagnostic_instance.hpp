// The host's side of a diagnostic plugin: one instance, run once or more, and asked for the
// report of its last run when its library offers the extension (simbi/ext/diagnostic_report.h).
#pragma once
#include <simbi/simbi.h>

#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace simbi::host {

class DiagnosticInstance {
public:
    // Creates the instance; throws UsageError when the plugin rejects its config.
    DiagnosticInstance(const PluginInfo& info, const json& config, const HostServices& host);
    ~DiagnosticInstance();
    DiagnosticInstance(const DiagnosticInstance&) = delete;
    DiagnosticInstance& operator=(const DiagnosticInstance&) = delete;

    simbi_status run(const simbi_diagnostic_context& ctx, ErrorBuffer& eb);
    // The report of the last run as JSON, as the plugin wrote it (unchecked), or null when its
    // library offers no report. Throws RunError when the plugin fails to give one, or gives text
    // that is no JSON.
    json report();

private:
    PluginInfo info_;
    const simbi_factory* factory_ = nullptr;
    simbi_diagnostic* diag_ = nullptr;
};

}  // namespace simbi::host
