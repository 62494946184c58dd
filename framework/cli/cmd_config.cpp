// simbi config show [--json]: each lab setting in effect and the file it came from, and every
// configuration file looked at.
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/lab_config.hpp"

namespace simbi_cli {

using simbi::host::json;

int cmd_config(const Args& args) {
    if (args.empty() || args[0] != "show") throw simbi::host::UsageError("expected 'config show [--json]'");
    po::options_description desc("options");
    desc.add_options()("help,h", "show this help")("json", "print JSON");
    po::variables_map vm;
    if (!parse(Args(args.begin() + 1, args.end()), desc, {}, vm, "simbi config show [--json]")) return 0;
    const simbi::host::LabConfig c = simbi::host::read_lab_config();
    json settings = {{"plugin_paths", {{"value", c.plugin_paths}, {"from", c.plugin_paths_from}}},
                     {"threads", {{"value", c.threads ? json(*c.threads) : json(nullptr)}, {"from", c.threads_from}}},
                     {"cache", {{"value", c.cache.empty() ? json(nullptr) : json(c.cache)}, {"from", c.cache_from}}}};
    json files = json::array();
    for (const auto& [file, there] : c.files) files.push_back({{"file", file}, {"read", there}});
    if (vm.count("json")) {
        std::cout << json{{"settings", settings}, {"files", files}}.dump(2) << "\n";
        return 0;
    }
    std::cout << "settings (a later file replaces an earlier one's key; a manifest overrides them all):\n";
    for (const char* key : {"plugin_paths", "threads", "cache"}) {
        const json& s = settings[key];
        std::string value = s["value"].is_null() ? "(not set)" : s["value"].is_string() ? s["value"].get<std::string>() : s["value"].dump();
        if (key == std::string("plugin_paths") && s["value"].empty()) value = "(not set)";
        std::string label = std::string("  ") + key;
        label.resize(16, ' ');
        std::cout << label << value << (s["from"].get<std::string>().empty() ? "" : "    from " + s["from"].get<std::string>()) << "\n";
    }
    std::cout << "files, in order:\n";
    for (const auto& [file, there] : c.files) std::cout << "  " << file << (there ? "" : "  (absent)") << "\n";
    return 0;
}

}  // namespace simbi_cli
