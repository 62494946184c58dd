// Finding, checking and loading plugin libraries.
//
// Search order: the manifest's plugin_paths, then SIMBI_PLUGIN_PATH (colon-separated), then the
// per-user folder ($XDG_DATA_HOME or ~/.local/share)/simbi/plugins, then <binary>/../lib/simbi/plugins,
// which serves a build tree and an install prefix alike. In each folder, the plugin files and the
// <id>@<version> folders that installed bundles make (plugin_bundle.hpp): one id may come in
// several versions, and a manifest names `id` (the newest) or `id@version`.
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
    std::string default_prior_json;    // empty if none
    std::string config_schema_json;    // "{}" if none
    std::string training_schema_json;  // estimators, ABI 1.1; "" if none declared
    uint64_t capabilities = 0;         // SIMBI_CAPABILITY_* (ABI 1.2)
    std::string output_support_json;   // simulators, ABI 1.1; "" if none declared
    std::string path;                  // the library file
    std::string origin;                // where it was found: "manifest", "env", "user" or "system"
    uint32_t abi_major = 0, abi_minor = 0;
    const simbi_factory* factory = nullptr;  // set once the library is loaded (plugin_factory())
    std::string described_sha256;            // the library's SHA-256 as its descriptor file gives it (a cache, never trusted)
    bool allow_unsafe = false;               // how it was found, for loading it later
    // A process bridge (a <name>.bridge.json file, docs/bridge.md): the simulator is this command,
    // run in worker processes from the file's folder; path is the file. bridge_files: the files it
    // runs (its script and the definition's "files"), absolute; bridge_executable: command[0] as
    // found.
    std::vector<std::string> bridge_command;
    std::vector<std::string> bridge_files;
    std::string bridge_executable;

    // What a pin names and a store or artifact records: the SHA-256 of the library's bytes as they
    // are now (hashed once per process while the file is unchanged), or of a bridge's definition
    // and every file it runs (bridge_fingerprint).
    std::string sha256() const;
};

// The SHA-256 of a file's bytes, computed once per process for each state of the file (its
// device, inode, size and times).
std::string file_sha256_cached(const std::string& path);
// A bridge's identity: the SHA-256 of its definition and of each file it runs, by name.
std::string bridge_fingerprint(const PluginInfo& bridge);
// Whether id follows the plugin id grammar: lowercase [a-z0-9_-] words joined by dots, at least
// two ("vendor.name").
bool valid_plugin_id(const std::string& id);
// Checks a simulator's parameter names: non-empty, unique, without control characters; throws
// RunError "<where>...".
void check_parameter_names(const std::vector<std::string>& names, const std::string& where);

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

    // The plugin with this id and kind (0 = any), `id` being "vendor.name" (its newest version) or
    // "vendor.name@version"; throws RunError naming the search paths and any problems if there is
    // none or if the id and version are duplicated.
    const PluginInfo& find(const std::string& id, simbi_kind kind = 0) const;
    // The one plugin with this id and kind, or null.
    const PluginInfo* try_find(const std::string& id, simbi_kind kind = 0) const;

private:
    void scan_folder(const std::string& folder, const std::string& origin, bool bundles);
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
// any failure (unsafe permissions, no entry symbol, ABI major mismatch, bad descriptor). The
// library is opened once, checked and hashed through that descriptor and mapped from it, so the
// bytes hashed are the bytes that run; expected_sha256, when given, must be their SHA-256.
std::vector<PluginInfo> load_plugin_library(const std::string& path, bool allow_unsafe, const std::string& expected_sha256 = "");

// Why a file or its folder could be replaced by another user, or "" if it is safe.
std::string unsafe_reason(const std::string& path);
// The same check, with the refusal's wording: throws RunError "<path>: refused to <verb>: ..."
// unless the file is safe or allow_unsafe.
void check_safe_file(const std::string& path, bool allow_unsafe, const std::string& verb = "load");

// <prefix>/share/simbi of the running binary (in a build tree, <build>/share/simbi): the templates
// and the Python bridge module.
std::string simbi_share_dir();
// The prefix the running simbi is installed at (or the build tree): the folder above bin/.
std::string install_prefix();

// The per-user plugin folder, ($XDG_DATA_HOME or ~/.local/share)/simbi/plugins; "" when
// neither variable is set.
std::string user_plugin_folder();
// The default search paths after the manifest's (env, user, next to the binary).
std::vector<std::string> default_plugin_paths();
// The same, each with its origin ("env", "user", "system").
std::vector<std::pair<std::string, std::string>> default_plugin_paths_with_origin();

// Orders versions as semantic versions do: numeric parts numerically, others as text; < 0, 0, > 0.
int compare_versions(const std::string& a, const std::string& b);

}  // namespace simbi::host
