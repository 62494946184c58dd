// simbi/report.hpp: a diagnostic's report in C++ (the extension in simbi/ext/diagnostic_report.h):
// a verdict, a few named numbers, and figures of the kinds the host draws. A diagnostic fills it
// in run() through DiagnosticContext::report():
//
//     ctx.report().verdict("calibrated").number("worst gap", gap).figure(
//         simbi::Figure::curve(levels, coverage).band(low, high).diagonal().labels("level", "coverage"));
//
// Header-only, no JSON library: Report::json() writes the text the host reads.
#ifndef SIMBI_REPORT_HPP
#define SIMBI_REPORT_HPP

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "config.hpp"

namespace simbi {

namespace detail {
inline std::string json_number(double v) { return std::isfinite(v) ? number_text(v) : "null"; }
inline std::string json_numbers(const std::vector<double>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_number(v[i]);
    return out + "]";
}
}  // namespace detail

// One figure: a curve (with an optional band), a histogram, points, or a table.
class Figure {
public:
    static Figure curve(const std::vector<double>& x, const std::vector<double>& y) {
        return Figure("curve").set("x", detail::json_numbers(x)).set("y", detail::json_numbers(y));
    }
    static Figure histogram(const std::vector<double>& counts) { return Figure("histogram").set("counts", detail::json_numbers(counts)); }
    static Figure points(const std::vector<double>& x, const std::vector<double>& y) {
        return Figure("points").set("x", detail::json_numbers(x)).set("y", detail::json_numbers(y));
    }
    static Figure table(const std::vector<std::string>& columns) {
        std::string c = "[";
        for (size_t i = 0; i < columns.size(); ++i) c += (i ? "," : "") + detail::quote(columns[i]);
        return Figure("table").set("columns", c + "]");
    }

    Figure& title(const std::string& t) { return set("title", detail::quote(t)); }
    Figure& caption(const std::string& t) { return set("caption", detail::quote(t)); }
    Figure& labels(const std::string& x, const std::string& y) { return set("x_label", detail::quote(x)).set("y_label", detail::quote(y)); }
    // curve
    Figure& band(const std::vector<double>& low, const std::vector<double>& high) {
        return set("low", detail::json_numbers(low)).set("high", detail::json_numbers(high));
    }
    Figure& diagonal() { return set("diagonal", "true"); }
    Figure& x_range(double lo, double hi) { return set("x_range", detail::json_numbers({lo, hi})); }
    Figure& y_range(double lo, double hi) { return set("y_range", detail::json_numbers({lo, hi})); }
    // histogram
    Figure& edges(const std::vector<double>& e) { return set("edges", detail::json_numbers(e)); }
    Figure& horizontal_band(double lo, double hi) { return set("band", detail::json_numbers({lo, hi})); }
    Figure& expected(double height) { return set("expected", detail::json_number(height)); }
    // points
    Figure& point_labels(const std::vector<std::string>& labels) {
        std::string l = "[";
        for (size_t i = 0; i < labels.size(); ++i) l += (i ? "," : "") + detail::quote(labels[i]);
        return set("labels", l + "]");
    }
    Figure& flagged(const std::vector<double>& flags) { return set("flagged", detail::json_numbers(flags)); }
    Figure& x_band(double lo, double hi) { return set("x_band", detail::json_numbers({lo, hi})); }
    Figure& x_line(double x) { return set("x_line", detail::json_number(x)); }
    // table: one row of cells, each a number or a string
    Figure& row(const std::vector<std::pair<bool, std::string>>& cells) {
        std::string r = "[";
        for (size_t i = 0; i < cells.size(); ++i) r += (i ? "," : "") + (cells[i].first ? cells[i].second : detail::quote(cells[i].second));
        rows_.push_back(r + "]");
        return *this;
    }
    static std::pair<bool, std::string> cell(double v) { return {true, detail::json_number(v)}; }
    static std::pair<bool, std::string> cell(const std::string& s) { return {false, s}; }

    std::string json() const {
        std::string out = "{\"kind\":" + detail::quote(kind_);
        for (const auto& m : members_) out += "," + detail::quote(m.first) + ":" + m.second;
        if (kind_ == "table") {
            out += ",\"rows\":[";
            for (size_t i = 0; i < rows_.size(); ++i) out += (i ? "," : "") + rows_[i];
            out += "]";
        }
        return out + "}";
    }

private:
    explicit Figure(std::string kind) : kind_(std::move(kind)) {}
    Figure& set(const std::string& key, const std::string& value) {
        for (auto& m : members_)
            if (m.first == key) {
                m.second = value;
                return *this;
            }
        members_.emplace_back(key, value);
        return *this;
    }
    std::string kind_;
    std::vector<std::pair<std::string, std::string>> members_;
    std::vector<std::string> rows_;
};

// A diagnostic's report: the headline (a verdict and named numbers) and its figures.
class Report {
public:
    Report& verdict(const std::string& v) {
        verdict_ = v;
        return *this;
    }
    Report& number(const std::string& name, double value) {
        numbers_.emplace_back(name, value);
        return *this;
    }
    Report& figure(const Figure& f) {
        figures_.push_back(f.json());
        return *this;
    }
    // A result put as 0 or 1 that means false or true: the host records it as a JSON boolean.
    Report& boolean(const std::string& name) {
        booleans_.push_back(name);
        return *this;
    }
    void clear() { *this = Report(); }
    bool empty() const { return verdict_.empty() && numbers_.empty() && figures_.empty() && booleans_.empty(); }

    std::string json() const {
        std::string out = "{\"headline\":{\"verdict\":" + detail::quote(verdict_) + ",\"numbers\":[";
        for (size_t i = 0; i < numbers_.size(); ++i)
            out += std::string(i ? "," : "") + "[" + detail::quote(numbers_[i].first) + "," + detail::json_number(numbers_[i].second) + "]";
        out += "]},\"figures\":[";
        for (size_t i = 0; i < figures_.size(); ++i) out += (i ? "," : "") + figures_[i];
        out += "]";
        if (!booleans_.empty()) {
            out += ",\"booleans\":[";
            for (size_t i = 0; i < booleans_.size(); ++i) out += (i ? "," : "") + detail::quote(booleans_[i]);
            out += "]";
        }
        return out + "}";
    }

private:
    std::string verdict_;
    std::vector<std::pair<std::string, double>> numbers_;
    std::vector<std::string> figures_;
    std::vector<std::string> booleans_;
};

}  // namespace simbi

#endif
