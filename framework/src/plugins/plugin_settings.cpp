#include "simbi_host/plugins/plugin_settings.hpp"

#include <cstdio>

#include <simbi/config.hpp>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/suggest.hpp"

namespace simbi::host {

json schema_properties(const std::string& schema_json) {
    const json schema = json::parse(schema_json.empty() ? "{}" : schema_json);
    if (schema.contains("properties") && schema["properties"].is_object()) return schema["properties"];
    return schema.is_object() ? schema : json::object();
}

std::vector<std::string> schema_keys(const std::string& schema_json) {
    std::vector<std::string> keys;
    const json properties = schema_properties(schema_json);
    for (auto it = properties.begin(); it != properties.end(); ++it) keys.push_back(it.key());
    return keys;
}

void check_against_schema(const std::string& schema_json, const std::string& plugin_id, const json& value, const std::string& file,
                          const std::string& path, const std::string& what) {
    const simbi::JsonValue schema = simbi::parse_json(schema_json.empty() ? "{}" : schema_json);
    try {
        simbi::check_settings(simbi::parse_json(value.dump()), schema);
    } catch (const simbi::SettingError& e) {
        const std::string where = file + ": " + path + (e.key.empty() ? "" : "/" + clip(e.key, 80));
        if (!e.unknown) throw UsageError(where + ": " + e.what());
        const std::vector<std::string> keys = schema_keys(schema_json);
        std::string accepted;
        for (const auto& k : keys) accepted += (accepted.empty() ? "" : ", ") + k;
        throw UsageError(where + ": unknown " + what + " key for plugin '" + plugin_id +
                         "' (accepted: " + (accepted.empty() ? "none" : accepted) + ")" + did_you_mean(e.key, keys));
    }
}

void check_plugin_config(const PluginInfo& info, const json& config, const std::string& file, const std::string& path) {
    check_against_schema(info.config_schema_json, info.id, config, file, path, "config");
}

std::vector<std::string> unlikely_settings(const std::string& schema_json, const json& given) {
    std::vector<std::string> notes;
    const json properties = schema_properties(schema_json);
    for (auto it = given.begin(); it != given.end(); ++it) {
        if (!properties.contains(it.key()) || !it.value().is_number()) continue;
        const json& p = properties[it.key()];
        if (!p.is_object() || !p.contains("x-sensibleMinimum") || !p["x-sensibleMinimum"].is_number()) continue;
        const double v = it.value().get<double>(), low = p["x-sensibleMinimum"].get<double>();
        if (v >= low) continue;
        char bound[32];
        std::snprintf(bound, sizeof bound, "%g", low);
        std::string note = it.key() + " " + it.value().dump() + " is below the " + bound + " it takes as sensible";
        if (p.contains("default")) note += " (its default is " + p["default"].dump() + ")";
        notes.push_back(note);
    }
    return notes;
}

json resolved_settings(const std::string& schema_json, const json& given) {
    json out = json::object();
    const json properties = schema_properties(schema_json);
    for (auto it = properties.begin(); it != properties.end(); ++it)
        if (it.value().is_object() && it.value().contains("default")) out[it.key()] = it.value()["default"];
    for (auto it = given.begin(); it != given.end(); ++it) out[it.key()] = it.value();
    return out;
}

}  // namespace simbi::host
