#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <simbi/rng.h>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/pipeline/round_service.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/pipeline/stages.hpp"
#include "simbi_host/core/streams.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

namespace {

// What defines a training's result: the data, the estimator and its settings, the seed, and,
// for an estimator that asked for the observation (a sequential one), the observation and the
// simulator its rounds ran.
std::string training_fingerprint(const RunContext& run, const DatasetReader& data, bool with_observation) {
    const EstimatorPart& e = run.estimator();
    json j = {{"data", data.checksum()},
              {"estimator", {{"id", e.estimator->id}, {"version", e.estimator->version}, {"sha256", e.estimator.sha256}}},
              {"config", e.estimator.trained_config()},
              {"training", e.training},
              {"prior", run.prior().spec()},
              {"seed", e.seed}};
    if (with_observation)
        j["focused"] = {{"observation", run.plan.observation ? json(*run.plan.observation) : json(nullptr)},
                        {"simulation", run.plan.simulation.record}};
    return sha256_hex(j.dump());
}

// The training fingerprint of the artifact in `dir`, "unreadable" if it cannot be read, "" if
// there is none.
std::string kept_fingerprint(const std::string& dir) {
    std::error_code ec;
    if (!fs::exists(dir + "/simbi.json", ec)) return "";
    try {
        return read_artifact_meta(dir).training_fingerprint;
    } catch (const std::exception&) {
        return "unreadable";
    }
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

bool trains_data_parallel(const RunContext& run) {
    return run.options.data_parallel && run.plan.ranks.parallel() &&
           (run.estimator().estimator->capabilities & SIMBI_CAPABILITY_DATA_PARALLEL);
}

void check_kept_artifact(const RunContext& run, const std::string& store_path) {
    const std::string artifact = run.plan.output + "/artifact";
    const std::string found = kept_fingerprint(artifact);
    if (found.empty() || run.options.force) return;
    std::unique_ptr<DatasetReader> store = open_training_store(store_path, *run.simulator());
    if (found == training_fingerprint(run, *store, false) || found == training_fingerprint(run, *store, true)) return;
    throw RunError(artifact +
                   " holds an estimator of another setup (other data, estimator or settings); it and its run are kept. "
                   "Pass --out DIR to write this run elsewhere, or --force to replace it");
}

TrainStageResult run_training(const RunContext& run, const SimulateResult& simulation) {
    const EstimatorPart& e = run.estimator();
    TrainStageResult result;
    result.artifact = run.plan.output + "/artifact";
    std::unique_ptr<DatasetReader> store = open_training_store(simulation.store, *run.simulator());
    // An amortized estimator's artifact serves every observation; a focused one only its own.
    const std::string amortized = training_fingerprint(run, *store, false);
    const std::string focused = training_fingerprint(run, *store, true);

    std::error_code ec;
    const std::string found = kept_fingerprint(result.artifact);
    if (!found.empty() && (found == amortized || found == focused)) {
        ArtifactMeta meta = read_artifact_meta(result.artifact);
        verify_artifact_files(result.artifact, meta);
        result.reused = true;
        result.simulations = meta.record.value("simulations", uint64_t(0));
        result.rows = meta.training_rows;
        return result;
    }
    if (!found.empty() && !run.options.force)
        throw RunError(result.artifact +
                       " holds an estimator of another setup (other data, estimator or settings); it and its run are kept. "
                       "Pass --out DIR to write this run elsewhere, or --force to replace it");

    // The checkpoint folder is named by the fingerprint: a changed setup never resumes another's.
    // Rank 0 writes it (and the run folder it is in); other ranks only read it.
    const RankInfo ranks = trains_data_parallel(run) ? run.plan.ranks : RankInfo{};
    if (ranks.rank == 0) make_folder(run.plan.output + "/checkpoint");
    const std::string checkpoint = run.plan.output + "/checkpoint/" + amortized.substr(0, 16);
    EstimatorInstance est(*e.estimator, e.estimator.config, run.host);
    RoundService rounds(run.plan, run.host, run.options.quiet);
    const auto t0 = std::chrono::steady_clock::now();
    HostServices::set_safe_point("the current epoch of training (the checkpoint resumes it)");
    {
        PluginActivity activity(
            "estimator '" + e.estimator->id + "' training" +
            (ranks.parallel() ? " (rank " + std::to_string(ranks.rank) + " of " + std::to_string(ranks.size) + ")" : ""));
        est.train(*store, run.prior(), e.training, checkpoint, e.seed, ranks.rank == 0 ? rounds.c() : nullptr, ranks.rank, ranks.size,
                  ranks.parallel() ? rendezvous_address() : "");
    }
    // Every rank holds the same weights; rank 0 saves them.
    if (ranks.rank > 0) return result;
    result.simulations = simulation.totals.simulated + rounds.simulations();
    result.rows = store->rows() + rounds.rows();
    json round_records =
        json::array({{{"round", 1}, {"simulations", simulation.totals.simulated}, {"rows", store->rows()}, {"proposal", "prior"}}});
    for (const auto& r : rounds.rounds()) round_records.push_back(r);
    const std::string fingerprint = rounds.used_observation() ? focused : amortized;
    const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // Saved beside the old artifact, then swapped in: a kill leaves one whole artifact or the other.
    const std::string fresh = result.artifact + ".new";
    fs::remove_all(fresh, ec);
    make_folder(fresh);
    est.save(fresh);
    ArtifactMeta meta;
    meta.estimator_id = e.estimator->id;
    meta.estimator_version = e.estimator->version;
    meta.estimator_sha256 = e.estimator.sha256;
    meta.estimator_config = e.estimator.config;
    meta.training = e.training;
    meta.parameter_names = run.simulator()->param_names;
    meta.x_dim = run.simulator()->output_dim;
    meta.prior = run.prior().spec();
    meta.simulator_id = run.simulator()->id;
    meta.training_rows = result.rows;
    meta.training_fingerprint = fingerprint;
    meta.record = {
        {"metrics", metrics_record(run.host)}, {"train_seconds", train_s}, {"rounds", round_records}, {"simulations", result.simulations}};
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
