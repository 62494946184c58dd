// simbi sample ARTIFACT ... and simbi log-prob ARTIFACT ...
#include <simbi/rng.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>
#include <optional>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/lab_cache.hpp"
#include "simbi_host/pipeline/manifest.hpp"
#include "simbi_host/plugins/plugin_settings.hpp"
#include "simbi_host/pipeline/pipeline.hpp"
#include "simbi_host/store/artifact.hpp"
#include "simbi_host/pipeline/batch_sampling.hpp"
#include "simbi_host/store/batch_samples.hpp"

namespace simbi_cli {

using simbi::host::json;
using simbi::host::UsageError;

// VALUES is a CSV file with a header row, a JSON array (of arrays), or comma-separated numbers.
static std::vector<std::vector<double>> parse_rows(const std::string& text, size_t width, const std::string& flag) {
    std::vector<std::vector<double>> rows;
    std::error_code ec;  // a long list of values is no file name: no exception for that
    if (std::filesystem::is_regular_file(text, ec)) {
        rows = simbi::host::read_csv_rows(text);
    } else {
        std::string t = text;
        if (t.empty() || t[0] != '[') t = "[" + t + "]";
        json j;
        try {
            j = simbi::host::parse_json_strict(t, flag);
        } catch (const std::exception&) {
            throw UsageError(flag + " " + simbi::host::clip(text, 80) + ": expected a CSV file, a JSON array or comma-separated numbers");
        }
        auto row_of = [&](const json& a) {
            std::vector<double> r;
            for (const auto& v : a) {
                if (!v.is_number()) throw UsageError(flag + ": " + simbi::host::brief(v) + " is not a number");
                if (!std::isfinite(v.get<double>())) throw UsageError(flag + ": " + v.dump() + " is not a finite number");
                r.push_back(v.get<double>());
            }
            return r;
        };
        if (!j.empty() && j[0].is_array())
            for (const auto& a : j) rows.push_back(row_of(a));
        else
            rows.push_back(row_of(j));
    }
    for (const auto& r : rows)
        if (r.size() != width)
            throw UsageError(flag + ": each row needs " + std::to_string(width) + " values, got " + std::to_string(r.size()));
    return rows;
}

// simbi sample ARTIFACT --x FILE --each-row --out F.h5: every row of FILE its own observation.
static int sample_each_row(simbi::host::EstimatorInstance& est, const simbi::host::ArtifactMeta& meta, const std::string& x, uint64_t n,
                           uint64_t seed, const std::string& out, bool quiet) {
    using namespace simbi::host;
    if (out.empty() || file_format(out, "--out") != "h5") throw UsageError("--each-row writes HDF5: give --out FILE.h5");
    std::error_code ec;
    const bool h5_input = std::filesystem::is_regular_file(x, ec) && file_format(x, "--x") == "h5";
    const std::vector<std::vector<double>> rows = h5_input ? read_table_h5(x, "x") : parse_rows(x, meta.x_dim, "--x");
    for (const auto& r : rows)
        if (r.size() != meta.x_dim)
            throw UsageError("--x: each row needs " + std::to_string(meta.x_dim) + " values, got " + std::to_string(r.size()));
    if (rows.empty()) throw UsageError("--x " + x + ": no observations");
    const BatchSamplingResult r = sample_each_observation(est, meta, rows, n, seed, out, !quiet);
    std::fprintf(stderr, "sample: %llu observations x %llu draws in %.2f s, written to %s\n", (unsigned long long)r.observations,
                 (unsigned long long)n, r.seconds, out.c_str());
    if (r.failed.empty()) return 0;
    std::fprintf(stderr,
                 "simbi sample: %llu of %llu observations could not be sampled (first: observation %llu: %s); their rows are NaN "
                 "and flagged in /failed, the others are written\n",
                 (unsigned long long)r.failed.size(), (unsigned long long)r.observations, (unsigned long long)r.failed[0],
                 r.first_error.c_str());
    return simbi::host::kExitRunFailed;
}

int cmd_sample(const Args& args) {
    po::options_description desc("options");
    std::string artifact, x, out, n_text = "10000", seed_text = "1";
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("artifact", po::value<std::string>(&artifact)->required(),
                                                   "artifact folder, or lab:NAME from the lab cache")(
        "x", po::value<std::string>(&x)->required(), "observation(s): CSV file, JSON array, or comma-separated numbers")(
        "n", po::value<std::string>(&n_text), "number of samples (default 10000)")(
        "seed", po::value<std::string>(&seed_text), "seed (default 1)")("out", po::value<std::string>(&out),
                                                                        "write samples here (.csv or .h5); default: CSV on stdout")(
        "each-row", "every row of --x (a CSV or HDF5 /x file) is its own observation: n draws for each, to --out FILE.h5")(
        "threads", po::value<std::string>(),
        "the estimator's threads for this sampling, where it declares `threads` (0: one per core); the draws do not change")(
        "quiet,q", "no progress display");
    flags.add_to(desc);
    po::positional_options_description pos;
    pos.add("artifact", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi sample ARTIFACT --x VALUES|FILE [--each-row] [--n N] [--seed S] [--out FILE]")) return 0;
    const uint64_t n = parse_count_flag(n_text, "--n", 1, simbi::host::kMaxSamples);
    const uint64_t seed = parse_count_flag(seed_text, "--seed", 0, UINT64_MAX);
    simbi::host::PluginRegistry registry(flags.options());
    simbi::host::HostServices host;
    // Many observations: the estimator's per-call notes would bury the one line that matters.
    if (vm.count("each-row") || vm.count("quiet")) host.set_quiet(true);
    simbi::host::ArtifactMeta meta;
    const std::string dir = simbi::host::resolve_artifact(artifact);
    // --threads: the artifact's config with `threads` replaced, a setting that changes the speed, not the draws.
    std::optional<json> config;
    if (vm.count("threads")) {
        const uint64_t threads = parse_count_flag(vm["threads"].as<std::string>(), "--threads", 0, 1024);
        const simbi::host::ArtifactMeta saved = simbi::host::read_artifact_meta(dir);
        config = saved.estimator_config;
        const auto& info = registry.find(saved.estimator_id, SIMBI_KIND_ESTIMATOR);
        if (!simbi::host::schema_properties(info.config_schema_json).contains("threads"))
            throw UsageError("--threads: estimator '" + info.id + "' declares no `threads` setting");
        (*config)["threads"] = threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : threads;
    }
    auto est = simbi::host::load_artifact(dir, registry, host, meta, config ? &*config : nullptr);
    if (vm.count("each-row")) return sample_each_row(*est, meta, x, n, seed, out, vm.count("quiet") > 0);
    auto obs = parse_rows(x, meta.x_dim, "--x");
    auto samples = est->sample(obs, n, seed, meta.parameter_names.size());
    if (out.empty()) {
        const size_t d = meta.parameter_names.size();
        for (size_t j = 0; j < d; ++j) std::cout << (j ? "," : "") << meta.parameter_names[j];
        std::cout << "\n";
        char buf[64];
        for (size_t i = 0; i < n; ++i) {
            for (size_t j = 0; j < d; ++j) {
                std::snprintf(buf, sizeof buf, "%.9g", samples[i * d + j]);
                std::cout << (j ? "," : "") << buf;
            }
            std::cout << "\n";
        }
    } else if (file_format(out, "--out") == "h5") {
        simbi::host::write_samples_h5(out, meta.parameter_names, samples, {{"observation", obs}, {"seed", seed}});
    } else {
        simbi::host::write_samples_csv(out, meta.parameter_names, samples);
    }
    return 0;
}

int cmd_log_prob(const Args& args) {
    po::options_description desc("options");
    std::string artifact, theta_text, x_text;
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("artifact", po::value<std::string>(&artifact)->required(),
                                                   "artifact folder, or lab:NAME from the lab cache")(
        "theta", po::value<std::string>(&theta_text)->required(), "parameters: CSV file, JSON array (of arrays), or numbers")(
        "x", po::value<std::string>(&x_text)->required(), "observation(s), one per theta row or one for all");
    flags.add_to(desc);
    po::positional_options_description pos;
    pos.add("artifact", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi log-prob ARTIFACT --theta VALUES|FILE --x VALUES|FILE")) return 0;
    simbi::host::PluginRegistry registry(flags.options());
    simbi::host::HostServices host;
    simbi::host::ArtifactMeta meta;
    auto est = simbi::host::load_artifact(simbi::host::resolve_artifact(artifact), registry, host, meta);
    auto theta = parse_rows(theta_text, meta.parameter_names.size(), "--theta");
    auto x = parse_rows(x_text, meta.x_dim, "--x");
    if (x.size() != 1 && x.size() != theta.size())
        throw UsageError("--x: give one observation, or one per --theta row (" + std::to_string(theta.size()) + ")");
    std::vector<double> tf, xf;
    for (size_t i = 0; i < theta.size(); ++i) {
        tf.insert(tf.end(), theta[i].begin(), theta[i].end());
        const auto& xr = x[x.size() == 1 ? 0 : i];
        xf.insert(xf.end(), xr.begin(), xr.end());
    }
    auto lp = est->log_prob(tf, xf, theta.size());
    for (double v : lp)
        if (std::isnan(v)) throw simbi::host::RunError("estimator '" + meta.estimator_id + "' returned NaN for a log density");
    std::cout << "log_prob\n";
    char buf[64];
    for (double v : lp) {
        std::snprintf(buf, sizeof buf, "%.9g", v);
        std::cout << buf << "\n";
    }
    return 0;
}

}  // namespace simbi_cli
