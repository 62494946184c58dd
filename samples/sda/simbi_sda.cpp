// simbi_sda: score-based data assimilation (Rozet & Louppe 2023; plugins/neural/sda.hpp) driven by
// a manifest. A simulator plugin whose output is a trajectory ([D, T]: D series of T states)
// supplies the training windows; the manifest gives the observation operator (which components,
// every how many states), its noise and the observed values, and the posterior trajectories are
// written as CSV beside a JSON summary.
//
// usage: simbi_sda MANIFEST [--plugin-path DIR]...
// Exit codes as simbi's: 2 for a bad command line or manifest, 1 for a run that failed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "neural/sda.hpp"
#include "simbi_host/store/artifact.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/pipeline/manifest.hpp"
#include "simbi_host/plugins/plugin_settings.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/pipeline/simulation_engine.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"
#include "simbi_host/core/text_file.hpp"

namespace fs = std::filesystem;
using namespace simbi::host;
using simbi::nn::Tensor;

namespace {

// Every row at one theta: the chain's parameters are fixed, only its noise varies.
class PointPrior : public Prior {
public:
    explicit PointPrior(std::vector<double> theta) : theta_(std::move(theta)) {
        lower_ = upper_ = theta_;
        spec_ = {{"type", "point"}, {"theta", theta_}};
    }
    void sample(simbi_rng&, double* theta) const override { std::copy(theta_.begin(), theta_.end(), theta); }
    double log_prob(const double*) const override { return 0; }

private:
    std::vector<double> theta_;
};

// An inline array of numbers, or the name of a CSV file with a header row (as simbi's
// observation files), relative to the manifest, read row by row.
std::vector<double> numbers_or_file(const JsonReader& r, const std::string& key, const fs::path& base) {
    if (!r.raw(key).is_string()) return r.numbers(key);
    std::vector<double> out;
    for (const auto& row : read_csv_rows((base / r.string(key)).string())) out.insert(out.end(), row.begin(), row.end());
    return out;
}

struct Run {
    std::string simulator_id;
    json simulator_config = json::object();
    std::vector<double> theta;
    uint64_t simulations = 0, seed = 1;
    int64_t epochs = 0, batch = 0;
    double learning_rate = 1e-3;
    simbi::nn::SdaSettings sda;
    std::vector<int64_t> components;
    int64_t every = 1, first = 0, length = 0, trajectories = 0;
    double sigma = 0;
    std::vector<double> y, truth;
    uint64_t posterior_seed = 1;
    fs::path output;
};

Run read_manifest(const fs::path& file, const json& doc, std::vector<std::string>& plugin_paths) {
    Run run;
    const fs::path base = file.parent_path();
    JsonReader root(doc, file.string(), "");
    // The format's version, so that a later format can tell its manifests from these.
    if (!root.has("simbi_sda") || root.number("simbi_sda") != 1) root.fail("simbi_sda", "the simbi_sda manifest format version, 1");
    for (const auto& p : root.has("plugin_paths") ? root.strings("plugin_paths") : std::vector<std::string>{})
        plugin_paths.push_back(fs::absolute(base / p).string());
    {
        JsonReader s = root.object("simulator");
        run.simulator_id = s.string("id");
        if (s.has("config")) {
            run.simulator_config = s.raw("config");
            if (!run.simulator_config.is_object()) s.fail("config", "an object");
        }
        run.theta = s.numbers("theta");
        s.check_no_unknown_keys();
    }
    {
        JsonReader t = root.object("training");
        run.simulations = t.count("simulations");
        run.epochs = int64_t(t.count("epochs", 40, false, 100000));
        run.batch = int64_t(t.count("batch", 1024, false, 1 << 20));
        run.learning_rate = t.positive("learning_rate", 1e-3);
        run.sda.linear_decay = t.boolean("linear_decay", false);
        run.sda.weight_decay = t.number("weight_decay", 0);
        if (!(run.sda.weight_decay >= 0)) t.fail("weight_decay", "a number >= 0");
        run.seed = t.count("seed", 1);
        t.check_no_unknown_keys();
    }
    if (root.has("score")) {
        JsonReader s = root.object("score");
        run.sda.k = int64_t(s.count("k", 2, false, 64));
        run.sda.network = s.choice("network", {"mlp", "resmlp"}, run.sda.network);
        if (s.has("hidden")) {
            run.sda.hidden.clear();
            for (double w : s.numbers("hidden")) {
                if (!(w >= 1 && w <= 65536 && w == std::floor(w))) s.fail("hidden", "widths, integers from 1 to 65536");
                run.sda.hidden.push_back(int64_t(w));
            }
            if (run.sda.hidden.empty()) s.fail("hidden", "at least one width");
        }
        run.sda.time_sampling = s.choice("time_sampling", {"mixed", "log_snr", "uniform"}, run.sda.time_sampling);
        s.check_no_unknown_keys();
    }
    {
        JsonReader o = root.object("observation");
        for (double c : o.numbers("components")) {
            if (!(c >= 0 && c == std::floor(c) && c < 1e6)) o.fail("components", "state components, integers from 0");
            run.components.push_back(int64_t(c));
        }
        if (run.components.empty()) o.fail("components", "at least one component");
        run.every = int64_t(o.count("every", 1));
        run.first = int64_t(o.count("first", 0, true));
        run.sigma = o.number("sigma");
        if (!(run.sigma > 0 && std::isfinite(run.sigma))) o.fail("sigma", "the observation noise's standard deviation, a positive number");
        run.y = numbers_or_file(o, "y", base);
        o.check_no_unknown_keys();
    }
    {
        JsonReader p = root.object("posterior");
        run.length = int64_t(p.count("length"));
        if (run.length > (1 << 20)) p.fail("length", "at most 1048576 states");
        run.trajectories = int64_t(p.count("trajectories", 8, false, 1 << 16));
        run.posterior_seed = p.count("seed", 1);
        run.sda.sampler = p.choice("sampler", {"sde", "ddim"}, run.sda.sampler);
        run.sda.steps = int64_t(p.count("steps", uint64_t(run.sda.steps), false, 100000));
        run.sda.corrections = int64_t(p.count("corrections", uint64_t(run.sda.corrections), true, 1000));
        run.sda.guidance = p.choice("guidance", {"sda", "dps"}, run.sda.guidance);
        run.sda.gamma = p.number("gamma", run.sda.gamma);
        if (!(run.sda.gamma >= 0)) p.fail("gamma", "a number >= 0");
        run.sda.tau = p.positive("tau", run.sda.tau);
        run.sda.snr = p.positive("snr", run.sda.snr);
        run.sda.eta = p.number("eta", run.sda.eta);
        if (!(run.sda.eta >= 0 && run.sda.eta <= 1)) p.fail("eta", "a number from 0 to 1");
        run.sda.zeta = p.positive("zeta", run.sda.zeta);
        if (p.has("truth")) run.truth = numbers_or_file(p, "truth", base);
        p.check_no_unknown_keys();
    }
    run.output = base / root.string("output");
    root.check_no_unknown_keys();
    return run;
}

// Windows [N, 2k + 1, D] of the simulator's trajectories at theta.
Tensor simulate_windows(const Run& run, const PluginInfo& info, const HostServices& host, int64_t d, int64_t steps, uint64_t& invalid) {
    SimulatorInstances sims(info, run.simulator_config.dump(), host, 1);
    PointPrior prior(run.theta);
    EngineOptions eo;
    eo.seed = run.seed;
    SimulationEngine engine(prior, sims, eo);
    const ChunkRows rows = engine.run(0, run.simulations);
    invalid = rows.invalid;
    if (rows.kept == 0) throw RunError("simulator '" + info.id + "' gave no valid trajectory in " + std::to_string(run.simulations) + " simulations");
    // x is [D, T] per row (D series of T states): as states [rows, T, D].
    const Tensor x = torch::from_blob(const_cast<double*>(rows.x.data()), {int64_t(rows.kept), d, steps}, torch::kFloat64).clone().transpose(1, 2);
    const int64_t w = 2 * run.sda.k + 1;
    return x.unfold(1, w, 1).permute({0, 1, 3, 2}).reshape({-1, w, d}).contiguous();
}

void write_outputs(const Run& run, const Tensor& x, const json& summary) {
    fs::create_directories(run.output);
    const int64_t d = x.size(2);
    std::vector<std::string> names = {"trajectory", "time"};
    for (int64_t c = 0; c < d; ++c) names.push_back("x" + std::to_string(c));
    std::vector<double> rows;
    rows.reserve(size_t(x.size(0) * x.size(1) * (d + 2)));
    auto a = x.accessor<float, 3>();
    for (int64_t n = 0; n < x.size(0); ++n)
        for (int64_t t = 0; t < x.size(1); ++t) {
            rows.insert(rows.end(), {double(n), double(t)});
            for (int64_t c = 0; c < d; ++c) rows.push_back(double(a[n][t][c]));
        }
    write_samples_csv((run.output / "posterior.csv").string(), names, rows);
    write_text_atomic((run.output / "summary.json").string(), summary.dump(2) + "\n");
}

int run_sda(const fs::path& file, const std::vector<std::string>& extra_paths) {
    std::string text;
    try {
        text = read_text_file(file.string());
    } catch (const RunError& e) {
        throw UsageError(std::string(e.what()) + " (the manifest)");
    }
    const json doc = parse_json_strict(text, file.string());
    if (!doc.is_object()) throw UsageError(file.string() + ": expected a JSON object");
    RegistryOptions ro;
    for (const auto& p : extra_paths) ro.first_paths.push_back(fs::absolute(p).string());
    Run run = read_manifest(file, doc, ro.first_paths);
    PluginRegistry registry(ro);
    const PluginInfo& info = registry.find(run.simulator_id, SIMBI_KIND_SIMULATOR);
    if (info.output_shape.size() != 2)
        throw UsageError(file.string() + ": simulator '" + info.id + "' does not declare its output as a trajectory (shape [D, T], D series of T states)");
    check_plugin_config(info, run.simulator_config, file.string(), "/simulator/config");
    if (run.theta.size() != info.param_names.size())
        throw UsageError(file.string() + ": /simulator/theta has " + std::to_string(run.theta.size()) + " values; '" + info.id + "' takes " +
                         std::to_string(info.param_names.size()));
    const int64_t d = int64_t(info.output_shape[0]), steps = int64_t(info.output_shape[1]), w = 2 * run.sda.k + 1;
    if (steps < w)
        throw UsageError(file.string() + ": /score/k = " + std::to_string(run.sda.k) + " needs trajectories of at least " + std::to_string(w) + " states; '" +
                         info.id + "' gives " + std::to_string(steps));
    if (run.length < w) throw UsageError(file.string() + ": /posterior/length must be at least 2k + 1 = " + std::to_string(w));
    // The observation operator: the listed components at times first, first + every, ... < length.
    simbi::nn::Observation obs;
    obs.sigma = run.sigma;
    for (int64_t c : run.components)
        if (c >= d) throw UsageError(file.string() + ": /observation/components names component " + std::to_string(c) + "; the state has " + std::to_string(d));
    for (int64_t t = run.first; t < run.length; t += run.every)
        for (int64_t c : run.components) obs.index.push_back(t * d + c);
    if (run.y.size() != obs.index.size())
        throw UsageError(file.string() + ": /observation/y has " + std::to_string(run.y.size()) + " values; the operator observes " +
                         std::to_string(obs.index.size()) + " (components x times " + std::to_string(run.first) + ", " +
                         std::to_string(run.first + run.every) + ", ... below " + std::to_string(run.length) + ")");
    if (!run.truth.empty() && run.truth.size() != size_t(run.length * d))
        throw UsageError(file.string() + ": /posterior/truth has " + std::to_string(run.truth.size()) + " values, not length x D = " +
                         std::to_string(run.length * d));
    obs.y = torch::tensor(std::vector<float>(run.y.begin(), run.y.end()));

    HostServices host;
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    simbi::nn::TrajectoryScore sda(d, run.sda);
    // The score trained by an earlier run of the same simulator (and its version), training and
    // score sections is reused: a killed run loses no training once it is saved, and new observations need none.
    const json trained_on = {{"simulator", doc.at("simulator")}, {"simulator_version", info.version}, {"training", doc.at("training")},
                             {"score", doc.value("score", json::object())}};
    const fs::path score_dir = run.output / "score";
    json record;
    if (fs::exists(score_dir / "score.json")) {
        try {
            record = sda.load(score_dir.string());
            if (record.value("trained_on", json()) != trained_on) {
                record = json();
                std::fprintf(stderr, "simbi_sda: the saved score was trained on other settings; training anew\n");
            } else {
                std::fprintf(stderr, "simbi_sda: reusing the score trained by an earlier run: %s\n", score_dir.string().c_str());
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "simbi_sda: not reusing %s: %s; training anew\n", score_dir.string().c_str(), e.what());
            record = json();
        }
    }
    const auto t1 = Clock::now();
    const bool record_reused = !record.is_null();
    if (record.is_null()) {
        uint64_t invalid = 0;
        const Tensor windows = simulate_windows(run, info, host, d, steps, invalid);
        std::fprintf(stderr, "simbi_sda: %lld windows of %lld states from %llu simulations of '%s' (%llu invalid, dropped)\n", (long long)windows.size(0),
                     (long long)w, (unsigned long long)run.simulations, info.id.c_str(), (unsigned long long)invalid);
        const double loss = sda.train(windows, run.epochs, run.batch, run.learning_rate, run.seed);
        std::fprintf(stderr, "simbi_sda: trained %lld epochs, loss %.4f, %.0f s\n", (long long)run.epochs, loss, std::chrono::duration<double>(Clock::now() - t1).count());
        record = {{"trained_on", trained_on}, {"windows", windows.size(0)}, {"invalid_simulations", invalid}, {"training_loss", loss}};
        sda.save(score_dir.string(), record);
    }
    const auto t2 = Clock::now();
    // No observed value (first beyond the trajectory): prior trajectories.
    const bool observed = !obs.index.empty();
    const Tensor x = sda.sample(run.trajectories, run.length, observed ? &obs : nullptr, run.posterior_seed).contiguous();
    const auto t3 = Clock::now();
    if (!torch::isfinite(x).all().item<bool>()) throw RunError("the posterior trajectories hold non-finite values (the sampler diverged); nothing written");

    // How well the posterior mean, and the draws, explain the observations, in units of their
    // noise (RMS). The truth's misfit is about 1, and so is exact posterior draws' (in a
    // linear-Gaussian model exactly 1 on average over the data); draws well above 1 fit the data
    // worse than the truth does.
    const Tensor mean = x.mean(0);
    auto misfit_of = [&](const Tensor& rows) {  // rows [B, L, D]
        const Tensor at = rows.reshape({rows.size(0), -1}).index_select(1, torch::tensor(obs.index, torch::kLong));
        return ((at - obs.y.unsqueeze(0)) / run.sigma).pow(2).mean().sqrt().item<double>();
    };
    const double misfit = observed ? misfit_of(mean.unsqueeze(0)) : 0.0, draw_misfit = observed ? misfit_of(x) : 0.0;
    json summary = {{"simulator", info.id},
                    {"windows", record.at("windows")},
                    {"invalid_simulations", record.at("invalid_simulations")},
                    {"training_loss", record.at("training_loss")},
                    {"score", (score_dir / "score.json").string()},
                    {"score_reused", record_reused},
                    {"observed_values", obs.index.size()},
                    {"posterior_trajectories", run.trajectories},
                    {"length", run.length},
                    {"mean_posterior_sd", x.std(0).mean().item<double>()},
                    {"observation_misfit_rms_sigmas", observed ? json(misfit) : json(nullptr)},
                    {"draws_misfit_rms_sigmas", observed ? json(draw_misfit) : json(nullptr)},
                    {"seconds", {{"simulate_and_train", record_reused ? 0.0 : std::chrono::duration<double>(t2 - t1).count()},
                                 {"load", std::chrono::duration<double>(t1 - t0).count()},
                                 {"sample", std::chrono::duration<double>(t3 - t2).count()}}}};
    if (!run.truth.empty()) {
        const Tensor truth = torch::tensor(std::vector<float>(run.truth.begin(), run.truth.end())).reshape({run.length, d});
        summary["rmse_to_truth"] = (mean - truth).pow(2).mean().sqrt().item<double>();
    }
    write_outputs(run, x, summary);
    // An exact posterior's mean misses the observations by less than their noise (RMS); far more
    // says the score or the sampler failed, whatever the exit code.
    if (observed && misfit > 3)
        std::fprintf(stderr, "simbi_sda: warning: the posterior mean misses the observations by %.3g noise standard deviations (RMS); "
                             "the score may be undertrained (more simulations or epochs) or the sampler too coarse (steps, corrections)\n", misfit);
    std::printf("%s", summary.dump(2).c_str());
    std::printf("\nposterior trajectories: %s\n", (run.output / "posterior.csv").string().c_str());
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> paths;
    std::string manifest;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--plugin-path" && i + 1 < argc) paths.push_back(argv[++i]);
        else if (a == "-h" || a == "--help") {
            std::printf("usage: simbi_sda MANIFEST [--plugin-path DIR]...\n");
            return kExitOk;
        } else if (manifest.empty() && a.rfind("-", 0) != 0) manifest = a;
        else {
            std::fprintf(stderr, "simbi_sda: unexpected argument '%s'\nusage: simbi_sda MANIFEST [--plugin-path DIR]...\n", a.c_str());
            return kExitUsage;
        }
    }
    if (manifest.empty()) {
        std::fprintf(stderr, "usage: simbi_sda MANIFEST [--plugin-path DIR]...\n");
        return kExitUsage;
    }
    try {
        return run_sda(manifest, paths);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "simbi_sda: %s\n", e.what());
        return kExitUsage;
    } catch (const std::invalid_argument& e) {  // settings the neural library rejects
        std::fprintf(stderr, "simbi_sda: %s: %s\n", manifest.c_str(), e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "simbi_sda: %s\n", e.what());
        return kExitRunFailed;
    }
}
