// simbi/config.hpp: a plugin's settings, declared once. simbi::Option states a setting's type,
// default, bounds or allowed values and documentation, as a JSON Schema (2020-12) subset that
// Info::option puts in the descriptor; the host checks a manifest against it before any work, and
// simbi::Config checks the values again and gives the plugin each one, or its default, so that no
// default or bound is written twice. A small JSON reader keeps the SDK free of a JSON library.
#ifndef SIMBI_CONFIG_HPP
#define SIMBI_CONFIG_HPP

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace simbi {

struct JsonValue {
    enum class Type { Null, Bool, Number, String, Array, Object } type = Type::Null;
    bool boolean = false;
    double number = 0.0;
    std::string string;
    std::vector<JsonValue> array;
    std::map<std::string, JsonValue> object;
};

namespace detail {
class JsonParser {
public:
    explicit JsonParser(const std::string& text) : s_(text) {}
    JsonValue parse() {
        JsonValue v = value();
        skip();
        if (i_ != s_.size()) fail("trailing characters");
        return v;
    }

private:
    const std::string& s_;
    size_t i_ = 0;
    [[noreturn]] void fail(const std::string& what) const {
        throw std::invalid_argument("config JSON: " + what + " at offset " + std::to_string(i_));
    }
    void skip() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
    }
    bool eat(char c) {
        skip();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) fail(std::string("expected '") + c + "'");
    }
    std::string str() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c == '\\' && i_ < s_.size()) {
                char e = s_[i_++];
                switch (e) {
                    case 'n': out += '\n'; break;
                    case 't': out += '\t'; break;
                    case 'r': out += '\r'; break;
                    case 'b': out += '\b'; break;
                    case 'f': out += '\f'; break;
                    case 'u':  // keep BMP code points below 0x80 only; others become '?'
                        if (i_ + 4 > s_.size()) fail("bad \\u escape");
                        {
                            long cp = std::strtol(s_.substr(i_, 4).c_str(), nullptr, 16);
                            out += cp < 0x80 ? char(cp) : '?';
                        }
                        i_ += 4;
                        break;
                    default: out += e;
                }
            } else {
                out += c;
            }
        }
        if (i_ >= s_.size()) fail("unterminated string");
        ++i_;
        return out;
    }
    JsonValue value() {
        skip();
        if (i_ >= s_.size()) fail("unexpected end");
        JsonValue v;
        char c = s_[i_];
        if (c == '{') {
            ++i_;
            v.type = JsonValue::Type::Object;
            if (eat('}')) return v;
            do {
                skip();
                std::string k = str();
                expect(':');
                v.object[k] = value();
            } while (eat(','));
            expect('}');
        } else if (c == '[') {
            ++i_;
            v.type = JsonValue::Type::Array;
            if (eat(']')) return v;
            do v.array.push_back(value());
            while (eat(','));
            expect(']');
        } else if (c == '"') {
            v.type = JsonValue::Type::String;
            v.string = str();
        } else if (s_.compare(i_, 4, "true") == 0) {
            v.type = JsonValue::Type::Bool;
            v.boolean = true;
            i_ += 4;
        } else if (s_.compare(i_, 5, "false") == 0) {
            v.type = JsonValue::Type::Bool;
            i_ += 5;
        } else if (s_.compare(i_, 4, "null") == 0) {
            i_ += 4;
        } else {
            const char* begin = s_.c_str() + i_;
            char* end = nullptr;
            v.type = JsonValue::Type::Number;
            v.number = std::strtod(begin, &end);
            if (end == begin) fail("unexpected character");
            i_ += size_t(end - begin);
        }
        return v;
    }
};
}  // namespace detail

inline JsonValue parse_json(const std::string& text) { return detail::JsonParser(text).parse(); }

namespace detail {
inline std::string quote(const std::string& s) {
    std::string o = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
            o += char(c);
        } else if (c < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else {
            o += char(c);
        }
    }
    return o + "\"";
}
inline std::string number_text(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.17g", v);
    return b;
}
}  // namespace detail

// One setting's schema, in JSON Schema's 2020-12 keywords: type, default, description, enum,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum, and for arrays items (with its own type
// and bounds), minItems and maxItems. A setting whose default depends on the run (e.g. on the
// number of training rows) is unset(): its default is null, the plugin chooses, and the
// description says how.
class Option {
public:
    static Option number(double dflt) { return Option("number", detail::number_text(dflt)); }
    static Option integer(long long dflt) { return Option("integer", std::to_string(dflt)); }
    static Option boolean(bool dflt) { return Option("boolean", dflt ? "true" : "false"); }
    static Option string(const std::string& dflt) { return Option("string", detail::quote(dflt)); }
    // A string from a list of values.
    static Option choice(const std::vector<std::string>& values, const std::string& dflt) {
        Option o("string", detail::quote(dflt));
        std::string e = "[";
        for (size_t i = 0; i < values.size(); ++i) e += (i ? "," : "") + detail::quote(values[i]);
        return o.set("enum", e + "]");
    }
    // An array of numbers (integers: items_integer()).
    static Option numbers(const std::vector<double>& dflt) {
        std::string d = "[";
        for (size_t i = 0; i < dflt.size(); ++i) d += (i ? "," : "") + detail::number_text(dflt[i]);
        return Option("array", d + "]").set("items", "{\"type\":\"number\"}");
    }
    static Option integers(const std::vector<long long>& dflt) {
        std::string d = "[";
        for (size_t i = 0; i < dflt.size(); ++i) d += (i ? "," : "") + std::to_string(dflt[i]);
        return Option("array", d + "]").set("items", "{\"type\":\"integer\"}");
    }
    // Any JSON object, for nested settings the plugin checks itself (an embedding's spec).
    static Option object(const std::string& default_json) { return Option("object", default_json); }

    // The default is null: the plugin chooses when the manifest leaves it unset.
    Option& unset() {
        default_ = "null";
        nullable_ = true;
        return *this;
    }
    Option& minimum(double v) { return set("minimum", detail::number_text(v)); }
    Option& maximum(double v) { return set("maximum", detail::number_text(v)); }
    Option& above(double v) { return set("exclusiveMinimum", detail::number_text(v)); }
    Option& below(double v) { return set("exclusiveMaximum", detail::number_text(v)); }
    // Bounds of each item of an array (inclusive, or exclusive), and of its length.
    Option& items_between(double lo, double hi) { return items_bounded(lo, hi, "minimum", "maximum"); }
    Option& items_inside(double lo, double hi) { return items_bounded(lo, hi, "exclusiveMinimum", "exclusiveMaximum"); }
    Option& length_between(long long lo, long long hi) { return set("minItems", std::to_string(lo)).set("maxItems", std::to_string(hi)); }
    Option& doc(const std::string& text) { return set("description", detail::quote(text)); }
    // Below this, a value is allowed but unlikely to serve: the host says so in one line when a
    // manifest sets one (the annotation "x-sensibleMinimum").
    Option& sensible_minimum(double v) { return set("x-sensibleMinimum", detail::number_text(v)); }
    // A setting of how a trained model is sampled, not of what is trained: a host reuses what
    // was trained when only such settings change (the annotation "x-sampling").
    Option& sampling() { return set("x-sampling", "true"); }

    // The schema object as JSON text.
    std::string json() const {
        std::string o = "{\"type\":" + (nullable_ ? "[\"" + type_ + "\",\"null\"]" : "\"" + type_ + "\"") + ",\"default\":" + default_;
        for (const auto& m : members_) o += "," + detail::quote(m.first) + ":" + m.second;
        return o + "}";
    }

private:
    Option(std::string type, std::string dflt) : type_(std::move(type)), default_(std::move(dflt)) {}
    Option& items_bounded(double lo, double hi, const char* lo_key, const char* hi_key) {
        const std::string type = find("items").find("integer") != std::string::npos ? "integer" : "number";
        return set("items", "{\"type\":\"" + type + "\",\"" + lo_key + "\":" + detail::number_text(lo) + ",\"" + hi_key +
                                "\":" + detail::number_text(hi) + "}");
    }
    Option& set(const std::string& key, const std::string& value) {
        for (auto& m : members_)
            if (m.first == key) {
                m.second = value;
                return *this;
            }
        members_.emplace_back(key, value);
        return *this;
    }
    std::string find(const std::string& key) const {
        for (const auto& m : members_)
            if (m.first == key) return m.second;
        return "";
    }
    std::string type_, default_;
    bool nullable_ = false;
    std::vector<std::pair<std::string, std::string>> members_;
};

// A setting that does not fit its schema: its key, and what was expected ("expected an integer
// at least 1, got 0"); unknown: a key the schema does not declare.
struct SettingError : std::invalid_argument {
    std::string key;
    bool unknown;
    SettingError(std::string k, const std::string& what, bool unknown_key = false)
        : std::invalid_argument(what), key(std::move(k)), unknown(unknown_key) {}
};

namespace detail {
inline const JsonValue* member(const JsonValue& o, const std::string& key) {
    auto it = o.object.find(key);
    return it == o.object.end() ? nullptr : &it->second;
}
// A schema's settings: the properties of a JSON Schema object, or the keys of the map
// {key: {type, default, doc, ...}} that descriptors held before Option.
inline const std::map<std::string, JsonValue>& schema_properties(const JsonValue& schema) {
    const JsonValue* p = member(schema, "properties");
    return p && p->type == JsonValue::Type::Object ? p->object : schema.object;
}
inline std::string type_name(const JsonValue& prop) {
    const JsonValue* t = member(prop, "type");
    if (!t) return "";
    if (t->type == JsonValue::Type::String) return t->string;
    for (const auto& e : t->array)
        if (e.type == JsonValue::Type::String && e.string != "null") return e.string;
    return "";
}
// null stands for "the plugin chooses" where the type allows it or the default is null.
inline bool nullable(const JsonValue& prop) {
    const JsonValue* t = member(prop, "type");
    if (t && t->type == JsonValue::Type::Array)
        for (const auto& e : t->array)
            if (e.type == JsonValue::Type::String && e.string == "null") return true;
    const JsonValue* d = member(prop, "default");
    return d && d->type == JsonValue::Type::Null;
}
inline bool same(const JsonValue& a, const JsonValue& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
        case JsonValue::Type::Number: return a.number == b.number;
        case JsonValue::Type::String: return a.string == b.string;
        case JsonValue::Type::Bool: return a.boolean == b.boolean;
        case JsonValue::Type::Null: return true;
        default: return false;
    }
}
inline std::string write_value(const JsonValue& v);
// "" when v fits prop, else what was expected and what came.
inline std::string check_value(const JsonValue& v, const JsonValue& prop) {
    if (v.type == JsonValue::Type::Null && nullable(prop)) return "";
    const std::string type = type_name(prop);
    const std::string got = ", got " + write_value(v);
    const bool ok = type.empty() || (type == "number" && v.type == JsonValue::Type::Number) ||
                    (type == "integer" && v.type == JsonValue::Type::Number && v.number == double((long long)v.number)) ||
                    (type == "string" && v.type == JsonValue::Type::String) || (type == "boolean" && v.type == JsonValue::Type::Bool) ||
                    (type == "array" && v.type == JsonValue::Type::Array) || (type == "object" && v.type == JsonValue::Type::Object);
    if (!ok) return "expected " + std::string(type == "integer" || type == "array" || type == "object" ? "an " : "a ") + type + got;
    if (v.type == JsonValue::Type::Number) {
        const std::string what = type == "integer" ? "an integer" : "a number";
        struct Bound {
            const char *key, *old_key, *words;
            bool (*inside)(double, double);
        };
        static const Bound bounds[] = {{"minimum", "minimum", "at least", [](double x, double b) { return x >= b; }},
                                       {"exclusiveMinimum", "exclusive_minimum", "above", [](double x, double b) { return x > b; }},
                                       {"maximum", "maximum", "at most", [](double x, double b) { return x <= b; }},
                                       {"exclusiveMaximum", "exclusive_maximum", "below", [](double x, double b) { return x < b; }}};
        for (const Bound& b : bounds) {
            const JsonValue* limit = member(prop, b.key);
            if (!limit) limit = member(prop, b.old_key);
            if (limit && limit->type == JsonValue::Type::Number && !b.inside(v.number, limit->number))
                return "expected " + what + " " + b.words + " " + write_value(*limit) + got;
        }
    }
    if (const JsonValue* e = member(prop, "enum"); e && e->type == JsonValue::Type::Array) {
        bool found = false;
        for (const auto& option : e->array) found = found || same(v, option);
        if (!found) return "expected one of " + write_value(*e) + got;
    }
    if (v.type == JsonValue::Type::Array) {
        const JsonValue *lo = member(prop, "minItems"), *hi = member(prop, "maxItems");
        if ((lo && double(v.array.size()) < lo->number) || (hi && double(v.array.size()) > hi->number))
            return "expected " + (lo ? write_value(*lo) : std::string("0")) + " to " +
                   (hi ? write_value(*hi) : std::string("any number of")) + " items" + got;
        if (const JsonValue* items = member(prop, "items"))
            for (size_t i = 0; i < v.array.size(); ++i) {
                const std::string bad = check_value(v.array[i], *items);
                if (!bad.empty()) return "item " + std::to_string(i) + ": " + bad;
            }
    }
    return "";
}
}  // namespace detail

// Checks settings (a JSON object) against a schema: every key declared, every value of its type,
// bounds and allowed values. Throws SettingError for the first that does not fit.
inline void check_settings(const JsonValue& settings, const JsonValue& schema) {
    if (settings.type != JsonValue::Type::Object) throw SettingError("", "settings must be a JSON object");
    const auto& props = detail::schema_properties(schema);
    for (const auto& kv : settings.object) {
        auto p = props.find(kv.first);
        if (p == props.end()) throw SettingError(kv.first, "unknown setting '" + kv.first + "'", true);
        const std::string bad = detail::check_value(kv.second, p->second);
        if (!bad.empty()) throw SettingError(kv.first, bad);
    }
}

// A plugin's config object. Built with its schema, it is checked against it and holds each
// setting's default where the manifest sets none: getters without a fallback then read the value
// or the default. check_all_used() rejects keys neither declared nor asked for.
class Config {
public:
    Config() { root_.type = JsonValue::Type::Object; }
    explicit Config(const std::string& json) : root_(parse_json(json.empty() ? "{}" : json)) {
        if (root_.type != JsonValue::Type::Object) throw std::invalid_argument("config must be a JSON object");
    }
    // The config checked against schema_json (Info's), with the defaults filled in. Throws
    // std::invalid_argument "config key 'k': expected ..." for a value that does not fit.
    Config(const std::string& json, const std::string& schema_json) : Config(json) {
        const JsonValue schema = parse_json(schema_json.empty() ? "{}" : schema_json);
        try {
            check_settings(root_, schema);
        } catch (const SettingError& e) {
            throw std::invalid_argument(e.unknown ? "unknown config key '" + e.key + "'" : "config key '" + e.key + "': " + e.what());
        }
        for (const auto& kv : root_.object)
            if (kv.second.type != JsonValue::Type::Null) given_.insert(kv.first);
        for (const auto& kv : detail::schema_properties(schema)) {
            declared_.insert(kv.first);
            const JsonValue* d = detail::member(kv.second, "default");
            if (d && d->type != JsonValue::Type::Null && !root_.object.count(kv.first)) root_.object[kv.first] = *d;
        }
    }

    // Whether the manifest gave the setting a value (not its default). A saved model's own value
    // of a sampling-only setting yields to a given one.
    bool given(const std::string& key) const { return given_.count(key) > 0; }

    // Whether the setting has a value (given, or its default), null being none.
    bool has(const std::string& key) const {
        auto it = root_.object.find(key);
        return it != root_.object.end() && it->second.type != JsonValue::Type::Null;
    }

    // The value of a declared setting, or its default; throws when it has neither.
    double number(const std::string& key) const { return number(key, required(key)->number); }
    long long integer(const std::string& key) const { return integer(key, (long long)required(key)->number); }
    bool boolean(const std::string& key) const { return boolean(key, required(key)->boolean); }
    std::string string(const std::string& key) const { return string(key, required(key)->string); }
    std::vector<double> numbers(const std::string& key) const {
        required(key);
        return numbers(key, {});
    }

    double number(const std::string& key, double fallback) const {
        const JsonValue* v = find(key);
        if (!v || v->type == JsonValue::Type::Null) return fallback;
        if (v->type != JsonValue::Type::Number) throw std::invalid_argument("config key '" + key + "' must be a number");
        return v->number;
    }
    long long integer(const std::string& key, long long fallback) const {
        double d = number(key, double(fallback));
        if (d != double((long long)d)) throw std::invalid_argument("config key '" + key + "' must be an integer");
        return (long long)d;
    }
    bool boolean(const std::string& key, bool fallback) const {
        const JsonValue* v = find(key);
        if (!v || v->type == JsonValue::Type::Null) return fallback;
        if (v->type != JsonValue::Type::Bool) throw std::invalid_argument("config key '" + key + "' must be true or false");
        return v->boolean;
    }
    std::string string(const std::string& key, const std::string& fallback) const {
        const JsonValue* v = find(key);
        if (!v || v->type == JsonValue::Type::Null) return fallback;
        if (v->type != JsonValue::Type::String) throw std::invalid_argument("config key '" + key + "' must be a string");
        return v->string;
    }
    std::vector<double> numbers(const std::string& key, const std::vector<double>& fallback) const {
        const JsonValue* v = find(key);
        if (!v || v->type == JsonValue::Type::Null) return fallback;
        if (v->type != JsonValue::Type::Array) throw std::invalid_argument("config key '" + key + "' must be an array of numbers");
        std::vector<double> out;
        for (const auto& e : v->array) {
            if (e.type != JsonValue::Type::Number) throw std::invalid_argument("config key '" + key + "' must be an array of numbers");
            out.push_back(e.number);
        }
        return out;
    }
    // A value of any type, written back as JSON text (for nested objects such as an embedding).
    std::string json_text(const std::string& key, const std::string& fallback) const {
        const JsonValue* v = find(key);
        return v && v->type != JsonValue::Type::Null ? write_json(*v) : fallback;
    }
    std::string json_text(const std::string& key) const { return write_json(*required(key)); }
    const JsonValue& root() const { return root_; }

    static std::string write_json(const JsonValue& v) {
        switch (v.type) {
            case JsonValue::Type::Null: return "null";
            case JsonValue::Type::Bool: return v.boolean ? "true" : "false";
            case JsonValue::Type::Number: {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.17g", v.number);
                return buf;
            }
            case JsonValue::Type::String: {
                std::string o = "\"";
                for (char c : v.string) {
                    if (c == '"' || c == '\\') o += '\\';
                    o += c;
                }
                return o + "\"";
            }
            case JsonValue::Type::Array: {
                std::string o = "[";
                for (size_t i = 0; i < v.array.size(); ++i) o += (i ? "," : "") + write_json(v.array[i]);
                return o + "]";
            }
            default: {
                std::string o = "{";
                bool first = true;
                for (const auto& kv : v.object) {
                    JsonValue key;
                    key.type = JsonValue::Type::String;
                    key.string = kv.first;
                    o += (first ? "" : ",") + write_json(key) + ":" + write_json(kv.second);
                    first = false;
                }
                return o + "}";
            }
        }
    }

    // Throws if the config holds a key neither declared in its schema nor asked for by a getter.
    void check_all_used() const {
        for (const auto& kv : root_.object)
            if (!used_.count(kv.first) && !declared_.count(kv.first)) throw std::invalid_argument("unknown config key '" + kv.first + "'");
    }

private:
    const JsonValue* find(const std::string& key) const {
        used_.insert(key);
        auto it = root_.object.find(key);
        return it == root_.object.end() ? nullptr : &it->second;
    }
    const JsonValue* required(const std::string& key) const {
        const JsonValue* v = find(key);
        if (!v || v->type == JsonValue::Type::Null) throw std::invalid_argument("config key '" + key + "' has no value and no default");
        return v;
    }
    JsonValue root_;
    mutable std::set<std::string> used_;
    std::set<std::string> declared_;
    std::set<std::string> given_;
};

namespace detail {
inline std::string write_value(const JsonValue& v) { return Config::write_json(v); }
}  // namespace detail

}  // namespace simbi
#endif
