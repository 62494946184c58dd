// Accuracy against sbibm's reference posteriors: C2ST for each task, method and budget, next to
// sbibm's published mean (Lueckmann et al. 2021; ../shared/targets.md, section 1).
//
// usage: bench_sbibm [--ref DIR] [--tasks a,b] [--methods npe,nre,bnre,nle] [--budgets 1000,10000]
//                    [--obs 1-5] [--samples 10000] [--max-seconds S] [--work DIR] [--config JSON]
//                    [--training JSON] [--timing-only 1] [--amortized 1] [--per-obs 1] [--replicate R]
// --timing-only trains at the baseline's batch of 256, one marginal pair per joint pair and one
// classifier (no NRE ensemble).
// As in sbibm, each observation gets its own run: its own simulations (seed 1000 + budget + 97 obs)
// and its own training (seed 7 + obs), so the mean over observations also averages over runs.
// --replicate R shifts every seed, so repeated cells measure the mean's run-to-run spread.
// --per-obs 1 prints each observation's C2ST and the best validation loss of its training.
// --amortized 1 simulates and trains once per (task, budget, method) and samples at every
// observation: faster, but one training's luck then moves every observation's C2ST together.
// A full sweep takes long: run it in the background.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "neural/neural.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/manifest.hpp"
#include "simbi_host/pipeline/pipeline.hpp"
#include "simbi_host/pipeline/simulate_stage.hpp"
#include "simbi_host/plugins/plugin_settings.hpp"

namespace fs = std::filesystem;
using namespace simbi::host;
using Clock = std::chrono::steady_clock;

namespace {

// sbibm's C2ST means over observations 1-10 for budgets 10^3 / 10^4 / 10^5
// (sbi-benchmark/results, main_paper.csv; gaussian_mixture from the v1.1.0 rerun).
const std::map<std::string, std::map<std::string, std::vector<double>>> kSbibm = {
    {"gaussian_linear", {{"npe", {.694, .552, .506}}, {"nre", {.672, .560, .536}}, {"nle", {.650, .555, .515}}}},
    {"two_moons", {{"npe", {.725, .606, .542}}, {"nre", {.822, .761, .629}}, {"nle", {.773, .713, .668}}}},
    {"slcp", {{"npe", {.975, .901, .831}}, {"nre", {.972, .947, .919}}, {"nle", {.946, .771, .699}}}},
    {"gaussian_mixture", {{"npe", {.716, .615, .548}}, {"nre", {.777, .748, .735}}, {"nle", {.812, .731, .757}}}},
    {"bernoulli_glm", {{"npe", {.863, .678, .559}}, {"nre", {.899, .812, .751}}, {"nle", {.740, .605, .545}}}},
    {"sir", {{"npe", {.815, .680, .585}}, {"nre", {.841, .770, .690}}, {"nle", {.761, .748, .730}}}},
    {"lotka_volterra", {{"npe", {.999, .997, .981}}, {"nre", {1.00, .998, .996}}, {"nle", {.994, .956, .952}}}},
};

// The Python baseline measured on this kind of machine (../shared/targets.md, section 3: lampe
// and zuko on torch 1.13.1): C2ST, seconds per epoch, and seconds for 10,000 posterior samples.
struct Baseline {
    double c2st, s_per_epoch, sample_s;
};
const std::map<std::string, Baseline> kBaseline = {
    {"two_moons/npe/1000", {0.703, 0.073, 0.26}},  {"two_moons/npe/10000", {0.558, 0.420, 0.22}},
    {"two_moons/nre/1000", {0.791, 0.0089, 0.77}}, {"two_moons/nre/10000", {0.724, 0.122, 0.55}},
    {"slcp/npe/1000", {0.954, 0.097, 1.10}},       {"slcp/npe/10000", {0.869, 0.570, 0.90}},
    {"slcp/nre/1000", {0.973, 0.013, 0.63}},       {"slcp/nre/10000", {0.917, 0.068, 0.59}},
    {"two_moons/npe/100000", {0.522, 6.29, 0.14}}, {"two_moons/nre/100000", {0.546, 1.02, 0.63}},
    {"slcp/npe/100000", {0.685, 5.17, 0.95}},      {"slcp/nre/100000", {0.801, 0.76, 0.56}},
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(item);
    return out;
}

double sbibm_value(const std::string& task, const std::string& method, uint64_t budget) {
    auto t = kSbibm.find(task);
    if (t == kSbibm.end()) return NAN;
    auto m = t->second.find(method == "bnre" ? "nre" : (method == "bnpe" || method == "fmpe" || method == "npse") ? "npe" : method);
    if (m == t->second.end()) return NAN;
    int idx = budget == 1000 ? 0 : budget == 10000 ? 1 : budget == 100000 ? 2 : -1;
    return idx < 0 ? NAN : m->second[size_t(idx)];
}

torch::Tensor csv_tensor(const std::string& path) {
    auto rows = read_csv_rows(path);
    std::vector<double> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    return torch::tensor(flat, torch::kFloat64).view({int64_t(rows.size()), int64_t(rows[0].size())});
}

}  // namespace

int run(int argc, char** argv) {
    std::string ref = "../shared/sbibm", work = "bench-sbibm-work";
    std::vector<std::string> tasks = {"two_moons", "slcp", "gaussian_linear", "gaussian_mixture"}, methods = {"npe", "nre", "bnre", "nle"};
    std::vector<uint64_t> budgets = {1000, 10000};
    int obs_lo = 1, obs_hi = 5;
    uint64_t samples = 10000;
    double max_seconds = 1800;
    json config = json::object();    // estimator config, e.g. '{"bounds": "none"}'; keys a method lacks are ignored
    bool timing_only = false;        // train only: seconds per epoch, no sampling or C2ST
    bool amortized = false;          // one run per (task, budget, method) instead of one per observation
    bool per_obs = false;            // also print each observation's C2ST (to stderr)
    uint64_t replicate = 0;          // > 0: other simulation and training seeds, to measure a cell's run-to-run spread
    json training = json::object();  // training settings, e.g. sbi's '{"batch_size": 50, "learning_rate": 0.0005}'
    const char* usage =
        "usage: bench_sbibm [--ref DIR] [--tasks a,b] [--methods npe,nre,bnre,nle] [--budgets 1000,10000]\n"
        "                   [--obs 1-5] [--samples 10000] [--max-seconds S] [--work DIR] [--config JSON]\n"
        "                   [--training JSON] [--timing-only 1] [--amortized 1] [--per-obs 1] [--replicate R]\n";
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
            std::fputs(usage, stdout);
            return 0;
        }
    if (argc % 2 == 0) {
        std::fprintf(stderr, "option %s needs a value\n%s", argv[argc - 1], usage);
        return 2;
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--ref")
            ref = v;
        else if (k == "--tasks")
            tasks = split(v);
        else if (k == "--methods")
            methods = split(v);
        else if (k == "--budgets") {
            budgets.clear();
            for (auto& b : split(v)) budgets.push_back(std::stoull(b));
        } else if (k == "--obs") {
            auto dash = v.find('-');
            obs_lo = std::stoi(v.substr(0, dash));
            obs_hi = dash == std::string::npos ? obs_lo : std::stoi(v.substr(dash + 1));
        } else if (k == "--samples")
            samples = std::stoull(v);
        else if (k == "--max-seconds")
            max_seconds = std::stod(v);
        else if (k == "--work")
            work = v;
        else if (k == "--config")
            config = json::parse(v);
        else if (k == "--training")
            training = json::parse(v);
        else if (k == "--timing-only")
            timing_only = v == "1";
        else if (k == "--amortized")
            amortized = v == "1";
        else if (k == "--per-obs")
            per_obs = v == "1";
        else if (k == "--replicate")
            replicate = std::stoull(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if (timing_only) {
        // Seconds per epoch compare with the baseline at its batch (256), its single marginal pair
        // per joint pair and its one classifier without dropout, unless the command line says otherwise.
        if (!training.contains("batch_size")) training["batch_size"] = 256;
        if (!config.contains("negatives")) config["negatives"] = 1;
        if (!config.contains("ensemble")) config["ensemble"] = 1;  // the baseline trains one classifier
        if (!config.contains("dropout")) config["dropout"] = 0;    // and no dropout (NRE's small-data default)
        amortized = true;                                          // no sampling, so one training per cell is all a timing needs
    }
    // Replicate R moves the simulation seeds by 100003 R and the training and sampling seeds by 1009 R.
    const uint64_t sim_shift = 100003 * replicate, run_shift = 1009 * replicate;
    fs::create_directories(work);
    RegistryOptions ro;
    PluginRegistry registry(ro);
    HostServices host;
    host.set_quiet(true);
    simbi::nn::ThreadScope one_thread(1);

    std::printf("%-17s %-6s %7s %6s %6s %6s %8s %6s %8s %8s %6s %8s %8s\n", "task", "method", "budget", "C2ST", "sbibm", "base", "train s",
                "epochs", "s/epoch", "base s/e", "ratio", "sample s", "base smp");
    std::fflush(stdout);
    for (const auto& task : tasks) {
        for (uint64_t budget : budgets) {
            const PluginInfo& sim = registry.find("sbibm." + task);
            // Run r simulates its own store; r = 0 is the amortized protocol's one run.
            auto simulate = [&](int r) {
                const std::string stem = work + "/" + task + "-" + std::to_string(budget) + (r ? "-obs" + std::to_string(r) : "") +
                                         (replicate ? "-rep" + std::to_string(replicate) : "");
                json mj = {{"simbi", 1},
                           {"simulator", {{"id", "sbibm." + task}}},
                           {"simulation",
                            {{"budget", budget},
                             {"seed", 1000 + budget + 97 * uint64_t(r) + sim_shift},
                             {"store", fs::absolute(stem + ".h5").string()},
                             {"invalid", "resample"}}}};
                std::FILE* f = std::fopen((stem + ".json").c_str(), "w");
                std::fputs(mj.dump().c_str(), f);
                std::fclose(f);
                Manifest m = load_manifest(stem + ".json");
                SimulateOptions so;
                so.quiet = true;
                run_simulation(plan_simulation(m, registry), host, so);
                return std::make_pair(m, stem + ".h5");
            };
            std::vector<int> runs;
            if (amortized)
                runs.push_back(0);
            else
                for (int o = obs_lo; o <= obs_hi; ++o) runs.push_back(o);
            std::vector<std::pair<Manifest, std::string>> stores;
            for (int r : runs) stores.push_back(simulate(r));
            for (const auto& method : methods) {
                const PluginInfo& info = registry.find("simbi." + method);
                json schema = schema_properties(info.config_schema_json), cfg = json::object();
                for (auto it = config.begin(); it != config.end(); ++it)
                    if (schema.contains(it.key())) cfg[it.key()] = it.value();
                double train_s = 0, c2st_sum = 0, sample_s = 0;
                size_t epochs = 0;
                int count = 0;
                for (size_t r = 0; r < runs.size(); ++r) {
                    HostServices run_host;
                    run_host.set_quiet(true);
                    DatasetReader data(stores[r].second);
                    auto prior = plan_simulation(stores[r].first, registry).prior;
                    EstimatorInstance est(info, cfg, run_host);
                    auto t0 = Clock::now();
                    json tr = training;
                    tr["max_seconds"] = max_seconds;
                    est.train(data, *prior, tr, "", 7 + uint64_t(runs[r]) + run_shift);
                    train_s += std::chrono::duration<double>(Clock::now() - t0).count();
                    auto metrics = run_host.metrics();
                    epochs += metrics["train_loss"].size();
                    double best_val = INFINITY;  // the validation loss of the kept weights
                    for (const auto& [epoch, v] : metrics["val_loss"]) best_val = std::min(best_val, v);
                    const int lo = runs[r] ? runs[r] : obs_lo, hi = runs[r] ? runs[r] : obs_hi;
                    for (int o = lo; o <= hi && !timing_only; ++o) {
                        const std::string dir = ref + "/" + task + "/obs" + std::to_string(o);
                        auto x = read_csv_rows(dir + "/observation.csv");
                        auto t1 = Clock::now();
                        std::vector<double> s = est.sample(x, samples, 100 + uint64_t(o) + run_shift, sim.param_names.size());
                        sample_s += std::chrono::duration<double>(Clock::now() - t1).count();
                        torch::Tensor approx = torch::tensor(s, torch::kFloat64).view({int64_t(samples), int64_t(sim.param_names.size())});
                        torch::Tensor reference = csv_tensor(dir + "/reference_posterior_samples.csv");
                        const double c = simbi::nn::c2st(reference, approx, 42);
                        if (per_obs)
                            std::fprintf(stderr, "%s %s %llu obs %d: C2ST %.4f, best validation loss %.4f\n", task.c_str(), method.c_str(),
                                         (unsigned long long)budget, o, c, best_val);
                        c2st_sum += c;
                        ++count;
                    }
                }
                // Training figures are per run (a mean when each observation has its own).
                train_s /= double(runs.size());
                const double mean_epochs = double(epochs) / double(runs.size());
                auto base = kBaseline.find(task + "/" + method + "/" + std::to_string(budget));
                bool has = base != kBaseline.end();
                double spe = epochs ? train_s / mean_epochs : 0.0;
                std::printf("%-17s %-6s %7llu %6.3f %6.3f %6.3f %8.1f %6.0f %8.4f %8.4f %6.3f %8.3f %8.3f\n", task.c_str(), method.c_str(),
                            (unsigned long long)budget, count ? c2st_sum / count : NAN, sbibm_value(task, method, budget),
                            has ? base->second.c2st : NAN, train_s, mean_epochs, spe, has ? base->second.s_per_epoch : NAN,
                            has ? spe / base->second.s_per_epoch : NAN, count ? sample_s / count : NAN, has ? base->second.sample_s : NAN);
                std::fflush(stdout);
            }
        }
    }
    return 0;
}

// A missing reference file or a bad option ends the benchmark with a message (2), a failed run
// with 1, never with an uncaught exception.
int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const simbi::host::UsageError& e) {
        std::fprintf(stderr, "bench_sbibm: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_sbibm: %s\n", e.what());
        return 1;
    }
}
