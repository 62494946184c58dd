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
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/report/figures.hpp"
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
            throw RunError(where + ": " + std::to_string(cells.size()) + " values in a row under a header of " +
                           std::to_string(s.names.size()) + " names");
        for (size_t j = 0; j < cells.size(); ++j)
            s.columns[j].push_back(parse_number_strict(cells[j], where + ": column " + std::to_string(j + 1)));
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

std::string table_row(const std::string& k, const std::string& v) {
    return "<tr><th>" + svg::escape(k) + "</th><td>" + svg::escape(v) + "</td></tr>\n";
}

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
    return std::string(host) + " (" + u.sysname + " " + u.release + " " + u.machine + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) +
           " cores)";
}

}  // namespace

std::vector<std::string> write_report(const std::string& dir) {
    const json manifest = read_json_or_null(dir + "/manifest.json");
    if (manifest.is_null()) throw UsageError(dir + ": not a run folder (no readable manifest.json)");
    const json settings = read_json_or_null(dir + "/settings.json"), summary = read_json_or_null(dir + "/summary.json"),
               losses = read_json_or_null(dir + "/losses.json"), artifact = read_json_or_null(dir + "/artifact/simbi.json");
    std::error_code ec;
    make_folder(dir + "/plots");

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

    const json simulation = read_json_or_null(dir + "/simulation.json");
    if (simulation.is_object()) {
        auto count = [&](const char* key) {
            const json& v = simulation.value(key, json());
            return v.is_number_unsigned() ? std::to_string(v.get<uint64_t>()) : std::string("?");
        };
        sections += "<h2>Simulation</h2>\n<p>" + count("simulated") + " simulated, " + count("invalid") + " invalid, " + count("dropped") +
                    " dropped, " + count("kept") + " kept</p>\n";
        if (simulation.contains("warning") && simulation["warning"].is_string())
            sections +=
                "<p class=\"warning\"><strong>Warning:</strong> " + svg::escape(simulation["warning"].get<std::string>()) + "</p>\n";
    }

    const Samples samples = read_samples(dir + "/posterior.csv", 20000);
    if (!samples.names.empty() && !samples.columns[0].empty()) {
        sections += "<h2>Posterior</h2>\n";
        add_figure(corner_plot(samples, truth), "Posterior samples (" + std::to_string(samples.columns[0].size()) +
                                                    " shown): marginals and pairs" +
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
    // A result as it reports itself: its headline and figures when its plugin gives them
    // (simbi/ext/diagnostic_report.h), else its scalar results.
    auto add_reported = [&](const std::string& name, const json& j, const std::string& file) {
        const json& report = j.value("report", json::object());
        check_diagnostic_report(report, file);
        sections += "<h3>" + svg::escape(j.value("id", name)) + "</h3>\n";
        const json& headline = report.value("headline", json::object());
        std::string line;
        for (const auto& nv : headline.value("numbers", json::array()))
            line += (line.empty() ? "" : ", ") + nv[0].get<std::string>() + " " + (nv[1].is_number() ? fmt(nv[1].get<double>()) : "n/a");
        if (headline.contains("verdict") && !headline["verdict"].get<std::string>().empty())
            sections += "<p class=\"verdict\"><strong>" + svg::escape(headline["verdict"].get<std::string>()) + "</strong>" +
                        (line.empty() ? "" : ": " + svg::escape(line)) + "</p>\n";
        else if (!line.empty())
            sections += "<p>" + svg::escape(line) + "</p>\n";
        const json& figures = report.value("figures", json::array());
        for (size_t i = 0; i < figures.size(); ++i) {
            const std::string id = name + (figures.size() > 1 ? "-" + std::to_string(i + 1) : "");
            std::string svg_text;
            sections += render_figure(figures[i], id, &svg_text);
            if (!svg_text.empty()) {
                write_text_atomic(dir + "/plots/" + id + ".svg", svg_text);
                written.push_back("plots/" + id + ".svg");
            }
        }
        if (report.empty()) {
            std::string results;
            for (auto it = j["results"].begin(); it != j["results"].end(); ++it)
                if (it.value().is_number()) results += table_row(it.key(), fmt(it.value().get<double>()));
            if (!results.empty()) sections += "<table>\n" + results + "</table>\n";
        }
    };
    for (const auto& [name, j] : diags) add_reported(name, j, dir + "/diagnostics/" + name + ".json");
    const json assimilation = read_json_or_null(dir + "/assimilation.json");
    if (assimilation.is_object() && assimilation.contains("results")) {
        sections += "<h2>Data assimilation</h2>\n";
        add_reported("assimilation", assimilation, dir + "/assimilation.json");
    }

    // Provenance.
    std::string prov;
    if (settings.is_object())
        for (const char* kind : {"simulator", "estimator", "assimilator"})
            if (settings.contains(kind))
                prov += table_row(kind, settings[kind].value("id", "") + " " + settings[kind].value("version", "") + "  sha256 " +
                                            settings[kind].value("sha256", "(not recorded)"));
    for (const auto& [name, j] : diags)
        prov += table_row("diagnostic",
                          j.value("id", name) + " " + j.value("version", "") + "  seed " + std::to_string(j.value("seed", uint64_t(0))));
    if (artifact.is_object()) {
        const json est = artifact.value("estimator", json::object()), abi = artifact.value("abi", json::object());
        prov += table_row("artifact", est.value("id", "") + " " + est.value("version", "") + ", trained on " +
                                          std::to_string(artifact.value("training_rows", uint64_t(0))) + " rows, fingerprint " +
                                          artifact.value("training_fingerprint", "").substr(0, 16));
        prov += table_row("simbi", artifact.value("simbi_version", "") + " (ABI " + abi.value("major", json(0)).dump() + "." +
                                       abi.value("minor", json(0)).dump() + ")");
    }
    if (manifest.contains("simulation")) prov += table_row("simulation seed", manifest["simulation"].value("seed", json(1)).dump());
    if (settings.is_object() && settings.contains("estimator"))
        prov += table_row("estimator seed", settings["estimator"].value("seed", json(nullptr)).dump());
    if (manifest.contains("inference")) prov += table_row("inference seed", manifest["inference"].value("seed", json(2)).dump());
    if (summary.is_object()) {
        prov += table_row("simulations", summary.value("simulations", json(0)).dump());
        prov += table_row("training seconds", fmt(summary.value("train_seconds", 0.0), "%.1f"));
    }
    const json isolation = read_json_or_null(dir + "/isolation.json");
    if (isolation.is_object()) prov += table_row("process isolation", isolation.dump());
    prov += table_row("machine", machine());

    const std::string title = "simbi run: " + fs::path(dir).filename().string();
    std::string html =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + svg::escape(title) +
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
    html +=
        "<script>const n = document.querySelectorAll('svg.plot').length; document.body.dataset.plots = n; "
        "console.log('simbi-report: ' + n + ' plots');</script>\n";
    html += "</body></html>\n";
    write_text_atomic(dir + "/report.html", html);
    written.push_back("report.html");
    return written;
}

}  // namespace simbi::host
