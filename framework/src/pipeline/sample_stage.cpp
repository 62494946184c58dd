#include <algorithm>
#include <map>
#include <cmath>
#include <cstdio>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/pipeline/batch_sampling.hpp"
#include "simbi_host/pipeline/stages.hpp"

namespace simbi::host {
namespace {

// losses.csv: one row per step with every series the estimator reported at more than one step,
// train_loss and val_loss first when present.
std::string metrics_csv(const json& metrics) {
    std::vector<std::string> names;
    for (const char* first : {"train_loss", "val_loss"})
        if (metrics.contains(first)) names.push_back(first);
    for (auto it = metrics.begin(); it != metrics.end(); ++it)
        if (it.value().size() > 1 && std::find(names.begin(), names.end(), it.key()) == names.end()) names.push_back(it.key());
    std::map<uint64_t, std::vector<double>> table;
    for (size_t c = 0; c < names.size(); ++c)
        for (const auto& pt : metrics[names[c]]) {
            auto& row = table[pt.at(0).get<uint64_t>()];
            row.resize(names.size(), std::nan(""));
            row[c] = pt.at(1).is_number() ? pt.at(1).get<double>() : std::nan("");  // JSON writes NaN as null
        }
    std::string csv = "epoch";
    for (const auto& n : names) csv += "," + n;
    csv += "\n";
    char cell[64];
    for (const auto& kv : table) {
        csv += std::to_string(kv.first);
        for (double v : kv.second) {
            std::snprintf(cell, sizeof cell, ",%.9g", v);
            csv += cell;
        }
        csv += "\n";
    }
    return csv;
}

// Many observations, each its own posterior: posteriors.h5 (store/batch_samples.hpp) and a
// summary.json of the whole; an observation the estimator could not sample fails the run after
// everything is written.
std::vector<std::string> written_each_row(const RunContext& run, EstimatorInstance& est, const ArtifactMeta& meta,
                                          const TrainStageResult& trained, std::vector<std::string> written) {
    const RunPlan& plan = run.plan;
    HostServices::set_safe_point("sampling (nothing of it is kept)");
    BatchSamplingResult r;
    {
        PluginActivity activity("estimator '" + meta.estimator_id + "' sampling " + std::to_string(plan.each_row.size()) + " observations");
        r = sample_each_observation(est, meta, plan.each_row, plan.inference.samples, plan.inference.seed, plan.output + "/posteriors.h5",
                                    !run.options.quiet);
    }
    json summary = {{"observations", r.observations},
                    {"samples", plan.inference.samples},
                    {"failed_observations", r.failed.size()},
                    {"sampling_seconds", r.seconds},
                    {"estimator", meta.estimator_id},
                    {"simulations", trained.simulations},
                    {"rows", meta.training_rows},
                    {"train_seconds", meta.record.value("train_seconds", 0.0)}};
    write_text_atomic(plan.output + "/summary.json", summary.dump(2) + "\n");
    written.insert(written.end(), {"posteriors.h5", "summary.json"});
    if (!run.options.quiet)
        std::fprintf(stderr, "sample: %llu observations x %llu draws in %.2f s\n", (unsigned long long)r.observations,
                     (unsigned long long)plan.inference.samples, r.seconds);
    if (!r.failed.empty())
        throw RunError(std::to_string(r.failed.size()) + " of " + std::to_string(r.observations) +
                       " observations could not be sampled (first: observation " + std::to_string(r.failed[0]) + ": " + r.first_error +
                       "); their rows in " + plan.output + "/posteriors.h5 are NaN and flagged in /failed");
    return written;
}

}  // namespace

std::vector<std::string> run_sampling(const RunContext& run, const TrainStageResult& trained) {
    const RunPlan& plan = run.plan;
    ArtifactMeta meta;
    // Always from the artifact on disk: a first run and a rerun sample from the same bytes.
    auto est = load_artifact(trained.artifact, run.registry, run.host, meta, &run.estimator().estimator.config);
    std::vector<std::string> written;
    const json& metrics = meta.record.value("metrics", json::object());
    json losses = metrics;
    losses["train_seconds"] = meta.record.value("train_seconds", 0.0);
    write_text_atomic(plan.output + "/losses.json", losses.dump(2) + "\n");
    write_text_atomic(plan.output + "/losses.csv", metrics_csv(metrics));
    written.insert(written.end(), {"artifact/", "losses.json", "losses.csv"});
    if (!plan.each_row.empty()) return written_each_row(run, *est, meta, trained, written);
    if (!plan.observation) return written;

    const auto& names = meta.parameter_names;
    HostServices::set_safe_point("sampling (nothing of it is kept)");
    std::vector<double> samples;
    {
        PluginActivity activity("estimator '" + meta.estimator_id + "' sampling");
        samples = est->sample(*plan.observation, plan.inference.samples, plan.inference.seed, names.size());
    }
    for (double v : samples)
        if (!std::isfinite(v)) throw RunError("estimator '" + meta.estimator_id + "' returned a sample that is not finite");
    json attrs = {{"observation", *plan.observation}, {"estimator_id", meta.estimator_id}, {"seed", plan.inference.seed}};
    write_samples_h5(plan.output + "/posterior.h5", names, samples, attrs);
    write_samples_csv(plan.output + "/posterior.csv", names, samples);
    json summary = {{"parameters", summarize_samples(names, samples)},
                    {"samples", plan.inference.samples},
                    {"observation", *plan.observation},
                    {"estimator", meta.estimator_id},
                    {"simulations", trained.simulations},
                    {"rows", meta.training_rows},
                    {"rounds", meta.record.value("rounds", json::array())},
                    {"train_seconds", meta.record.value("train_seconds", 0.0)}};
    // The estimator's own split, when it reports one.
    for (const char* split : {"training_rows", "validation_rows"})
        if (metrics.contains(split) && !metrics[split].empty()) summary[split] = metrics[split].back().at(1).get<uint64_t>();
    write_text_atomic(plan.output + "/summary.json", summary.dump(2) + "\n");
    written.insert(written.end(), {"posterior.h5", "posterior.csv", "summary.json"});
    return written;
}

}  // namespace simbi::host
