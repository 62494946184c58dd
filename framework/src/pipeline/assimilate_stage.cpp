// The assimilate stage: the assimilator learns the simulated trajectories (or is loaded from an
// earlier run of the same setup), draws trajectories given the observed entries, and writes them
// with a summary and the report's figures.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/pipeline/round_service.hpp"
#include "simbi_host/pipeline/stages.hpp"
#include "simbi_host/plugins/assimilator_instance.hpp"
#include "simbi_host/store/artifact.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The trained assimilator kept in <output>/assimilator: the plugin's files and simbi.json, whose
// fingerprint names the data and the setup it was trained on.
struct KeptAssimilator {
    std::string dir, fingerprint;
    json record;
};

KeptAssimilator kept_in(const std::string& dir) {
    KeptAssimilator k{dir, "", nullptr};
    std::error_code ec;
    if (!fs::exists(dir + "/simbi.json", ec)) return k;
    try {
        k.record = parse_json_strict(read_text_file(dir + "/simbi.json"), dir + "/simbi.json");
        k.fingerprint = k.record.value("fingerprint", "");
    } catch (const std::exception&) {
        k.fingerprint = "unreadable";
    }
    return k;
}

// Mean, and mean -+ 2 standard deviations, of component c over the draws [n, length, D].
struct Band {
    std::vector<double> mean, low, high;
};
Band band_of(const std::vector<double>& x, uint64_t n, uint64_t length, uint64_t d, uint64_t c) {
    Band b;
    for (uint64_t t = 0; t < length; ++t) {
        double s = 0, s2 = 0;
        for (uint64_t i = 0; i < n; ++i) {
            const double v = x[(i * length + t) * d + c];
            s += v;
            s2 += v * v;
        }
        const double m = s / double(n), sd = n > 1 ? std::sqrt(std::max(0.0, (s2 - double(n) * m * m) / double(n - 1))) : 0.0;
        b.mean.push_back(m);
        b.low.push_back(m - 2 * sd);
        b.high.push_back(m + 2 * sd);
    }
    return b;
}

// RMS of (y - x[index]) / sigma over the observed entries, for one trajectory or their mean.
double misfit(const std::vector<double>& flat, const AssimilationPart& a) {
    if (a.index.empty()) return 0;
    double s = 0;
    for (size_t j = 0; j < a.index.size(); ++j) s += std::pow((a.settings.y[j] - flat[a.index[j]]) / a.settings.sigma, 2);
    return std::sqrt(s / double(a.index.size()));
}

json summary_of(const AssimilationPart& a, const std::vector<double>& x, uint64_t n) {
    const uint64_t length = a.settings.length, d = a.state_dim, per = length * d;
    std::vector<double> mean(per, 0.0);
    for (uint64_t i = 0; i < n; ++i)
        for (uint64_t j = 0; j < per; ++j) mean[j] += x[i * per + j] / double(n);
    double sd_sum = 0, draws_misfit = 0;
    for (uint64_t j = 0; j < per; ++j) {
        double v = 0;
        for (uint64_t i = 0; i < n; ++i) v += std::pow(x[i * per + j] - mean[j], 2);
        sd_sum += n > 1 ? std::sqrt(v / double(n - 1)) : 0.0;
    }
    for (uint64_t i = 0; i < n; ++i) {
        const std::vector<double> one(x.begin() + long(i * per), x.begin() + long((i + 1) * per));
        draws_misfit += std::pow(misfit(one, a), 2) / double(n);
    }
    json s = {{"trajectories", n},
              {"length", length},
              {"state_dim", d},
              {"observed_values", a.index.size()},
              {"mean_posterior_sd", sd_sum / double(per)},
              {"observation_misfit_rms_sigmas", a.index.empty() ? json(nullptr) : json(misfit(mean, a))},
              {"draws_misfit_rms_sigmas", a.index.empty() ? json(nullptr) : json(std::sqrt(draws_misfit))}};
    if (!a.settings.truth.empty()) {
        double e = 0;
        for (uint64_t j = 0; j < per; ++j) e += std::pow(mean[j] - a.settings.truth[j], 2);
        s["rmse_to_truth"] = std::sqrt(e / double(per));
    }
    return s;
}

// The report: a verdict on the fit to the observations, and per component the posterior mean
// with its band, the observations and the truth when known.
json report_of(const AssimilationPart& a, const std::vector<double>& x, uint64_t n, const json& summary) {
    const uint64_t length = a.settings.length, d = a.state_dim;
    json numbers = json::array({json::array({"misfit of the mean (noise SDs)", summary["observation_misfit_rms_sigmas"]}),
                                json::array({"mean posterior SD", summary["mean_posterior_sd"]})});
    if (summary.contains("rmse_to_truth")) numbers.push_back({"RMSE to the truth", summary["rmse_to_truth"]});
    const json m = summary["observation_misfit_rms_sigmas"];
    const std::string verdict = m.is_null()            ? "prior trajectories (nothing observed)"
                                : m.get<double>() <= 3 ? "fits the observations"
                                                       : "misses the observations";
    json figures = json::array();
    std::vector<double> time(length);
    for (uint64_t t = 0; t < length; ++t) time[t] = double(t);
    for (uint64_t c = 0; c < std::min<uint64_t>(d, 8); ++c) {
        const Band b = band_of(x, n, length, d, c);
        json fig = {{"kind", "curve"},
                    {"title", "component " + std::to_string(c)},
                    {"x", time},
                    {"y", b.mean},
                    {"low", b.low},
                    {"high", b.high},
                    {"x_label", "time step"},
                    {"y_label", "x" + std::to_string(c)},
                    {"caption", "posterior mean and mean -+ 2 SD of " + std::to_string(n) + " trajectories; red: observations" +
                                    std::string(a.settings.truth.empty() ? "" : "; dashed: the truth")}};
        json mx = json::array(), my = json::array();
        for (size_t j = 0; j < a.index.size(); ++j)
            if (a.index[j] % d == c) {
                mx.push_back(double(a.index[j] / d));
                my.push_back(a.settings.y[j]);
            }
        if (!mx.empty()) fig["marks"] = {{"x", mx}, {"y", my}};
        if (!a.settings.truth.empty()) {
            std::vector<double> truth(length);
            for (uint64_t t = 0; t < length; ++t) truth[t] = a.settings.truth[t * d + c];
            fig["reference"] = {{"x", time}, {"y", truth}};
        }
        figures.push_back(fig);
    }
    return {{"headline", {{"verdict", verdict}, {"numbers", numbers}}}, {"figures", figures}};
}

void write_trajectories(const std::string& path, const std::vector<double>& x, uint64_t n, uint64_t length, uint64_t d) {
    std::vector<std::string> names = {"trajectory", "time"};
    for (uint64_t c = 0; c < d; ++c) names.push_back("x" + std::to_string(c));
    std::vector<double> rows;
    rows.reserve(n * length * (d + 2));
    for (uint64_t i = 0; i < n; ++i)
        for (uint64_t t = 0; t < length; ++t) {
            rows.insert(rows.end(), {double(i), double(t)});
            for (uint64_t c = 0; c < d; ++c) rows.push_back(x[(i * length + t) * d + c]);
        }
    write_samples_csv(path, names, rows);
}

}  // namespace

std::vector<std::string> run_assimilation(const RunPlan& plan, const SimulateResult& simulation, HostServices& host,
                                          const RunOptions& options) {
    const AssimilationPart& a = *plan.assimilation;
    std::unique_ptr<DatasetReader> store = open_training_store(simulation.store, *plan.simulation.simulator);
    const std::string fingerprint = sha256_hex(json{{"data", store->checksum()}, {"assimilator", plan.assimilation_key()}}.dump());
    const std::string dir = plan.output + "/assimilator";
    AssimilatorInstance assimilator(*a.assimilator, a.assimilator.config, host);
    const auto t0 = Clock::now();
    const KeptAssimilator kept = kept_in(dir);
    bool reused = false;
    double train_s = 0;
    bool damaged = kept.fingerprint == "unreadable";
    if (damaged) std::fprintf(stderr, "warning: not reusing %s (its simbi.json is unreadable); training anew\n", dir.c_str());
    if (!kept.fingerprint.empty() && kept.fingerprint == fingerprint) {
        try {
            assimilator.load(dir);
            reused = true;
            if (!options.quiet)
                std::fprintf(stderr, "assimilate: up to date, %s was trained on the same data with the same settings\n", dir.c_str());
        } catch (const std::exception& e) {
            // Its own setup, unreadable files: training again loses nothing that could be used.
            damaged = true;
            std::fprintf(stderr, "warning: not reusing %s (%s); training anew\n", dir.c_str(), e.what());
        }
    }
    if (!reused) {
        if (!kept.fingerprint.empty() && !damaged && !options.force)
            throw RunError(dir +
                           " holds an assimilator of another setup (other data, assimilator or settings); it and its run are kept. "
                           "Pass --out DIR to write this run elsewhere, or --force to replace it");
        make_folder(plan.output + "/checkpoint");
        {
            PluginActivity activity("assimilator '" + a.assimilator->id + "' training");
            assimilator.train(*store, a.state_dim, a.steps, a.settings.training, plan.output + "/checkpoint/" + fingerprint.substr(0, 16),
                              a.settings.seed);
        }
        train_s = seconds_since(t0);
        // Saved beside the old one, then swapped in: a kill leaves one whole assimilator or the other.
        const std::string fresh = dir + ".new", old = dir + ".old";
        std::error_code ec;
        fs::remove_all(fresh, ec);
        make_folder(fresh);
        assimilator.save(fresh);
        write_text_atomic(
            fresh + "/simbi.json",
            json{{"fingerprint", fingerprint},
                 {"assimilator", {{"id", a.assimilator->id}, {"version", a.assimilator->version}, {"sha256", a.assimilator.sha256}}},
                 {"training_rows", store->rows()},
                 {"train_seconds", train_s}}
                    .dump(2) +
                "\n");
        fs::remove_all(old, ec);
        if (fs::exists(dir, ec)) fs::rename(dir, old, ec);
        if (ec) throw RunError("cannot move the previous assimilator aside: " + ec.message());
        fs::rename(fresh, dir, ec);
        if (ec) throw RunError("cannot rename " + fresh + " to " + dir + ": " + ec.message());
        fs::remove_all(old, ec);
        if (!options.quiet)
            std::fprintf(stderr, "assimilate: trained '%s' on %llu trajectories in %.1f s\n", a.assimilator->id.c_str(),
                         (unsigned long long)store->rows(), train_s);
    }

    ObservedEntries obs;
    obs.length = a.settings.length;
    obs.state_dim = a.state_dim;
    obs.index = a.index;
    obs.y = a.settings.y;
    obs.sigma = a.settings.sigma;
    const uint64_t n = a.settings.trajectories;
    const auto t1 = Clock::now();
    std::vector<double> x;
    {
        PluginActivity activity("assimilator '" + a.assimilator->id + "' sampling");
        x = assimilator.sample(obs, n, a.settings.posterior_seed);
    }
    const double sample_s = seconds_since(t1);
    for (double v : x)
        if (!std::isfinite(v)) throw RunError("assimilator '" + a.assimilator->id + "' drew non-finite states; nothing written");

    json summary = summary_of(a, x, n);
    summary["assimilator"] = a.assimilator->id;
    summary["simulator"] = plan.simulation.simulator->id;
    summary["training_trajectories"] = store->rows();
    summary["assimilator_reused"] = reused;
    summary["seconds"] = {{"train", train_s}, {"sample", sample_s}};
    write_trajectories(plan.output + "/trajectories.csv", x, n, a.settings.length, a.state_dim);
    write_text_atomic(plan.output + "/summary.json", summary.dump(2) + "\n");
    write_text_atomic(
        plan.output + "/assimilation.json",
        json{{"id", a.assimilator->id}, {"version", a.assimilator->version}, {"results", summary}, {"report", report_of(a, x, n, summary)}}
                .dump(2) +
            "\n");
    // An exact posterior's mean misses the observations by less than their noise (RMS); far more
    // says the training or the sampler failed, whatever the exit code.
    const json m = summary["observation_misfit_rms_sigmas"];
    if (m.is_number() && m.get<double>() > 3)
        std::fprintf(stderr,
                     "warning: the posterior mean misses the observations by %.3g noise standard deviations (RMS); the assimilator may be "
                     "undertrained (more simulations or epochs) or its sampler too coarse\n",
                     m.get<double>());
    return {"trajectories.csv", "summary.json", "assimilation.json"};
}

}  // namespace simbi::host
