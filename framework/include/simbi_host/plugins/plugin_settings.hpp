// A plugin's settings: its config and training objects, checked against the schemas its
// descriptor declares, and resolved with their defaults.
#pragma once
#include <string>

#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace simbi::host {

// Checks a JSON object's keys, value types and stated bounds against a schema in the descriptor
// form ({"key": {"type": ..., "default": ..., "doc": ..., and optionally "minimum",
// "exclusive_minimum", "maximum", "exclusive_maximum", "enum"}}); UsageError names the key and
// the accepted ones. what: "config" or "training", for messages.
void check_against_schema(const std::string& schema_json, const std::string& plugin_id, const json& value, const std::string& file,
                          const std::string& json_path, const std::string& what);
// Checks a plugin's config against the config schema in its descriptor.
void check_plugin_config(const PluginInfo& info, const json& config, const std::string& file, const std::string& json_path);
// The schema's defaults with the given values over them: the settings a plugin runs with.
json resolved_settings(const std::string& schema_json, const json& given);

}  // namespace simbi::host
