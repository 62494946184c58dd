#include "simbi_host/report/figures.hpp"

#include <algorithm>
#include <cmath>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/report/svg_plot.hpp"

namespace simbi::host {
namespace {

using svg::Panel;
using svg::Range;

const char* kBlue = "#1f5fa8";
const char* kGrey = "#888888";
const char* kRed = "#c0392b";
constexpr size_t kMaxValues = size_t(1) << 20;
constexpr size_t kMaxFigures = 64;

// Numbers of an array member, null as NaN; the member must be an array of numbers or nulls.
std::vector<double> numbers(const json& f, const char* key) {
    std::vector<double> v;
    if (!f.contains(key)) return v;
    const json& a = f[key];
    if (!a.is_array()) throw RunError(std::string("'") + key + "' is not an array");
    if (a.size() > kMaxValues) throw RunError(std::string("'") + key + "' holds more than 2^20 values");
    for (const auto& e : a) {
        if (!e.is_number() && !e.is_null()) throw RunError(std::string("'") + key + "' holds " + brief(e) + ", not a number");
        v.push_back(e.is_number() ? e.get<double>() : std::nan(""));
    }
    return v;
}

std::string text(const json& f, const char* key) {
    if (!f.contains(key)) return "";
    if (!f[key].is_string()) throw RunError(std::string("'") + key + "' is not a string");
    return f[key].get<std::string>();
}

double number(const json& f, const char* key, double fallback) {
    if (!f.contains(key)) return fallback;
    if (!f[key].is_number()) throw RunError(std::string("'") + key + "' is not a number");
    return f[key].get<double>();
}

void same_length(const json& f, const char* a, const char* b, bool required) {
    const size_t na = numbers(f, a).size();
    if (!f.contains(b)) {
        if (required) throw RunError(std::string("'") + b + "' is missing");
        return;
    }
    if (numbers(f, b).size() != na)
        throw RunError(std::string("'") + a + "' and '" + b + "' differ in length (" + std::to_string(na) + " and " +
                       std::to_string(numbers(f, b).size()) + ")");
}

void pair_member(const json& f, const char* key) {
    if (f.contains(key) && numbers(f, key).size() != 2) throw RunError(std::string("'") + key + "' must be [lo, hi]");
}

void check_figure(const json& f) {
    if (!f.is_object()) throw RunError("not an object");
    const std::string kind = text(f, "kind");
    for (const char* key : {"title", "caption", "x_label", "y_label"}) text(f, key);
    if (kind == "curve" || kind == "points") {
        if (!f.contains("x") || numbers(f, "x").empty()) throw RunError("'x' is missing or empty");
        same_length(f, "x", "y", true);
        if (kind == "curve") {
            same_length(f, "x", "low", false);
            same_length(f, "x", "high", false);
            if (f.contains("low") != f.contains("high")) throw RunError("a band needs both 'low' and 'high'");
            pair_member(f, "x_range");
            pair_member(f, "y_range");
            if (f.contains("diagonal") && !f["diagonal"].is_boolean()) throw RunError("'diagonal' is not true or false");
            for (const char* overlay : {"marks", "reference"}) {
                if (!f.contains(overlay)) continue;
                const json& o = f[overlay];
                if (!o.is_object() || !o.contains("x") || !o.contains("y"))
                    throw RunError(std::string("'") + overlay + "' must be {\"x\": [...], \"y\": [...]}");
                same_length(o, "x", "y", true);
            }
        } else {
            same_length(f, "x", "flagged", false);
            pair_member(f, "x_band");
            number(f, "x_line", 0);
            if (f.contains("labels")) {
                if (!f["labels"].is_array() || f["labels"].size() != numbers(f, "x").size())
                    throw RunError("'labels' must hold one string a point");
                for (const auto& l : f["labels"])
                    if (!l.is_string()) throw RunError("'labels' holds " + brief(l) + ", not a string");
            }
        }
    } else if (kind == "histogram") {
        const size_t n = numbers(f, "counts").size();
        if (n == 0) throw RunError("'counts' is missing or empty");
        if (f.contains("edges") && numbers(f, "edges").size() != n + 1)
            throw RunError("'edges' must hold one more value than 'counts' (" + std::to_string(n + 1) + "), not " +
                           std::to_string(numbers(f, "edges").size()));
        pair_member(f, "band");
        number(f, "expected", 0);
    } else if (kind == "table") {
        if (!f.contains("columns") || !f["columns"].is_array() || f["columns"].empty()) throw RunError("'columns' is missing or empty");
        for (const auto& c : f["columns"])
            if (!c.is_string()) throw RunError("'columns' holds " + brief(c) + ", not a string");
        if (!f.contains("rows") || !f["rows"].is_array()) throw RunError("'rows' is missing");
        if (f["rows"].size() > 10000) throw RunError("more than 10000 rows");
        for (const auto& r : f["rows"]) {
            if (!r.is_array() || r.size() != f["columns"].size())
                throw RunError("a row of " + std::to_string(r.is_array() ? r.size() : 0) + " cells under " +
                               std::to_string(f["columns"].size()) + " columns");
            for (const auto& c : r)
                if (!c.is_string() && !c.is_number() && !c.is_null()) throw RunError("a cell holds " + brief(c));
        }
    } else {
        throw RunError("unknown kind '" + clip(kind, 40) + "' (expected curve, histogram, points or table)");
    }
}

std::string table_html(const json& f) {
    std::string h = "<table><tr>";
    for (const auto& c : f["columns"]) h += "<th>" + svg::escape(c.get<std::string>()) + "</th>";
    h += "</tr>\n";
    for (const auto& r : f["rows"]) {
        h += "<tr>";
        for (const auto& c : r)
            h += "<td>" +
                 svg::escape(c.is_string() ? c.get<std::string>()
                             : c.is_null() ? ""
                                           : svg::format_number(c.get<double>())) +
                 "</td>";
        h += "</tr>\n";
    }
    return h + "</table>\n";
}

Range range_or(const json& f, const char* key, std::vector<double> values, double pad) {
    if (f.contains(key)) {
        const std::vector<double> r = numbers(f, key);
        if (std::isfinite(r[0]) && std::isfinite(r[1]) && r[1] > r[0]) return {r[0], r[1]};
    }
    return Range::of(values, pad);
}

svg::Figure curve(const json& f, const std::string& id) {
    const std::vector<double> x = numbers(f, "x"), y = numbers(f, "y"), lo = numbers(f, "low"), hi = numbers(f, "high");
    const bool diagonal = f.value("diagonal", false);
    const json none = json::object();
    const json &marks = f.value("marks", none), &reference = f.value("reference", none);
    const std::vector<double> mx = numbers(marks, "x"), my = numbers(marks, "y"), rx = numbers(reference, "x"),
                              ry = numbers(reference, "y");
    std::vector<double> ys = y;
    for (const auto* more : {&lo, &hi, &my, &ry}) ys.insert(ys.end(), more->begin(), more->end());
    if (diagonal) ys.insert(ys.end(), x.begin(), x.end());
    svg::Figure fig(440, 400, id);
    const Range xr = range_or(f, "x_range", x, 0.03), yr = range_or(f, "y_range", ys, 0.05);
    Panel p(70, 30, 340, 300, xr, yr);
    if (!lo.empty()) p.band(x, lo, hi, kGrey, 0.3);
    if (diagonal) p.line({xr.lo, xr.hi}, {xr.lo, xr.hi}, "#333", 1, "4 3");
    if (!rx.empty()) p.line(rx, ry, "#333", 1, "4 3");
    p.line(x, y, kBlue, 2);
    if (x.size() <= 200) p.points(x, y, kBlue, 2.5);
    if (!mx.empty()) p.points(mx, my, kRed, 2.5);
    p.axes(text(f, "x_label"), text(f, "y_label"));
    p.title(text(f, "title"));
    fig.add(p);
    return fig;
}

svg::Figure histogram(const json& f, const std::string& id) {
    const std::vector<double> counts = numbers(f, "counts");
    std::vector<double> edges = numbers(f, "edges");
    if (edges.empty())
        for (size_t i = 0; i <= counts.size(); ++i) edges.push_back(double(i));
    double top = 0;
    for (double c : counts)
        if (std::isfinite(c)) top = std::max(top, c);
    std::vector<double> band = numbers(f, "band");
    if (!band.empty() && std::isfinite(band[1])) top = std::max(top, band[1]);
    const double expected = number(f, "expected", std::nan(""));
    if (std::isfinite(expected)) top = std::max(top, expected);
    svg::Figure fig(360, 280, id);
    Panel p(60, 30, 270, 200, Range{edges.front(), edges.back()}, Range{0, top * 1.1 + 1e-12});
    if (!band.empty()) p.band({edges.front(), edges.back()}, {band[0], band[0]}, {band[1], band[1]}, kGrey, 0.3);
    p.bars(edges, counts, kBlue, 0.8);
    if (std::isfinite(expected)) p.hline(expected, "#333");
    p.axes(text(f, "x_label"), text(f, "y_label"));
    p.title(text(f, "title"));
    fig.add(p);
    return fig;
}

svg::Figure points(const json& f, const std::string& id) {
    const std::vector<double> x = numbers(f, "x"), y = numbers(f, "y"), flagged = numbers(f, "flagged"), x_band = numbers(f, "x_band");
    const bool labelled = f.contains("labels");
    const double height = std::min(600.0, std::max(240.0, labelled ? 22.0 * double(x.size()) : 240.0));
    svg::Figure fig(labelled ? 540 : 440, height + 90, id);
    std::vector<double> xs = x;
    xs.insert(xs.end(), x_band.begin(), x_band.end());
    const Range xr = Range::of(xs, 0.05);
    Range yr = Range::of(y, 0.08);
    if (labelled) {  // rows of labelled points, one unit apart
        const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
        yr = Range{*lo - 0.5, *hi + 0.5};
    }
    Panel p(labelled ? 120 : 70, 30, labelled ? 380 : 340, height, xr, yr);
    if (!x_band.empty()) p.band({x_band[0], x_band[1]}, {yr.lo, yr.lo}, {yr.hi, yr.hi}, kGrey, 0.25);
    if (f.contains("x_line")) p.vline(number(f, "x_line", 0), "#333");
    for (size_t i = 0; i < x.size(); ++i) {
        p.points({x[i]}, {y[i]}, i < flagged.size() && flagged[i] != 0 ? kRed : kBlue, labelled ? 5 : 3);
        if (labelled) p.label(xr.lo - 0.02 * (xr.hi - xr.lo), y[i] - 0.15, f["labels"][i].get<std::string>(), "end", 10);
    }
    p.axes(text(f, "x_label"), labelled ? "" : text(f, "y_label"), true, !labelled);
    p.title(text(f, "title"));
    fig.add(p);
    return fig;
}

}  // namespace

void check_diagnostic_report(const json& report, const std::string& where) {
    if (!report.is_object()) throw RunError(where + ": the report is not a JSON object");
    if (report.empty()) return;
    for (auto it = report.begin(); it != report.end(); ++it)
        if (it.key() != "headline" && it.key() != "figures" && it.key() != "booleans")
            throw RunError(where + ": the report has an unknown member '" + clip(it.key(), 40) + "'");
    if (report.contains("booleans")) {
        const json& b = report["booleans"];
        if (!b.is_array()) throw RunError(where + ": \"booleans\" must be an array of result names");
        for (const auto& name : b)
            if (!name.is_string()) throw RunError(where + ": \"booleans\" must be an array of result names");
    }
    if (report.contains("headline")) {
        const json& h = report["headline"];
        if (!h.is_object() || !h.value("verdict", json("")).is_string() || !h.value("numbers", json::array()).is_array())
            throw RunError(where + ": the headline must be {\"verdict\": a string, \"numbers\": [[name, number], ...]}");
        for (const auto& v : h.value("numbers", json::array()))
            if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !(v[1].is_number() || v[1].is_null()))
                throw RunError(where + ": the headline's numbers hold " + brief(v) + ", not [name, number]");
    }
    const json& figures = report.value("figures", json::array());
    if (!figures.is_array()) throw RunError(where + ": 'figures' is not an array");
    if (figures.size() > kMaxFigures) throw RunError(where + ": more than 64 figures");
    for (size_t i = 0; i < figures.size(); ++i) {
        try {
            check_figure(figures[i]);
        } catch (const RunError& e) {
            throw RunError(where + ": figure " + std::to_string(i) + " (" +
                           (figures[i].is_object() ? figures[i].value("kind", json("?")).dump() : "?") + "): " + e.what());
        }
    }
}

std::string render_figure(const json& f, const std::string& id, std::string* svg_out) {
    const std::string kind = f.value("kind", "");
    std::string caption = text(f, "caption");
    if (kind == "table") {
        if (svg_out) svg_out->clear();
        return (f.contains("title") ? "<h4>" + svg::escape(text(f, "title")) + "</h4>\n" : "") + table_html(f) +
               (caption.empty() ? "" : "<p>" + svg::escape(caption) + "</p>\n");
    }
    const svg::Figure fig = kind == "curve" ? curve(f, id) : kind == "histogram" ? histogram(f, id) : points(f, id);
    const std::string s = fig.svg();
    if (svg_out) *svg_out = s;
    return "<figure>" + s + "<figcaption>" + svg::escape(caption) + "</figcaption></figure>\n";
}

}  // namespace simbi::host
