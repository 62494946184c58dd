// Scanning plugin libraries without loading them into the host.
//
// Each library may have a descriptor file beside it, <stem>.simbi.json, written at build time by
// simbi_add_plugin (`simbi plugins describe LIB --out FILE`): the library's SHA-256, size and ABI,
// and for each plugin its id, kind, version, names, dimensions, default prior and settings
// schemas. The host lists plugins, validates manifests and plans runs from these files, and
// opens a library only when one of its plugins is used, after checking its SHA-256 against the
// file. A library without a descriptor file (or whose size no longer matches it) is described by
// a short-lived child process, so a truncated or crashing file is reported, never fatal.
#pragma once
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace simbi::host {

// <folder>/<stem>.simbi.json for <folder>/<stem>.so.
std::string descriptor_file_for(const std::string& library);

// Loads the library in this process and describes it (the descriptor file's content).
json describe_library(const std::string& library, bool allow_unsafe);

// The plugins a description lists, checked as a loaded descriptor would be; throws RunError.
std::vector<PluginInfo> plugins_from_description(const json& description, const std::string& library);

// The plugins of one library, from its descriptor file, or else from a child process, or else
// (with no `simbi` binary to run) by loading it here. Throws RunError naming the file.
std::vector<PluginInfo> scan_library(const std::string& library, bool allow_unsafe);

// The factory of a plugin found by a scan: loads its library now, after checking the file's
// SHA-256 against the one it was described with. Throws RunError naming the file.
const simbi_factory* plugin_factory(const PluginInfo& info);

}  // namespace simbi::host
