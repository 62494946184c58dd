// Plugin bundles: one file that carries a plugin from its author to a lab.
//
// A bundle is a ustar archive (`tar -tf` lists it) of bundle.json, the plugin's library and
// descriptor file (or a bridge's definition and the files it runs), any libraries it needs
// beside it, and its license, README and example manifest. bundle.json names the plugin's id,
// version, kind and ABI, and each file's SHA-256 and size. Installing unpacks into a staging
// folder beside the destination, checks every checksum, the ABI, the descriptor against a fresh
// description and the conformance checks, and only then renames the folder to <id>@<version>:
// versions live side by side, and a failed install leaves nothing behind.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace simbi::host {

struct PackOptions {
    std::string out;                // the bundle file; "" = <id>@<version>.simbi-bundle in the current folder
    std::string license, readme;    // "" = found beside the plugin (LICENSE*, COPYING*, README*)
    std::string example;            // "" = <stem>.example.json, example.json or manifest.json beside the plugin
    std::vector<std::string> with;  // more files to ship beside the library (libraries it links)
    json description;               // a library's fresh description (describe_library); null for a bridge
};

// Writes the bundle of `info` (a library's plugin or a bridge) and returns its path, and in
// `warnings` what a lab would miss (no license, no README, no example). Throws RunError.
std::string pack_bundle(const PluginInfo& info, const PackOptions& options, std::vector<std::string>& warnings);

// What installing needs from the host binary: runs `simbi ARGS...` in a child process and
// returns its exit code, with its standard output in `out` and its error output in `err`.
using RunSimbi = std::function<int(const std::vector<std::string>& args, std::string& out, std::string& err)>;

struct InstallResult {
    std::string folder;  // <dest>/<id>@<version>
    std::string id, version;
    bool already = false;  // the same bundle was installed there already
};

// Installs the bundle into `dest` (made if missing; refused if other users can write it).
// `found` are the plugins already on the search path: the same id and version elsewhere would make
// the id ambiguous, and is refused. Throws RunError naming the bundle and what failed; nothing is
// left in dest then.
InstallResult install_bundle(const std::string& bundle, const std::string& dest, const RunSimbi& run_simbi,
                             const std::vector<PluginInfo>& found = {});

// Removes <dest>/<id>@<version>; throws UsageError naming what is installed there when it is not.
std::string remove_bundle(const std::string& dest, const std::string& id_at_version);

// Where `--user` and `--system` install: the per-user plugin folder, and the installation's own.
std::string user_plugin_dir();
std::string system_plugin_dir();

}  // namespace simbi::host
