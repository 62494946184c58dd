#include "simbi_host/plugins/plugin_settings.hpp"

#include <algorithm>

#include "simbi_host/core/errors.hpp"

namespace simbi::host {

void check_against_schema(const std::string& schema_json, const std::string& plugin_id, const json& value, const std::string& file,
                          const std::string& path, const std::string& what) {
    json schema = json::parse(schema_json.empty() ? "{}" : schema_json);
    for (auto it = value.begin(); it != value.end(); ++it) {
        std::string where = file + ": " + path + "/" + clip(it.key(), 80);
        if (!schema.contains(it.key())) {
            std::string keys;
            for (auto s = schema.begin(); s != schema.end(); ++s) keys += (keys.empty() ? "" : ", ") + s.key();
            throw UsageError(where + ": unknown " + what + " key for plugin '" + plugin_id + "' (accepted: " + (keys.empty() ? "none" : keys) + ")");
        }
        const json& spec = schema[it.key()];
        std::string type = spec.is_object() && spec.contains("type") && spec["type"].is_string() ? spec["type"].get<std::string>() : "";
        const json& v = it.value();
        bool ok = type.empty() || (type == "number" && v.is_number()) || (type == "integer" && v.is_number_integer()) ||
                  (type == "string" && v.is_string()) || (type == "boolean" && v.is_boolean()) ||
                  (type == "array" && v.is_array()) || (type == "object" && v.is_object());
        // null asks for the plugin's own choice where its default is null
        if (!ok && v.is_null() && spec.is_object() && spec.contains("default") && spec["default"].is_null()) ok = true;
        if (!ok) throw UsageError(where + ": expected " + (type == "integer" ? "an integer" : "a " + type) + ", got " + brief(v));
        // The plugin's stated bounds, checked here so that a bad value costs no simulation.
        if (v.is_number() && spec.is_object()) {
            const double x = v.get<double>();
            auto bound = [&](const char* key, bool inside, const std::string& words) {
                if (spec.contains(key) && spec[key].is_number() && !inside)
                    throw UsageError(where + ": expected " + words + " " + spec[key].dump() + ", got " + brief(v));
            };
            bound("minimum", spec.contains("minimum") && x >= spec["minimum"].get<double>(), "a number at least");
            bound("exclusive_minimum", spec.contains("exclusive_minimum") && x > spec["exclusive_minimum"].get<double>(), "a number above");
            bound("maximum", spec.contains("maximum") && x <= spec["maximum"].get<double>(), "a number at most");
            bound("exclusive_maximum", spec.contains("exclusive_maximum") && x < spec["exclusive_maximum"].get<double>(), "a number below");
        }
        if (spec.is_object() && spec.contains("enum") && spec["enum"].is_array() && !v.is_null() &&
            std::find(spec["enum"].begin(), spec["enum"].end(), v) == spec["enum"].end())
            throw UsageError(where + ": expected one of " + brief(spec["enum"]) + ", got " + brief(v));
    }
}

void check_plugin_config(const PluginInfo& info, const json& config, const std::string& file, const std::string& path) {
    check_against_schema(info.config_schema_json, info.id, config, file, path, "config");
}

json resolved_settings(const std::string& schema_json, const json& given) {
    json out = json::object();
    json schema = json::parse(schema_json.empty() ? "{}" : schema_json);
    for (auto it = schema.begin(); it != schema.end(); ++it)
        if (it.value().is_object() && it.value().contains("default")) out[it.key()] = it.value()["default"];
    for (auto it = given.begin(); it != given.end(); ++it) out[it.key()] = it.value();
    return out;
}

}  // namespace simbi::host
