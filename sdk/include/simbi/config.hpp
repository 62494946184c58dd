// simbi/config.hpp: a small JSON reader for plugin configs, so the SDK needs no JSON library.
// Reads objects, arrays, numbers, strings, booleans and null; enough for config objects.
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
        if (i_ < s_.size() && s_[i_] == c) { ++i_; return true; }
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
                    case 'u': // keep BMP code points below 0x80 only; others become '?'
                        if (i_ + 4 > s_.size()) fail("bad \\u escape");
                        { long cp = std::strtol(s_.substr(i_, 4).c_str(), nullptr, 16); out += cp < 0x80 ? char(cp) : '?'; }
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
            do v.array.push_back(value()); while (eat(','));
            expect(']');
        } else if (c == '"') {
            v.type = JsonValue::Type::String;
            v.string = str();
        } else if (s_.compare(i_, 4, "true") == 0) {
            v.type = JsonValue::Type::Bool; v.boolean = true; i_ += 4;
        } else if (s_.compare(i_, 5, "false") == 0) {
            v.type = JsonValue::Type::Bool; i_ += 5;
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

// A plugin's config object. Getters name the key and a default; check_all_used() then rejects
// keys the plugin never asked for, which catches typos.
class Config {
public:
    Config() { root_.type = JsonValue::Type::Object; }
    explicit Config(const std::string& json) : root_(parse_json(json.empty() ? "{}" : json)) {
        if (root_.type != JsonValue::Type::Object) throw std::invalid_argument("config must be a JSON object");
    }

    bool has(const std::string& key) const { return root_.object.count(key) != 0; }

    double number(const std::string& key, double fallback) const {
        const JsonValue* v = find(key);
        if (!v) return fallback;
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
        if (!v) return fallback;
        if (v->type != JsonValue::Type::Bool) throw std::invalid_argument("config key '" + key + "' must be true or false");
        return v->boolean;
    }
    std::string string(const std::string& key, const std::string& fallback) const {
        const JsonValue* v = find(key);
        if (!v) return fallback;
        if (v->type != JsonValue::Type::String) throw std::invalid_argument("config key '" + key + "' must be a string");
        return v->string;
    }
    std::vector<double> numbers(const std::string& key, const std::vector<double>& fallback) const {
        const JsonValue* v = find(key);
        if (!v) return fallback;
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
        return v ? write_json(*v) : fallback;
    }
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

    // Throws if the config holds a key no getter asked for.
    void check_all_used() const {
        for (const auto& kv : root_.object)
            if (!used_.count(kv.first)) throw std::invalid_argument("unknown config key '" + kv.first + "'");
    }

private:
    const JsonValue* find(const std::string& key) const {
        used_.insert(key);
        auto it = root_.object.find(key);
        return it == root_.object.end() ? nullptr : &it->second;
    }
    JsonValue root_;
    mutable std::set<std::string> used_;
};

}  // namespace simbi
#endif
