// A plugin's settings: its config and training objects, checked against the schemas its
// descriptor declares (JSON Schema 2020-12 objects from simbi::Option, or the map form
// {"key": {"type", "default", "doc", ...}} of older plugins), and resolved with their defaults.
// The checks are the SDK's own (simbi::check_settings): the host and the plugin's C++ layer
// apply one rule.
#pragma once
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace simbi::host {

// The settings a schema declares, key -> its schema, in either form.
json schema_properties(const std::string& schema_json);
std::vector<std::string> schema_keys(const std::string& schema_json);

// Checks a JSON object's keys, value types, bounds and allowed values against a schema;
// UsageError names the file, the JSON path and the key, what was expected, the accepted keys of
// an unknown one and the nearest of them. what: "config" or "training", for messages.
void check_against_schema(const std::string& schema_json, const std::string& plugin_id, const json& value, const std::string& file,
                          const std::string& json_path, const std::string& what);
// Checks a plugin's config against the config schema in its descriptor.
void check_plugin_config(const PluginInfo& info, const json& config, const std::string& file, const std::string& json_path);
// The schema's defaults with the given values over them: the settings a plugin runs with.
// The explicit values below the minimum a plugin's schema declares sensible ("x-sensibleMinimum"),
// one line each, e.g. "patience 20 is below the 50 it takes as sensible (its default is 100)".
std::vector<std::string> unlikely_settings(const std::string& schema_json, const json& given);
json resolved_settings(const std::string& schema_json, const json& given);

}  // namespace simbi::host
