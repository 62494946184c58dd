// Accuracy against sbibm's reference posteriors: C2ST for each task, method and budget, next to
// sbibm's published mean (Lueckmann et al. 2021; ../shared/targets.md, section 1).
//
// usage: bench_sbibm [--ref DIR] [--tasks a,b] [--methods npe,nre,bnre,nle] [--budgets 1000,10000]
//                    [--obs 1-5] [--samples 10000] [--max-seconds S] [--work DIR] [--config JSON]
// Each (task, budget) is simulated once with the plugin; each method trains once and samples at
// every observation. A full sweep takes long: run it in the background.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "neural/neural.hpp"
#include "simbi_host/manifest.hpp"
#include "simbi_host/pipeline.hpp"
#include "simbi_host/simulate_stage.hpp"

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
    auto m = t->second.find(method == "bnre" ? "nre" : method);
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

int main(int argc, char** argv) {
    std::string ref = "../shared/sbibm", work = "bench-sbibm-work";
    std::vector<std::string> tasks = {"two_moons", "slcp", "gaussian_linear", "gaussian_mixture"}, methods = {"npe", "nre", "bnre", "nle"};
    std::vector<uint64_t> budgets = {1000, 10000};
    int obs_lo = 1, obs_hi = 5;
    uint64_t samples = 10000;
    double max_seconds = 1800;
    json config = json::object();  // estimator config, e.g. '{"bounds": "none"}'; keys a method lacks are ignored
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--ref") ref = v;
        else if (k == "--tasks") tasks = split(v);
        else if (k == "--methods") methods = split(v);
        else if (k == "--budgets") {
            budgets.clear();
            for (auto& b : split(v)) budgets.push_back(std::stoull(b));
        } else if (k == "--obs") {
            auto dash = v.find('-');
            obs_lo = std::stoi(v.substr(0, dash));
            obs_hi = dash == std::string::npos ? obs_lo : std::stoi(v.substr(dash + 1));
        } else if (k == "--samples") samples = std::stoull(v);
        else if (k == "--max-seconds") max_seconds = std::stod(v);
        else if (k == "--work") work = v;
        else if (k == "--config") config = json::parse(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    fs::create_directories(work);
    RegistryOptions ro;
    PluginRegistry registry(ro);
    HostServices host;
    host.set_quiet(true);
    simbi::nn::ThreadScope one_thread(1);

    std::printf("%-17s %-5s %7s %7s %7s %8s %7s %8s %9s\n", "task", "method", "budget", "C2ST", "sbibm", "train s", "epochs", "s/epoch", "sample s");
    std::fflush(stdout);
    for (const auto& task : tasks) {
        for (uint64_t budget : budgets) {
            const std::string store = work + "/" + task + "-" + std::to_string(budget) + ".h5";
            json mj = {{"simbi", 1}, {"simulator", {{"id", "sbibm." + task}}},
                       {"simulation", {{"budget", budget}, {"seed", 1000 + budget}, {"store", fs::absolute(store).string()}, {"invalid", "resample"}}}};
            const std::string mpath = work + "/" + task + "-" + std::to_string(budget) + ".json";
            std::FILE* f = std::fopen(mpath.c_str(), "w");
            std::fputs(mj.dump().c_str(), f);
            std::fclose(f);
            Manifest m = load_manifest(mpath);
            SimulateOptions so;
            so.quiet = true;
            run_simulation(m, registry, host, so);
            DatasetReader data(store);
            const PluginInfo& sim = registry.find("sbibm." + task);
            auto prior = manifest_prior(m, sim);
            for (const auto& method : methods) {
                HostServices run_host;
                run_host.set_quiet(true);
                const PluginInfo& info = registry.find("simbi." + method);
                json schema = json::parse(info.config_schema_json), cfg = json::object();
                for (auto it = config.begin(); it != config.end(); ++it)
                    if (schema.contains(it.key())) cfg[it.key()] = it.value();
                EstimatorInstance est(info, cfg, run_host);
                auto t0 = Clock::now();
                est.train(data, *prior, json{{"max_seconds", max_seconds}}, "", 7);
                double train_s = std::chrono::duration<double>(Clock::now() - t0).count();
                auto metrics = run_host.metrics();
                size_t epochs = metrics["train_loss"].size();
                double c2st_sum = 0, sample_s = 0;
                int count = 0;
                for (int o = obs_lo; o <= obs_hi; ++o) {
                    const std::string dir = ref + "/" + task + "/obs" + std::to_string(o);
                    auto x = read_csv_rows(dir + "/observation.csv");
                    auto t1 = Clock::now();
                    std::vector<double> s = est.sample(x, samples, 100 + uint64_t(o), sim.param_names.size());
                    sample_s += std::chrono::duration<double>(Clock::now() - t1).count();
                    torch::Tensor approx = torch::tensor(s, torch::kFloat64).view({int64_t(samples), int64_t(sim.param_names.size())});
                    torch::Tensor reference = csv_tensor(dir + "/reference_posterior_samples.csv");
                    c2st_sum += simbi::nn::c2st(reference, approx, 42);
                    ++count;
                }
                std::printf("%-17s %-5s %7llu %7.3f %7.3f %8.1f %7zu %8.4f %9.3f\n", task.c_str(), method.c_str(), (unsigned long long)budget,
                            c2st_sum / count, sbibm_value(task, method, budget), train_s, epochs, epochs ? train_s / double(epochs) : 0.0,
                            sample_s / count);
                std::fflush(stdout);
            }
        }
    }
    return 0;
}
