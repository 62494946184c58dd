#include "simbi_host/core/json_reader.hpp"

#include <cmath>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/suggest.hpp"

namespace simbi::host {

std::string brief(const json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::string clip(const std::string& text, size_t limit) {
    if (text.size() <= limit) return text;
    return text.substr(0, limit) + "... (" + std::to_string(text.size()) + " characters in all)";
}

namespace {

// One open object or array while parsing, for duplicate keys and the path in messages.
struct OpenScope {
    bool object = false;
    std::set<std::string> keys;
    std::string key;   // the current key, in an object
    size_t index = 0;  // the current element, in an array
};

// The JSON pointer of the value being parsed; of the innermost open object itself with inner = false.
std::string scope_path(const std::vector<OpenScope>& stack, bool inner = true) {
    std::string p;
    for (size_t i = 0; i + (inner ? 0 : 1) < stack.size(); ++i) {
        const OpenScope& s = stack[i];
        p += "/" + (s.object ? clip(s.key, 60) : std::to_string(s.index));
    }
    return p.empty() ? "/" : p;
}

struct StrictJsonError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace

json parse_json_strict(const std::string& text, const std::string& what) {
    std::vector<OpenScope> stack;
    auto element_done = [&] {
        if (!stack.empty() && !stack.back().object) ++stack.back().index;
    };
    auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) -> bool {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                if (stack.size() >= size_t(kMaxJsonDepth))
                    throw StrictJsonError(scope_path(stack) + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
                stack.push_back(OpenScope{event == json::parse_event_t::object_start, {}, {}, 0});
                break;
            case json::parse_event_t::key: {
                OpenScope& top = stack.back();
                top.key = parsed.get<std::string>();
                if (!top.keys.insert(top.key).second)
                    throw StrictJsonError(scope_path(stack, false) + ": duplicate key \"" + clip(top.key, 60) + "\"");
                break;
            }
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                stack.pop_back();
                element_done();
                break;
            case json::parse_event_t::value: element_done(); break;
        }
        return true;
    };
    try {
        return json::parse(text, callback);
    } catch (const StrictJsonError& e) {
        throw UsageError(what + ": " + e.what());
    } catch (const json::parse_error& e) {
        throw UsageError(what + ": not valid JSON: " + clip(e.what()));
    } catch (const json::out_of_range& e) {
        throw UsageError(what + ": a number out of range: " + clip(e.what()));
    }
}

JsonReader::JsonReader(const json& value, std::string file, std::string path) : v_(value), file_(std::move(file)), path_(std::move(path)) {
    if (!v_.is_object()) throw UsageError(file_ + ": " + (path_.empty() ? "/" : path_) + ": expected an object, got " + brief(v_));
}

bool JsonReader::has(const std::string& key) const {
    asked_.insert(key);
    return v_.contains(key);
}

void JsonReader::fail(const std::string& key, const std::string& expected) const {
    std::string got = v_.contains(key) ? ", got " + brief(v_.at(key)) : " (missing)";
    throw UsageError(file_ + ": " + child_path(key) + ": expected " + expected + got);
}

void JsonReader::fail_here(const std::string& message) const {
    throw UsageError(file_ + ": " + (path_.empty() ? "/" : path_) + ": " + message);
}

const json& JsonReader::get(const std::string& key) const {
    used_.insert(key);
    return v_.at(key);
}

const json& JsonReader::raw(const std::string& key) const {
    if (!has(key)) fail(key, "a value");
    return get(key);
}

std::string JsonReader::string(const std::string& key) const {
    if (!has(key) || !v_.at(key).is_string()) fail(key, "a string");
    return get(key).get<std::string>();
}
std::string JsonReader::string(const std::string& key, const std::string& fallback) const {
    return has(key) ? string(key) : (used_.insert(key), fallback);
}

std::string JsonReader::choice(const std::string& key, const std::vector<std::string>& options, const std::string& fallback) const {
    std::string v = string(key, fallback);
    for (const auto& o : options)
        if (o == v) return v;
    std::string list;
    for (const auto& o : options) list += (list.empty() ? "" : " | ") + ("\"" + o + "\"");
    fail(key, "one of " + list);
}

double JsonReader::number(const std::string& key) const {
    if (!has(key) || !v_.at(key).is_number()) fail(key, "a number");
    return get(key).get<double>();
}
double JsonReader::number(const std::string& key, double fallback) const { return has(key) ? number(key) : (used_.insert(key), fallback); }
double JsonReader::positive(const std::string& key, double fallback) const {
    double v = number(key, fallback);
    if (!(v > 0.0) || !std::isfinite(v)) fail(key, "a positive number");
    return v;
}

uint64_t JsonReader::count(const std::string& key) const {
    if (!has(key)) fail(key, "a positive integer");
    return count(key, 0, false);
}
uint64_t JsonReader::count(const std::string& key, uint64_t fallback, bool allow_zero, uint64_t max) const {
    if (!has(key)) {
        used_.insert(key);
        return fallback;
    }
    const json& v = get(key);
    bool ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
    std::string expected = allow_zero ? "a non-negative integer" : "a positive integer";
    if (max != UINT64_MAX) expected += " up to " + std::to_string(max);
    if (!ok || (!allow_zero && v.get<uint64_t>() == 0) || v.get<uint64_t>() > max) fail(key, expected);
    return v.get<uint64_t>();
}

bool JsonReader::boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return used_.insert(key), fallback;
    if (!v_.at(key).is_boolean()) fail(key, "true or false");
    return get(key).get<bool>();
}

std::vector<double> JsonReader::numbers(const std::string& key) const {
    if (!has(key) || !v_.at(key).is_array()) fail(key, "an array of numbers");
    std::vector<double> out;
    const json& a = get(key);
    for (size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_number())
            throw UsageError(file_ + ": " + child_path(key) + "/" + std::to_string(i) + ": expected a number, got " + brief(a[i]));
        out.push_back(a[i].get<double>());
    }
    return out;
}

std::vector<std::vector<double>> JsonReader::matrix(const std::string& key) const {
    if (!has(key) || !v_.at(key).is_array()) fail(key, "an array of arrays of numbers");
    std::vector<std::vector<double>> out;
    const json& a = get(key);
    for (size_t i = 0; i < a.size(); ++i) {
        std::string p = child_path(key) + "/" + std::to_string(i);
        if (!a[i].is_array()) throw UsageError(file_ + ": " + p + ": expected an array of numbers, got " + brief(a[i]));
        std::vector<double> row;
        for (size_t j = 0; j < a[i].size(); ++j) {
            if (!a[i][j].is_number())
                throw UsageError(file_ + ": " + p + "/" + std::to_string(j) + ": expected a number, got " + brief(a[i][j]));
            row.push_back(a[i][j].get<double>());
        }
        out.push_back(row);
    }
    return out;
}

std::vector<std::string> JsonReader::strings(const std::string& key) const {
    if (!has(key) || !v_.at(key).is_array()) fail(key, "an array of strings");
    std::vector<std::string> out;
    const json& a = get(key);
    for (size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_string())
            throw UsageError(file_ + ": " + child_path(key) + "/" + std::to_string(i) + ": expected a string, got " + brief(a[i]));
        out.push_back(a[i].get<std::string>());
    }
    return out;
}

JsonReader JsonReader::object(const std::string& key) const {
    if (!has(key) || !v_.at(key).is_object()) fail(key, "an object");
    return JsonReader(get(key), file_, child_path(key));
}

void JsonReader::check_no_unknown_keys() const {
    for (auto it = v_.begin(); it != v_.end(); ++it)
        if (!used_.count(it.key())) {
            std::set<std::string> known_set = used_;
            known_set.insert(asked_.begin(), asked_.end());
            const std::vector<std::string> known(known_set.begin(), known_set.end());
            std::string list;
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            throw UsageError(file_ + ": " + clip(child_path(it.key())) + ": unknown key (expected one of: " + list + ")" +
                             did_you_mean(it.key(), known));
        }
}

}  // namespace simbi::host
