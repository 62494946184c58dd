#include "simbi_host/json_reader.hpp"

#include <cmath>

#include "simbi_host/errors.hpp"

namespace simbi::host {

std::string brief(const json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

JsonReader::JsonReader(const json& value, std::string file, std::string path)
    : v_(value), file_(std::move(file)), path_(std::move(path)) {
    if (!v_.is_object())
        throw UsageError(file_ + ": " + (path_.empty() ? "/" : path_) + ": expected an object, got " + brief(v_));
}

bool JsonReader::has(const std::string& key) const { return v_.contains(key); }

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
double JsonReader::number(const std::string& key, double fallback) const {
    return has(key) ? number(key) : (used_.insert(key), fallback);
}
double JsonReader::positive(const std::string& key, double fallback) const {
    double v = number(key, fallback);
    if (!(v > 0.0) || !std::isfinite(v)) fail(key, "a positive number");
    return v;
}

uint64_t JsonReader::count(const std::string& key) const {
    if (!has(key)) fail(key, "a positive integer");
    return count(key, 0, false);
}
uint64_t JsonReader::count(const std::string& key, uint64_t fallback, bool allow_zero) const {
    if (!has(key)) {
        used_.insert(key);
        return fallback;
    }
    const json& v = get(key);
    bool ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
    if (!ok || (!allow_zero && v.get<uint64_t>() == 0))
        fail(key, allow_zero ? "a non-negative integer" : "a positive integer");
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
            std::string known;
            for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
            throw UsageError(file_ + ": " + child_path(it.key()) + ": unknown key (expected one of: " + known + ")");
        }
}

}  // namespace simbi::host
