// Strict reading of JSON objects: every error names the file, the JSON path and what was expected,
// and keys nobody asked for are errors (they are usually typos).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace simbi::host {

using json = nlohmann::json;

class JsonReader {
public:
    // file: shown in messages; path: the JSON pointer of this object, "" for the root.
    JsonReader(const json& value, std::string file, std::string path);

    const json& value() const { return v_; }
    const std::string& path() const { return path_; }
    bool has(const std::string& key) const;

    // Throws UsageError "<file>: <path>/<key>: expected <what>, got <value>".
    [[noreturn]] void fail(const std::string& key, const std::string& expected) const;
    [[noreturn]] void fail_here(const std::string& message) const;

    std::string string(const std::string& key) const;
    std::string string(const std::string& key, const std::string& fallback) const;
    std::string choice(const std::string& key, const std::vector<std::string>& options, const std::string& fallback) const;
    double number(const std::string& key) const;
    double number(const std::string& key, double fallback) const;
    double positive(const std::string& key, double fallback) const;
    uint64_t count(const std::string& key) const;  // a positive integer
    // A non-negative (allow_zero) or positive integer, at most `max`.
    uint64_t count(const std::string& key, uint64_t fallback, bool allow_zero = false, uint64_t max = UINT64_MAX) const;
    bool boolean(const std::string& key, bool fallback) const;
    std::vector<double> numbers(const std::string& key) const;
    std::vector<std::vector<double>> matrix(const std::string& key) const;
    std::vector<std::string> strings(const std::string& key) const;
    JsonReader object(const std::string& key) const;
    const json& raw(const std::string& key) const;  // marks used, no type check

    // Whether the key is there, without making it a key this reader knows (for retired keys).
    bool mentions(const std::string& key) const { return v_.contains(key); }

    // Throws for the first key no getter read, listing the keys read or asked about with has(),
    // and the nearest of them to a misspelt one.
    void check_no_unknown_keys() const;
    std::string child_path(const std::string& key) const { return path_ + "/" + key; }
    const std::string& file() const { return file_; }

private:
    const json& get(const std::string& key) const;
    const json& v_;
    std::string file_, path_;
    mutable std::set<std::string> used_, asked_;
};

// A short rendering of a JSON value for messages.
std::string brief(const json& v);
// text cut to about `limit` characters, with the cut said, for echoing user input in messages.
std::string clip(const std::string& text, size_t limit = 200);

// The deepest nesting of objects and arrays a simbi document may have.
constexpr int kMaxJsonDepth = 64;

// Parses JSON strictly: a duplicate key in one object, nesting deeper than kMaxJsonDepth, or
// malformed text throws UsageError naming `what` (a file, or "--set a.b") and the JSON path.
json parse_json_strict(const std::string& text, const std::string& what);

}  // namespace simbi::host
