#include "simbi_host/plugins/diagnostic_instance.hpp"

#include <simbi/ext/diagnostic_report.h>

#include <cstddef>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/plugin_scan.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"

namespace simbi::host {

namespace {
constexpr uint64_t kMaxReportBytes = uint64_t(64) << 20;
}

DiagnosticInstance::DiagnosticInstance(const PluginInfo& info, const json& config, const HostServices& host) : info_(info) {
    if (info.kind != SIMBI_KIND_DIAGNOSTIC)
        throw RunError("plugin '" + info.id + "' is " + with_article(kind_name(info.kind)) + ", not a diagnostic");
    factory_ = plugin_factory(info);
    diag_ = static_cast<simbi_diagnostic*>(create_plugin_object(info, config.dump(), host));
    if (diag_->size < SIMBI_DIAGNOSTIC_SIZE_1_0 || !diag_->run || !diag_->destroy) {
        diag_ = nullptr;
        throw RunError("plugin '" + info.id + "': create() returned an incomplete diagnostic");
    }
}

DiagnosticInstance::~DiagnosticInstance() {
    if (diag_) diag_->destroy(diag_);
}

simbi_status DiagnosticInstance::run(const simbi_diagnostic_context& ctx, ErrorBuffer& eb) { return diag_->run(diag_, &ctx, eb.get()); }

json DiagnosticInstance::report() {
    // An extension the library may lack: the host then has the results alone.
    if (factory_->size < offsetof(simbi_factory, get_extension) + sizeof(void*) || !factory_->get_extension) return nullptr;
    const auto* ext = static_cast<const simbi_diagnostic_report*>(factory_->get_extension(factory_, SIMBI_EXT_DIAGNOSTIC_REPORT));
    if (!ext) return nullptr;
    if (ext->size < sizeof(simbi_diagnostic_report) || !ext->describe)
        throw RunError("plugin '" + info_.id + "': its " SIMBI_EXT_DIAGNOSTIC_REPORT " extension is incomplete");
    std::string text(4096, '\0');
    uint64_t needed = 0;
    ErrorBuffer eb;
    simbi_status st = ext->describe(ext, diag_, text.data(), text.size(), &needed, eb.get());
    if (st == SIMBI_DISCARD && needed > text.size() && needed <= kMaxReportBytes) {
        text.assign(size_t(needed), '\0');
        eb.reset();
        st = ext->describe(ext, diag_, text.data(), text.size(), &needed, eb.get());
    }
    if (st != SIMBI_OK) throw RunError("diagnostic '" + info_.id + "': its report failed: " + status_name(st) + ": " + eb.message());
    text.resize(strnlen(text.data(), text.size()));
    try {
        return json::parse(text);
    } catch (const std::exception& e) {
        throw RunError("diagnostic '" + info_.id + "': its report is not JSON: " + clip(e.what()));
    }
}

}  // namespace simbi::host
