#include "simbi_host/report/report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "simbi_host/core/csv.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/report/svg_plot.hpp"
#include "simbi_host/core/text_file.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

namespace {

using svg::Figure;
using svg::Panel;
using svg::Range;

const char* kBlue = "#1f5fa8";
const char* kOrange = "#d9730d";
const char* kGrey = "#888888";
const char* kRed = "#c0392b";

json read_json_or_null(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return nullptr;
    try {
        return parse_json_strict(read_text_file(path), path);
    } catch (const std::exception&) {
        return nullptr;
    }
}

std::vector<double> numbers(const json& j) {
    std::vector<double> v;
    if (!j.is_array()) return v;
    for (const auto& e : j) v.push_back(e.is_number() ? e.get<double>() : std::nan(""));
    return v;
}

// A result array as the diagnostics write it: {"shape": [...], "values": [...]} with as many values
// as the shape holds, or a scalar; a malformed one is an error naming the file and the result,
// never read past its end.
std::vector<double> values(const json& results, const std::string& name) {
    if (!results.contains(name)) return {};
    const json& r = results[name];
    if (r.is_number()) return {r.get<double>()};
    if (!r.is_object()) throw RunError("result '" + name + "' is neither a number nor an array");
    const json& shape = r.value("shape", json::array());
    std::vector<double> v = numbers(r.value("values", json::array()));
    if (!shape.is_array()) throw RunError("result '" + name + "' has no shape");
    size_t total = 1;
    for (const auto& s : shape) {
        if (!s.is_number_unsigned() || s.get<uint64_t>() > (uint64_t(1) << 32)) throw RunError("result '" + name + "' has a bad shape " + brief(shape));
        total *= s.get<size_t>();
    }
    if (total != v.size())
        throw RunError("result '" + name + "' has shape " + brief(shape) + " but " + std::to_string(v.size()) + " values");
    return v;
}

// values() of several results that must be of one length n >= 1 (optional ones may be absent).
std::vector<std::vector<double>> aligned(const json& results, const std::vector<std::string>& required,
                                         const std::vector<std::string>& optional = {}) {
    std::vector<std::vector<double>> out;
    size_t n = 0;
    for (const auto& name : required) {
        out.push_back(values(results, name));
        if (out.back().empty()) throw RunError("result '" + name + "' is missing or empty");
        if (n && out.back().size() != n)
            throw RunError("results '" + required[0] + "' and '" + name + "' differ in length (" + std::to_string(n) + " and " +
                           std::to_string(out.back().size()) + ")");
        n = out.back().size();
    }
    for (const auto& name : optional) {
        out.push_back(values(results, name));
        if (!out.back().empty() && out.back().size() != n)
            throw RunError("result '" + name + "' has " + std::to_string(out.back().size()) + " values for " + std::to_string(n) + " of '" +
                           required[0] + "'");
    }
    return out;
}

double scalar(const json& results, const std::string& name, double fallback = std::nan("")) {
    auto v = values(results, name);
    return v.empty() ? fallback : v[0];
}

struct Samples {
    std::vector<std::string> names;
    std::vector<std::vector<double>> columns;
};

// The first max_rows rows of a samples CSV (a quoted header row, then numbers), checked: every row
// as wide as the header, every cell a number.
Samples read_samples(const std::string& path, size_t max_rows) {
    Samples s;
    std::ifstream in(path);
    if (!in) return s;
    std::string line;
    if (!std::getline(in, line)) return s;
    s.names = split_csv_line(line, path + ":1");
    s.columns.resize(s.names.size());
    size_t lineno = 1;
    for (size_t row = 0; row < max_rows && std::getline(in, line); ++row) {
        ++lineno;
        const std::string where = path + ":" + std::to_string(lineno);
        const std::vector<std::string> cells = split_csv_line(line, where);
        if (cells.size() != s.names.size())
            throw RunError(where + ": " + std::to_string(cells.size()) + " values in a row under a header of " + std::to_string(s.names.size()) +
                           " names");
        for (size_t j = 0; j < cells.size(); ++j) s.columns[j].push_back(parse_number_strict(cells[j], where + ": column " + std::to_string(j + 1)));
    }
    return s;
}

std::vector<double> edges_of(Range r, int bins) {
    std::vector<double> e(size_t(bins) + 1);
    for (int i = 0; i <= bins; ++i) e[size_t(i)] = r.lo + (r.hi - r.lo) * i / bins;
    return e;
}

std::vector<double> histogram(const std::vector<double>& v, Range r, int bins) {
    std::vector<double> h(size_t(bins), 0.0);
    for (double x : v) {
        if (!(x >= r.lo && x <= r.hi)) continue;
        h[size_t(std::min(bins - 1, int((x - r.lo) / (r.hi - r.lo) * bins)))] += 1;
    }
    return h;
}

// The corner plot: marginal histograms on the diagonal, 2-D histograms below it, the truth
// (when the manifest gives observation.theta) as a cross and a line.
Figure corner_plot(const Samples& s, const std::vector<double>& truth) {
    const size_t d = std::min<size_t>(s.names.size(), 8);
    const double cell = d <= 2 ? 220 : d <= 4 ? 170 : 120, margin = 60;
    Figure f(margin + d * (cell + 12) + 20, margin / 2 + d * (cell + 12) + 40, "corner");
    std::vector<Range> ranges;
    for (size_t j = 0; j < d; ++j) {
        std::vector<double> v = s.columns[j];
        if (j < truth.size()) v.push_back(truth[j]);
        ranges.push_back(Range::of(v, 0.03));
    }
    const int bins = 40;
    for (size_t r = 0; r < d; ++r)
        for (size_t c = 0; c <= r; ++c) {
            const double left = margin + c * (cell + 12), top = 20 + r * (cell + 12);
            const bool bottom = r + 1 == d;
            if (r == c) {
                const std::vector<double> h = histogram(s.columns[c], ranges[c], bins);
                Panel p(left, top, cell, cell, ranges[c], Range{0, *std::max_element(h.begin(), h.end()) * 1.1 + 1e-12});
                p.bars(edges_of(ranges[c], bins), h, kBlue, 0.75);
                if (c < truth.size()) p.vline(truth[c], kRed, "");
                p.axes(bottom ? s.names[c] : "", "", bottom, false);
                if (!bottom) p.title(s.names[c]);
                f.add(p);
            } else {
                const int b2 = 30;
                std::vector<double> counts(size_t(b2 * b2), 0.0);
                const Range xr = ranges[c], yr = ranges[r];
                for (size_t i = 0; i < s.columns[c].size(); ++i) {
                    const double x = s.columns[c][i], y = s.columns[r][i];
                    if (!(x >= xr.lo && x <= xr.hi && y >= yr.lo && y <= yr.hi)) continue;
                    const int ix = std::min(b2 - 1, int((x - xr.lo) / (xr.hi - xr.lo) * b2));
                    const int iy = std::min(b2 - 1, int((y - yr.lo) / (yr.hi - yr.lo) * b2));
                    counts[size_t(iy * b2 + ix)] += 1;
                }
                Panel p(left, top, cell, cell, xr, yr);
                p.cells(edges_of(xr, b2), edges_of(yr, b2), counts, kBlue);
                if (c < truth.size() && r < truth.size()) p.cross(truth[c], truth[r], kRed);
                p.axes(bottom ? s.names[c] : "", c == 0 ? s.names[r] : "", bottom, c == 0);
                f.add(p);
            }
        }
    return f;
}

Figure loss_plot(const json& losses) {
    Figure f(560, 330, "losses");
    std::vector<double> all, epochs;
    auto series = [&](const char* name, std::vector<double>& xs, std::vector<double>& ys) {
        if (!losses.contains(name)) return;
        for (const auto& pt : losses[name])
            if (pt.is_array() && pt.size() == 2 && pt[1].is_number()) {
                xs.push_back(pt[0].get<double>());
                ys.push_back(pt[1].get<double>());
            }
    };
    std::vector<double> tx, ty, vx, vy;
    series("train_loss", tx, ty);
    series("val_loss", vx, vy);
    all = ty;
    all.insert(all.end(), vy.begin(), vy.end());
    epochs = tx;
    epochs.insert(epochs.end(), vx.begin(), vx.end());
    Panel p(70, 30, 460, 240, Range::of(epochs, 0.02), Range::of(all));
    p.line(tx, ty, kBlue);
    p.line(vx, vy, kOrange);
    p.axes("epoch", "loss");
    p.title("training (blue) and validation (orange) loss");
    f.add(p);
    return f;
}

// A calibration curve (coverage or TARP) with its band and the diagonal, from results named
// x, y, and optionally lo and hi, checked to be of one length.
Figure calibration_plot(const std::string& id, const std::string& title, const json& r, const std::vector<std::string>& names,
                        const std::string& x_label, const std::string& y_label) {
    const auto checked = aligned(r, {names[0], names[1]}, {names[2], names[3]});
    const std::vector<double>&x = checked[0], &y = checked[1], &lo = checked[2], &hi = checked[3];
    Figure f(420, 400, id);
    Panel p(70, 30, 320, 300, Range{0, 1}, Range{0, 1});
    if (lo.size() == x.size() && hi.size() == x.size()) p.band(x, lo, hi, kGrey, 0.3);
    p.line({0, 1}, {0, 1}, "#333", 1, "4 3");
    p.line(x, y, kBlue, 2);
    p.points(x, y, kBlue, 2.5);
    p.axes(x_label, y_label);
    p.title(title);
    f.add(p);
    return f;
}

Figure sbc_plot(const json& r, const std::vector<std::string>& names) {
    const std::vector<double> hist = values(r, "histogram");
    const json& shape = r["histogram"].value("shape", json::array());
    if (hist.empty() || shape.size() != 2 || shape[0].get<size_t>() == 0 || shape[1].get<size_t>() == 0 || shape[0].get<size_t>() > 64)
        throw RunError("result 'histogram' must have shape [parameters, bins], not " + brief(shape));
    const size_t d = shape[0].get<size_t>(), B = shape[1].get<size_t>();
    const size_t cols = std::min<size_t>(d, 4), rows = (d + cols - 1) / cols;
    Figure f(40 + cols * 230, 30 + rows * 200, "sbc");
    const double lo = scalar(r, "band_low"), hi = scalar(r, "band_high"), expected = scalar(r, "expected_count");
    const std::vector<double> p_values = values(r, "p_values");
    double top = hi;
    for (double v : hist) top = std::max(top, v);
    for (size_t j = 0; j < d; ++j) {
        const double left = 55 + (j % cols) * 230, y0 = 30 + (j / cols) * 200;
        Panel p(left, y0, 170, 130, Range{0, double(B)}, Range{0, top * 1.1});
        std::vector<double> e(B + 1);
        for (size_t b = 0; b <= B; ++b) e[b] = double(b);
        p.band({0.0, double(B)}, {lo, lo}, {hi, hi}, kGrey, 0.3);
        p.bars(e, std::vector<double>(hist.begin() + long(j * B), hist.begin() + long((j + 1) * B)), kBlue, 0.8);
        p.hline(expected, "#333");
        p.axes("rank bin", j % cols == 0 ? "pairs" : "", true, j % cols == 0);
        char t[160];
        std::snprintf(t, sizeof t, "%s (p = %.3g)", j < names.size() ? names[j].c_str() : ("theta " + std::to_string(j)).c_str(),
                      j < p_values.size() ? p_values[j] : std::nan(""));
        p.title(t);
        f.add(p);
    }
    return f;
}

// Where the observation falls in each output's predictive distribution: its quantile, with the
// central interval the check uses shaded.
Figure ppc_plot(const json& r) {
    const auto checked = aligned(r, {"quantile"}, {"outside"});
    const std::vector<double>&q = checked[0], &outside = checked[1];
    const double level = scalar(r, "level", 0.99);
    const size_t k = std::min<size_t>(q.size(), 40);
    Figure f(520, 90 + 22 * double(k), "ppc");
    Panel p(110, 30, 380, 22 * double(k), Range{0, 1}, Range{0, double(k)});
    p.band({(1 - level) / 2, (1 + level) / 2}, {0, 0}, {double(k), double(k)}, kGrey, 0.25);
    p.vline(0.5, "#333");
    for (size_t i = 0; i < k; ++i) {
        const double y = double(k) - double(i) - 0.5;
        p.points({q[i]}, {y}, i < outside.size() && outside[i] > 0 ? kRed : kBlue, 5);
        p.label(-0.02, y - 0.15, "x[" + std::to_string(i) + "]", "end", 10);
    }
    p.axes("quantile of the observation in its posterior predictive distribution", "", true, false);
    p.title("posterior predictive check");
    f.add(p);
    return f;
}

Figure mode_plot(const json& r) {
    const auto checked = aligned(r, {"n", "distance"});
    const std::vector<double>&n = checked[0], &dist = checked[1];
    std::vector<double> logn;
    for (double v : n) logn.push_back(std::log2(v));
    Figure f(460, 330, "mode_convergence");
    Panel p(70, 30, 360, 240, Range::of(logn, 0.05), Range{0, *std::max_element(dist.begin(), dist.end()) * 1.1 + 1e-9});
    p.line(logn, dist, kBlue, 2);
    p.points(logn, dist, kBlue, 3);
    p.axes("log2 N (i.i.d. observations)", "|MAP - theta*| / prior std");
    p.title("mode convergence");
    f.add(p);
    return f;
}

std::string table_row(const std::string& k, const std::string& v) { return "<tr><th>" + svg::escape(k) + "</th><td>" + svg::escape(v) + "</td></tr>\n"; }

std::string fmt(double v, const char* f = "%.4g") {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

std::string machine() {
    struct utsname u {};
    uname(&u);
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    return std::string(host) + " (" + u.sysname + " " + u.release + " " + u.machine + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores)";
}

}  // namespace

std::vector<std::string> write_report(const std::string& dir) {
    const json manifest = read_json_or_null(dir + "/manifest.json");
    if (manifest.is_null()) throw UsageError(dir + ": not a run folder (no readable manifest.json)");
    const json settings = read_json_or_null(dir + "/settings.json"), summary = read_json_or_null(dir + "/summary.json"),
               losses = read_json_or_null(dir + "/losses.json"), artifact = read_json_or_null(dir + "/artifact/simbi.json");
    std::error_code ec;
    fs::create_directories(dir + "/plots", ec);
    if (ec) throw RunError("cannot create " + dir + "/plots: " + ec.message());

    std::vector<std::string> written;
    std::string sections;
    auto add_figure = [&](const Figure& f, const std::string& caption) {
        const std::string svg = f.svg();
        write_text_atomic(dir + "/plots/" + f.id() + ".svg", svg);
        written.push_back("plots/" + f.id() + ".svg");
        sections += "<figure>" + svg + "<figcaption>" + svg::escape(caption) + "</figcaption></figure>\n";
    };
    std::vector<double> truth;
    if (manifest.contains("observation") && manifest["observation"].contains("theta")) truth = numbers(manifest["observation"]["theta"]);

    const Samples samples = read_samples(dir + "/posterior.csv", 20000);
    if (!samples.names.empty() && !samples.columns[0].empty()) {
        sections += "<h2>Posterior</h2>\n";
        add_figure(corner_plot(samples, truth), "Posterior samples (" + std::to_string(samples.columns[0].size()) + " shown): marginals and pairs" +
                                                    (truth.empty() ? "" : "; the red marks are the true parameters"));
        if (summary.is_object() && summary.contains("parameters")) {
            sections += "<table><tr><th>parameter</th><th>mean</th><th>std</th><th>5%</th><th>50%</th><th>95%</th></tr>\n";
            for (const auto& name : samples.names) {
                const json& p = summary["parameters"].value(name, json::object());
                sections += "<tr><th>" + svg::escape(name) + "</th>";
                for (const char* k : {"mean", "std", "q05", "q50", "q95"}) sections += "<td>" + fmt(p.value(k, std::nan(""))) + "</td>";
                sections += "</tr>\n";
            }
            sections += "</table>\n";
        }
    }
    if (losses.is_object() && losses.contains("train_loss")) {
        sections += "<h2>Training</h2>\n";
        add_figure(loss_plot(losses), "Loss per epoch; training took " + fmt(losses.value("train_seconds", 0.0), "%.1f") + " s");
    }

    // Diagnostics, in the manifest's order, from their own files.
    std::vector<std::pair<std::string, json>> diags;
    if (fs::is_directory(dir + "/diagnostics", ec)) {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(dir + "/diagnostics")) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& p : files) {
            json j = read_json_or_null(p.string());
            if (j.is_object() && j.contains("results")) diags.emplace_back(p.stem().string(), j);
        }
    }
    if (!diags.empty()) sections += "<h2>Diagnostics</h2>\n";
    std::string diag_table;
    for (const auto& [name, j] : diags) try {
        const json& r = j["results"];
        const std::string id = j.value("id", name);
        if (id == "simbi.coverage") {
            add_figure(calibration_plot("coverage", "expected coverage", r, {"levels", "coverage", "band_low", "band_high"}, "credibility level",
                                        "empirical coverage"),
                       std::string("Expected coverage of HPD regions on ") + fmt(scalar(r, "pairs"), "%.0f") + " held-out pairs: " +
                           (scalar(r, "conservative") > 0 ? (scalar(r, "calibrated") > 0 ? "calibrated" : "conservative") : "overconfident") +
                           " (worst gap " + fmt(scalar(r, "worst_gap"), "%+.3f") + "); the band holds " + fmt(100 * scalar(r, "band"), "%.0f") +
                           "% of a calibrated posterior's curves at each level");
        } else if (id == "simbi.sbc") {
            add_figure(sbc_plot(r, samples.names), std::string("SBC rank histograms on ") + fmt(scalar(r, "pairs"), "%.0f") +
                                                       " pairs, with the band of a uniform histogram; ranks " +
                                                       (scalar(r, "uniform") > 0 ? "pass" : "fail") + " the chi-square test");
        } else if (id == "simbi.tarp") {
            add_figure(calibration_plot("tarp", "TARP", r, {"alpha", "ecp", "band_low", "band_high"}, "credibility level",
                                        "expected coverage probability"),
                       "TARP expected coverage probability; largest distance to the diagonal " + fmt(scalar(r, "max_distance"), "%.3f"));
        } else if (id == "simbi.ppc") {
            add_figure(ppc_plot(r), fmt(scalar(r, "flagged"), "%.0f") + " output(s) outside the central " + fmt(100 * scalar(r, "level", 0.99), "%.0f") +
                                        "% predictive interval (red), from " + fmt(scalar(r, "draws"), "%.0f") + " simulations at posterior draws");
        } else if (id == "simbi.mode_convergence") {
            add_figure(mode_plot(r), "Distance of the MAP to the true parameters as i.i.d. observations accrue");
        }
        std::string brief;
        for (const char* k : {"conservative", "calibrated", "worst_gap", "uniform", "min_p_value", "max_distance", "flagged", "balance", "accuracy",
                              "shrinks", "pairs", "invalid_rows", "skipped_pairs"})
            if (r.contains(k) && r[k].is_number()) brief += std::string(brief.empty() ? "" : ", ") + k + " " + fmt(r[k].get<double>());
        diag_table += table_row(name, brief);
    } catch (const std::exception& e) {
        throw RunError(dir + "/diagnostics/" + name + ".json: " + e.what());
    }
    if (!diag_table.empty()) sections += "<table>\n" + diag_table + "</table>\n";

    // Provenance.
    std::string prov;
    if (settings.is_object())
        for (const char* kind : {"simulator", "estimator"})
            if (settings.contains(kind))
                prov += table_row(kind, settings[kind].value("id", "") + " " + settings[kind].value("version", "") + "  sha256 " +
                                            settings[kind].value("sha256", "(not recorded)"));
    for (const auto& [name, j] : diags) prov += table_row("diagnostic", j.value("id", name) + " " + j.value("version", "") + "  seed " + std::to_string(j.value("seed", uint64_t(0))));
    if (artifact.is_object()) {
        const json est = artifact.value("estimator", json::object()), abi = artifact.value("abi", json::object());
        prov += table_row("artifact", est.value("id", "") + " " + est.value("version", "") + ", trained on " +
                                          std::to_string(artifact.value("training_rows", uint64_t(0))) + " rows, fingerprint " +
                                          artifact.value("training_fingerprint", "").substr(0, 16));
        prov += table_row("simbi", artifact.value("simbi_version", "") + " (ABI " + abi.value("major", json(0)).dump() + "." +
                                       abi.value("minor", json(0)).dump() + ")");
    }
    if (manifest.contains("simulation")) prov += table_row("simulation seed", manifest["simulation"].value("seed", json(1)).dump());
    if (settings.is_object() && settings.contains("estimator")) prov += table_row("estimator seed", settings["estimator"].value("seed", json(nullptr)).dump());
    if (manifest.contains("inference")) prov += table_row("inference seed", manifest["inference"].value("seed", json(2)).dump());
    if (summary.is_object()) {
        prov += table_row("simulations", summary.value("simulations", json(0)).dump());
        prov += table_row("training seconds", fmt(summary.value("train_seconds", 0.0), "%.1f"));
    }
    const json isolation = read_json_or_null(dir + "/isolation.json");
    if (isolation.is_object()) prov += table_row("process isolation", isolation.dump());
    prov += table_row("machine", machine());

    const std::string title = "simbi run: " + fs::path(dir).filename().string();
    std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + svg::escape(title) +
                       "</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
                       "figure{margin:1em 0}figcaption{font-size:0.9em;color:#555}table{border-collapse:collapse;margin:0.5em 0}"
                       "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:0.9em}pre{background:#f6f6f6;padding:1em;overflow:auto;"
                       "font-size:0.85em}</style></head>\n<body>\n<h1>" +
                       svg::escape(title) + "</h1>\n";
    if (summary.is_object() && summary.contains("observation"))
        html += "<p>Observation: <code>" + svg::escape(summary["observation"].dump()) + "</code>; estimator <code>" +
                svg::escape(summary.value("estimator", "")) + "</code>.</p>\n";
    html += sections;
    html += "<h2>Provenance</h2>\n<table>\n" + prov + "</table>\n";
    html += "<h2>Manifest</h2>\n<pre>" + svg::escape(manifest.dump(2)) + "</pre>\n";
    if (settings.is_object()) html += "<h2>Settings</h2>\n<pre>" + svg::escape(settings.dump(2)) + "</pre>\n";
    // The one script: counts the plots once the page has rendered, for a browser test to read.
    html += "<script>const n = document.querySelectorAll('svg.plot').length; document.body.dataset.plots = n; "
            "console.log('simbi-report: ' + n + ' plots');</script>\n";
    html += "</body></html>\n";
    write_text_atomic(dir + "/report.html", html);
    written.push_back("report.html");
    return written;
}

}  // namespace simbi::host
