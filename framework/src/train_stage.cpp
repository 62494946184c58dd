#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <simbi/rng.h>

#include "simbi_host/errors.hpp"
#include "simbi_host/process_guard.hpp"
#include "simbi_host/sha256.hpp"
#include "simbi_host/stages.hpp"
#include "simbi_host/streams.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

void write_text_atomic(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        out.flush();
        if (!out) throw RunError("cannot write " + tmp + " (is the disk full?)");
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw RunError("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

namespace {

// One round of truncated sequential NPE (Deistler et al. 2022): the region where the current
// posterior's density exceeds its `quantile` quantile holds 1 - quantile of its mass; the prior
// truncated to it is sampled by rejection, in a fixed order so that one seed gives one dataset.
json run_truncated_round(const Manifest& m, const PluginRegistry& registry, const HostServices& host, EstimatorInstance& est,
                         const Prior& prior, uint64_t round, bool quiet) {
    const SequentialSection& q = *m.sequential;
    const auto& obs = *m.observation;
    const uint64_t d = prior.dim(), seed = simbi_rng_mix(m.simulation.seed, streams::kTruncationBase + round);
    // log of the posterior at the observations, up to a constant: sum_j log_prob(theta, x_j)
    // counts the prior n_obs times, so n_obs - 1 of them come off.
    auto log_post = [&](const std::vector<double>& theta, uint64_t n) {
        std::vector<double> total(n, 0.0);
        for (const auto& x : obs) {
            std::vector<double> xs;
            xs.reserve(n * x.size());
            for (uint64_t i = 0; i < n; ++i) xs.insert(xs.end(), x.begin(), x.end());
            std::vector<double> lp = est.log_prob(theta, xs, n);
            for (uint64_t i = 0; i < n; ++i) total[i] += lp[i];
        }
        for (uint64_t i = 0; obs.size() > 1 && i < n; ++i) total[i] -= double(obs.size() - 1) * prior.log_prob(&theta[i * d]);
        return total;
    };
    const uint64_t n_hpd = std::min<uint64_t>(200000, std::max<uint64_t>(10000, uint64_t(std::ceil(10.0 / q.quantile))));
    std::vector<double> post = est.sample(obs, n_hpd, seed, d);
    std::vector<double> lp = log_post(post, n_hpd);
    std::sort(lp.begin(), lp.end());
    const double threshold = lp[size_t(q.quantile * double(n_hpd))];

    std::vector<double> accepted;
    uint64_t candidates = 0, kept = 0;
    const uint64_t batch = 65536, limit = q.max_candidates * q.budget_per_round;
    while (kept < q.budget_per_round) {
        if (candidates >= limit)
            throw RunError("round " + std::to_string(round) + ": only " + std::to_string(kept) + " of " + std::to_string(candidates) +
                           " prior draws fall in the posterior's high-density region; raise sequential.max_candidates or lower the budget");
        std::vector<double> theta(batch * d);
        prior.sample_rows(batch, seed, candidates, theta.data());
        std::vector<double> lpc = log_post(theta, batch);
        uint64_t i = 0;
        for (; i < batch && kept < q.budget_per_round; ++i)
            if (lpc[i] >= threshold) {
                accepted.insert(accepted.end(), theta.begin() + long(i * d), theta.begin() + long((i + 1) * d));
                ++kept;
            }
        candidates += i;
    }
    TableProposal proposal(prior, accepted);
    SimulationPlan plan;
    plan.proposal = &proposal;
    plan.budget = q.budget_per_round;
    plan.seed = simbi_rng_mix(m.simulation.seed, round);
    std::string base = m.simulation.store;
    if (base.size() > 3 && base.substr(base.size() - 3) == ".h5") base.resize(base.size() - 3);
    plan.store = base + ".round" + std::to_string(round) + ".h5";
    SimulateOptions so;
    so.quiet = quiet;
    SimulateResult r = run_simulation(m, registry, host, so, plan);
    const double acceptance = double(kept) / double(std::max<uint64_t>(candidates, 1));
    if (!quiet)
        std::fprintf(stderr, "round %llu: %llu simulations from the truncated prior (acceptance %.4f, log-density threshold %.3f)\n",
                     (unsigned long long)round, (unsigned long long)r.totals.simulated, acceptance, threshold);
    return {{"round", round}, {"simulations", r.totals.simulated}, {"rows", r.totals.kept}, {"proposal", "truncated prior"},
            {"acceptance", acceptance}, {"threshold", threshold}, {"store", r.store}};
}

// A store opened for training: verified against its checksums and the simulator's dimensions.
std::unique_ptr<DatasetReader> open_training_store(const std::string& path, const PluginInfo& simulator) {
    auto r = std::make_unique<DatasetReader>(path);
    r->verify();
    if (r->theta_dim() != simulator.param_names.size() || r->x_dim() != simulator.output_dim)
        throw RunError(path + ": holds rows of " + std::to_string(r->theta_dim()) + " parameters and " + std::to_string(r->x_dim()) +
                       " outputs, but simulator '" + simulator.id + "' has " + std::to_string(simulator.param_names.size()) + " and " +
                       std::to_string(simulator.output_dim));
    return r;
}

// What defines a training's result: the data, the estimator and its settings, the seed.
std::string training_fingerprint(const RunContext& run, const DatasetReader& data, uint64_t seed) {
    const Manifest& m = run.manifest;
    json j = {{"data", data.checksum()},
              {"estimator", {{"id", run.estimator.id}, {"version", run.estimator.version}, {"sha256", run.estimator.sha256()}}},
              {"config", m.estimator->plugin.config},
              {"training", m.estimator->training},
              {"prior", run.prior.spec()},
              {"seed", seed}};
    if (m.sequential && m.sequential->rounds > 1)
        j["sequential"] = {{"rounds", m.sequential->rounds}, {"budget_per_round", m.sequential->budget_per_round},
                           {"quantile", m.sequential->quantile}, {"max_candidates", m.sequential->max_candidates},
                           {"observation", *m.observation}, {"simulation", manifest_for_record(m.doc)}};
    return sha256_hex(j.dump());
}

json metrics_record(const HostServices& host) {
    json out = json::object();
    for (const auto& kv : host.metrics()) {
        json series = json::array();
        for (const auto& pt : kv.second) series.push_back({pt.first, pt.second});
        out[kv.first] = series;
    }
    return out;
}

}  // namespace

TrainStageResult run_training(const RunContext& run, const SimulateResult& simulation) {
    const Manifest& m = run.manifest;
    TrainStageResult result;
    result.artifact = m.output + "/artifact";
    std::vector<std::unique_ptr<DatasetReader>> stores;
    stores.push_back(open_training_store(simulation.store, run.simulator));
    const uint64_t seed = m.estimator->seed.value_or(m.simulation.seed);
    const std::string fingerprint = training_fingerprint(run, *stores[0], seed);

    std::error_code ec;
    if (fs::exists(result.artifact + "/simbi.json", ec)) {
        std::string found;
        try {
            found = read_artifact_meta(result.artifact).training_fingerprint;
        } catch (const std::exception&) {
            found = "unreadable";
        }
        if (found == fingerprint) {
            ArtifactMeta meta = read_artifact_meta(result.artifact);
            verify_artifact_files(result.artifact, meta);
            result.reused = true;
            result.simulations = meta.record.value("simulations", uint64_t(0));
            result.rows = meta.training_rows;
            return result;
        }
        if (!run.options.force)
            throw RunError(result.artifact + " holds an estimator of another setup (other data, estimator or settings); it is kept. "
                           "Pass --out DIR to write this run elsewhere, or --force to replace it");
    }

    auto all_stores = [&] {
        std::vector<const DatasetReader*> v;
        for (const auto& r : stores) v.push_back(r.get());
        return v;
    };
    // The checkpoint folder is named by the fingerprint: a changed setup never resumes another's.
    const std::string checkpoint = m.output + "/checkpoint/" + fingerprint.substr(0, 16);
    EstimatorInstance est(run.estimator, m.estimator->plugin.config, run.host);
    const auto t0 = std::chrono::steady_clock::now();
    HostServices::set_safe_point("the current epoch of training (the checkpoint resumes it)");
    json rounds = json::array();
    {
        PluginActivity activity("estimator '" + run.estimator.id + "' training");
        est.train(all_stores(), run.prior, m.estimator->training, checkpoint, seed);
    }
    result.simulations = simulation.totals.simulated;
    result.rows = stores[0]->rows();
    rounds.push_back({{"round", 1}, {"simulations", simulation.totals.simulated}, {"rows", stores[0]->rows()}, {"proposal", "prior"}});
    if (m.sequential && m.sequential->rounds > 1) {
        if (!m.observation) throw UsageError(m.file + ": /sequential: sequential rounds need an \"observation\" to focus on");
        for (uint64_t r = 2; r <= m.sequential->rounds; ++r) {
            json info = run_truncated_round(m, run.registry, run.host, est, run.prior, r, run.options.quiet);
            stores.push_back(open_training_store(info["store"].get<std::string>(), run.simulator));
            result.simulations += info["simulations"].get<uint64_t>();
            result.rows += stores.back()->rows();
            PluginActivity activity("estimator '" + run.estimator.id + "' training round " + std::to_string(r));
            est.train(all_stores(), run.prior, m.estimator->training, checkpoint + "/round" + std::to_string(r), seed);
            rounds.push_back(info);
        }
    }
    const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // Saved beside the old artifact, then swapped in: a kill leaves one whole artifact or the other.
    const std::string fresh = result.artifact + ".new";
    fs::remove_all(fresh, ec);
    est.save(fresh);
    ArtifactMeta meta;
    meta.estimator_id = run.estimator.id;
    meta.estimator_version = run.estimator.version;
    meta.estimator_sha256 = run.estimator.sha256();
    meta.estimator_config = m.estimator->plugin.config;
    meta.training = m.estimator->training;
    meta.parameter_names = run.simulator.param_names;
    meta.x_dim = run.simulator.output_dim;
    meta.prior = run.prior.spec();
    meta.simulator_id = run.simulator.id;
    meta.training_rows = result.rows;
    meta.training_fingerprint = fingerprint;
    meta.record = {{"metrics", metrics_record(run.host)}, {"train_seconds", train_s}, {"rounds", rounds},
                   {"simulations", result.simulations}};
    write_artifact_meta(fresh, meta);
    const std::string old = result.artifact + ".old";
    fs::remove_all(old, ec);
    if (fs::exists(result.artifact, ec)) fs::rename(result.artifact, old, ec);
    if (ec) throw RunError("cannot move the previous artifact aside: " + ec.message());
    fs::rename(fresh, result.artifact, ec);
    if (ec) throw RunError("cannot rename " + fresh + " to " + result.artifact + ": " + ec.message());
    fs::remove_all(old, ec);
    return result;
}

}  // namespace simbi::host
