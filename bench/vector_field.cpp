// bench_vector_field: sampling speed against accuracy for the vector-field estimators (FMPE,
// NPSE). For each sampler setting (a JSON object merged over the artifact's config), 10,000 draws
// at one observation, timed in process (best of three, after a warm-up), the network passes the
// estimator reports (batched calls of the network, and its evaluations per draw: an adaptive
// solver's batches shrink as draws finish), and C2ST against reference samples (sbibm's protocol, simbi::nn::c2st).
//
// usage: bench_vector_field ARTIFACT REFERENCE.csv OBSERVATION.csv THREADS SETTING...
//   e.g. bench_vector_field runs/fmpe/artifact ref.csv obs.csv 1 '{}' '{"solver": "dopri5", "tolerance": 1e-3}'
#include <chrono>
#include <cstdio>
#include <regex>

#include "neural/neural.hpp"
#include "simbi_host/pipeline/manifest.hpp"
#include "simbi_host/plugins/estimator_instance.hpp"
#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace {
torch::Tensor as_tensor(const std::vector<double>& flat, int64_t d) {
    return torch::tensor(flat, torch::kFloat64).view({int64_t(flat.size()) / d, d});
}
}  // namespace

int main(int argc, char** argv) {
    using namespace simbi::host;
    if (argc < 6) {
        std::fprintf(stderr, "usage: bench_vector_field ARTIFACT REFERENCE.csv OBSERVATION.csv THREADS SETTING...\n");
        return 2;
    }
    const std::string artifact = argv[1];
    const auto reference_rows = read_csv_rows(argv[2]);
    const auto observation = read_csv_rows(argv[3]);
    const int threads = std::stoi(argv[4]);
    std::vector<double> ref_flat;
    for (const auto& r : reference_rows) ref_flat.insert(ref_flat.end(), r.begin(), r.end());
    const int64_t d = int64_t(reference_rows[0].size());
    const torch::Tensor reference = as_tensor(ref_flat, d).narrow(0, 0, 10000);
    PluginRegistry registry({{SIMBI_BENCH_PLUGIN_DIR}, false});
    std::printf("| setting | network passes | evaluations per draw | 10k samples s (%d thread%s) | C2ST |\n|---|---|---|---|---|\n",
                threads, threads == 1 ? "" : "s");
    for (int a = 5; a < argc; ++a) {
        HostServices host;
        host.set_debug(true);
        std::string passes = "?", per_draw = "";
        host.set_log_sink([&](simbi_log_level, const std::string& line) {
            std::smatch m;
            if (std::regex_search(line, m, std::regex("in ([0-9]+) network passes"))) passes = m[1];
            if (std::regex_search(line, m, std::regex("passes, ([0-9.]+) evaluations per draw"))) per_draw = m[1];
        });
        ArtifactMeta meta;
        json config = read_artifact_meta(artifact).estimator_config;
        config.update(json::parse(argv[a]));
        config["threads"] = threads;
        auto est = load_artifact(artifact, registry, host, meta, &config);
        est->sample(observation, 1000, 1, meta.parameter_names.size());  // warm-up
        double best = 1e9;
        std::vector<double> draws;
        for (int rep = 0; rep < 3; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
            draws = est->sample(observation, 10000, 2, meta.parameter_names.size());
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        simbi::nn::ThreadScope one(1);
        const double c2st = simbi::nn::c2st(reference, as_tensor(draws, d), 42);
        std::printf("| %s | %s | %s | %.3f | %.3f |\n", argv[a], passes.c_str(),
                    per_draw.empty() ? passes.c_str() : per_draw.substr(0, 4).c_str(), best, c2st);
        std::fflush(stdout);
    }
    return 0;
}
