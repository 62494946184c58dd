// simbi plugins list | info ID | describe | verify (check: cmd_check.cpp; pack, install, remove: cmd_bundle.cpp)
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/pipeline/manifest.hpp"
#include "simbi_host/plugins/plugin_scan.hpp"
#include "simbi_host/plugins/plugin_settings.hpp"

namespace simbi_cli {

using simbi::host::json;

// A setting's schema in words: its type, default, bounds and allowed values.
static std::string describe_setting(const json& s) {
    std::string type = s.value("type", json("?")).is_string() ? s.value("type", "?") : "";
    if (s.contains("type") && s["type"].is_array())
        for (const auto& t : s["type"]) type += (type.empty() ? "" : " or ") + t.get<std::string>();
    std::string out = type + ", default " + (s.contains("default") ? s["default"].dump() : "none");
    for (const auto& [key, words] : std::vector<std::pair<const char*, const char*>>{{"minimum", ">="},
                                                                                     {"exclusiveMinimum", ">"},
                                                                                     {"exclusive_minimum", ">"},
                                                                                     {"maximum", "<="},
                                                                                     {"exclusiveMaximum", "<"},
                                                                                     {"exclusive_maximum", "<"}})
        if (s.contains(key)) out += std::string(", ") + words + " " + s[key].dump();
    if (s.contains("enum")) out += ", one of " + s["enum"].dump();
    if (s.contains("items") && s["items"].is_object()) {
        const json& i = s["items"];
        out += ", items " + i.value("type", "any");
        if (i.contains("minimum")) out += " >= " + i["minimum"].dump();
        if (i.contains("maximum")) out += " <= " + i["maximum"].dump();
    }
    if (s.contains("minItems") || s.contains("maxItems"))
        out += ", " + s.value("minItems", json(0)).dump() + " to " + s.value("maxItems", json("any")).dump() + " items";
    if (s.value("x-sensibleMinimum", json()).is_number()) out += ", sensible from " + s["x-sensibleMinimum"].dump();
    if (s.value("x-sampling", false)) out += ", sampling only (no new training)";
    return out;
}

static json plugin_json(const simbi::host::PluginInfo& p, bool full) {
    json j = {{"id", p.id},           {"kind", simbi::host::kind_name(p.kind)},
              {"version", p.version}, {"abi", std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor)},
              {"path", p.path},       {"origin", p.origin},
              {"sha256", p.sha256()}};
    if (full) {
        j["name"] = p.name;
        j["vendor"] = p.vendor;
        j["description"] = p.description;
        j["thread_safety"] = p.thread_safety == SIMBI_THREAD_SHARED ? "shared" : "instance";
        j["parameters"] = p.param_names;
        j["output_dim"] = p.output_dim;
        if (!p.output_shape.empty()) j["output_shape"] = p.output_shape;
        j["default_prior"] = p.default_prior_json.empty() ? json(nullptr) : json::parse(p.default_prior_json);
        j["config"] = json::parse(p.config_schema_json);
        if (!p.training_schema_json.empty()) j["training"] = json::parse(p.training_schema_json);
    }
    return j;
}

// simbi plugins describe LIB [--out FILE]: the library's description, as its descriptor file holds it.
static int cmd_describe(const Args& args) {
    po::options_description desc("options");
    std::string lib, out;
    bool allow_unsafe = false;
    desc.add_options()("help,h", "show this help")("library", po::value<std::string>(&lib)->required(), "plugin library (.so)")(
        "out", po::value<std::string>(&out), "write the description here (the library's descriptor file) instead of stdout")(
        "allow-unsafe-plugins", po::bool_switch(&allow_unsafe), "describe it even if other users could have replaced it");
    po::positional_options_description pos;
    pos.add("library", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi plugins describe LIBRARY [--out FILE]")) return 0;
    json d = simbi::host::describe_library(lib, allow_unsafe);
    if (out.empty()) {
        std::cout << d.dump(2) << "\n";
    } else {
        std::ofstream f(out + ".tmp");
        f << d.dump(2) << "\n";
        f.close();
        if (!f) throw simbi::host::RunError("cannot write " + out + ".tmp");
        std::filesystem::rename(out + ".tmp", out);
    }
    return 0;
}

// simbi plugins verify MANIFEST: every plugin the manifest names, found and matching its pin.
static int cmd_verify(const Args& args) {
    po::options_description desc("options");
    std::string manifest_path;
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("manifest", po::value<std::string>(&manifest_path)->required(), "manifest file");
    flags.add_to(desc);
    po::positional_options_description pos;
    pos.add("manifest", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi plugins verify MANIFEST")) return 0;
    simbi::host::Manifest m = simbi::host::load_manifest(manifest_path);
    simbi::host::PluginRegistry registry(flags.options(m.plugin_paths, m.allow_unsafe_plugins));
    std::vector<std::pair<const simbi::host::PluginRef*, simbi_kind>> refs{{&m.simulator, SIMBI_KIND_SIMULATOR}};
    if (m.estimator) refs.emplace_back(&m.estimator->plugin, SIMBI_KIND_ESTIMATOR);
    for (const auto& d : m.diagnostics) refs.emplace_back(&d, SIMBI_KIND_DIAGNOSTIC);
    int bad = 0;
    for (const auto& [ref, kind] : refs) {
        std::string line;
        try {
            const auto& info = registry.find(ref->id, kind);
            const std::string actual = info.sha256();
            if (ref->sha256.empty())
                line = "unpinned  " + ref->id + "  " + actual + "  " + info.path;
            else if (ref->sha256 == actual)
                line = "ok        " + ref->id + "  " + actual + "  " + info.path;
            else
                line = "MISMATCH  " + ref->id + "  pinned " + ref->sha256 + ", found " + actual + " in " + info.path, ++bad;
        } catch (const std::exception& e) {
            line = "MISSING   " + ref->id + "  " + e.what();
            ++bad;
        }
        std::cout << line << "\n";
    }
    return bad ? simbi::host::kExitRunFailed : 0;
}

int cmd_plugins(const Args& args) {
    if (!args.empty() && args[0] == "verify") return cmd_verify(Args(args.begin() + 1, args.end()));
    if (!args.empty() && args[0] == "describe") return cmd_describe(Args(args.begin() + 1, args.end()));
    if (!args.empty() && args[0] == "check") return cmd_check(Args(args.begin() + 1, args.end()));
    if (!args.empty() && (args[0] == "pack" || args[0] == "install" || args[0] == "remove")) return cmd_bundle(args);
    if (args.empty() || (args[0] != "list" && args[0] != "info" && args[0] != "--help")) {
        throw simbi::host::UsageError(
            "expected 'plugins list', 'plugins info ID', 'plugins check LIBRARY', 'plugins verify MANIFEST', 'plugins describe LIBRARY', "
            "'plugins pack ID', 'plugins install BUNDLE' or 'plugins remove ID@VERSION'");
    }
    const bool info = args[0] == "info";
    po::options_description desc("options");
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("json", "print JSON");
    flags.add_to(desc);
    std::string id;
    if (info) desc.add_options()("id", po::value<std::string>(&id)->required(), "plugin id");
    po::positional_options_description pos;
    if (info) pos.add("id", 1);
    po::variables_map vm;
    if (!parse(Args(args.begin() + (args[0] == "--help" ? 0 : 1), args.end()), desc, pos, vm,
               info ? "simbi plugins info ID [--json]" : "simbi plugins list [--json]"))
        return 0;
    simbi::host::PluginRegistry registry(flags.options());
    warn_problems(registry);
    const bool as_json = vm.count("json") > 0;
    if (info) {
        const auto& p = registry.find(id);
        json j = plugin_json(p, true);
        if (as_json) {
            std::cout << j.dump(2) << "\n";
            return 0;
        }
        std::cout << p.id << " " << p.version << " (" << simbi::host::kind_name(p.kind) << ")\n"
                  << "  name:        " << p.name << "\n"
                  << "  vendor:      " << p.vendor << "\n"
                  << "  description: " << p.description << "\n"
                  << "  library:     " << p.path << "\n"
                  << "  sha256:      " << j["sha256"].get<std::string>() << "\n"
                  << "  abi:         " << j["abi"].get<std::string>() << "\n"
                  << "  threads:     " << j["thread_safety"].get<std::string>() << "\n";
        if (p.kind == SIMBI_KIND_SIMULATOR) {
            std::cout << "  parameters:  ";
            for (size_t i = 0; i < p.param_names.size(); ++i) std::cout << (i ? ", " : "") << p.param_names[i];
            std::cout << "\n  outputs:     " << p.output_dim << "\n"
                      << "  prior:       " << (p.default_prior_json.empty() ? "(none)" : p.default_prior_json) << "\n";
        }
        auto print_schema = [](const char* title, const std::string& text) {
            const json schema = simbi::host::schema_properties(text);
            std::cout << "  " << title << ":" << (schema.empty() ? std::string(12 - std::strlen(title), ' ') + "(no keys)" : "") << "\n";
            for (auto it = schema.begin(); it != schema.end(); ++it)
                std::cout << "    " << it.key() << " (" << describe_setting(it.value())
                          << "): " << it.value().value("description", it.value().value("doc", "")) << "\n";
        };
        print_schema("config", p.config_schema_json);
        if (!p.training_schema_json.empty()) print_schema("training", p.training_schema_json);
        return 0;
    }
    if (as_json) {
        json arr = json::array();
        for (const auto& p : registry.plugins()) arr.push_back(plugin_json(p, false));
        std::cout << arr.dump(2) << "\n";
        return 0;
    }
    if (registry.plugins().empty()) {
        std::cout << "no plugins found. Searched:\n";
        for (const auto& s : registry.search_paths()) std::cout << "  " << s << "\n";
        return 0;
    }
    std::cout << std::left << std::setw(26) << "ID" << std::setw(11) << "KIND" << std::setw(9) << "VERSION" << std::setw(5) << "ABI"
              << std::setw(14) << "SHA-256" << std::setw(9) << "ORIGIN"
              << "PATH\n";
    for (const auto& p : registry.plugins())
        std::cout << std::setw(26) << p.id << std::setw(11) << simbi::host::kind_name(p.kind) << std::setw(9) << p.version << std::setw(5)
                  << (std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor)) << std::setw(14) << p.sha256().substr(0, 12)
                  << std::setw(9) << p.origin << p.path << "\n";
    return 0;
}

}  // namespace simbi_cli
