// Finding, checking and loading plugin libraries.
//
// Search order: the manifest's plugin_paths, then SIMBI_PLUGIN_PATH (colon-separated), then the
// per-user folder ($XDG_DATA_HOME or ~/.local/share)/simbi/plugins, then <binary>/../lib/simbi/plugins,
// which serves a build tree and an install prefix alike.
//
// Libraries are loaded with local symbol binding and are never unloaded: libraries that link
// LibTorch cannot be unloaded safely, and keeping every library keeps descriptors valid.
#pragma once
#include <memory>
#include <simbi/simbi.h>
#include <string>
#include <vector>

namespace simbi::host {

struct PluginInfo {
    std::string id, name, version, vendor, description;
    simbi_kind kind = 0;
    simbi_thread_safety thread_safety = SIMBI_THREAD_INSTANCE;
    std::vector<std::string> param_names;
    uint64_t output_dim = 0;
    std::vector<uint64_t> output_shape;
    std::string default_prior_json;  // empty if none
    std::string config_schema_json;    // "{}" if none
    std::string training_schema_json;  // estimators, ABI 1.1; "" if none declared
    uint64_t capabilities = 0;         // SIMBI_CAPABILITY_* (ABI 1.2)
    std::string output_support_json;   // simulators, ABI 1.1; "" if none declared
    std::string path;                // the library file
    uint32_t abi_major = 0, abi_minor = 0;
    const simbi_factory* factory = nullptr;  // set once the library is loaded (plugin_factory())
    std::string described_sha256;            // the library's SHA-256 as its description gives it
    bool allow_unsafe = false;               // how it was found, for loading it later
    // A process bridge (a <name>.bridge.json file, docs/bridge.md): the simulator is this command,
    // run in worker processes from the file's folder; path is the file.
    std::vector<std::string> bridge_command;

    std::string sha256() const;  // of the library file: as described, or computed now
};

const char* kind_name(simbi_kind kind);
// "a simulator", "an estimator".
std::string with_article(const std::string& noun);

struct RegistryOptions {
    std::vector<std::string> first_paths;  // e.g. the manifest's plugin_paths, already absolute
    bool allow_unsafe = false;             // load plugins that other users could have replaced
};

class PluginRegistry {
public:
    explicit PluginRegistry(RegistryOptions options);

    const std::vector<std::string>& search_paths() const { return paths_; }
    const std::vector<PluginInfo>& plugins() const { return plugins_; }
    // Files that could not be loaded, and duplicate ids, one message each.
    const std::vector<std::string>& problems() const { return problems_; }

    // The plugin with this id and kind (0 = any); throws RunError naming the search paths and any
    // problems if there is none or if the id is duplicated.
    const PluginInfo& find(const std::string& id, simbi_kind kind = 0) const;

private:
    void scan_folder(const std::string& folder);
    std::vector<std::string> paths_;
    std::vector<PluginInfo> plugins_;
    std::vector<std::string> problems_;
    std::vector<std::string> duplicate_ids_;
    bool allow_unsafe_;
};

// Reads a process bridge's definition file (<name>.bridge.json); throws RunError naming the file
// and the JSON path of what is wrong.
PluginInfo read_bridge_definition(const std::string& path, bool allow_unsafe);

// Loads one library and returns its plugins; throws RunError with a message naming the file on
// any failure (unsafe permissions, no entry symbol, ABI major mismatch, bad descriptor).
std::vector<PluginInfo> load_plugin_library(const std::string& path, bool allow_unsafe);

// Why a file or its folder could be replaced by another user, or "" if it is safe.
std::string unsafe_reason(const std::string& path);

// The default search paths after the manifest's (env, user, next to the binary).
std::vector<std::string> default_plugin_paths();

}  // namespace simbi::host
