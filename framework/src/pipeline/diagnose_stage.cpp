#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <simbi/rng.h>

#include "simbi_host/pipeline/round_service.hpp"
#include "simbi_host/core/sha256.hpp"

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/plugins/diagnostic_instance.hpp"
#include "simbi_host/report/figures.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"
#include "simbi_host/pipeline/stages.hpp"
#include "simbi_host/core/streams.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

namespace {

struct ResultSink {
    json results = json::object();
    simbi_result_sink c{};
    ResultSink() {
        c.size = sizeof c;
        c.data = this;
        c.put_scalar = [](const simbi_result_sink* s, const char* name, double v, simbi_error*) -> simbi_status {
            static_cast<ResultSink*>(s->data)->results[name ? name : "value"] = v;
            return SIMBI_OK;
        };
        c.put_array = [](const simbi_result_sink* s, const char* name, uint64_t rank, const uint64_t* shape, const double* values,
                         simbi_error*) -> simbi_status {
            uint64_t total = 1;
            json shp = json::array();
            for (uint64_t i = 0; i < rank; ++i) {
                total *= shape[i];
                shp.push_back(shape[i]);
            }
            static_cast<ResultSink*>(s->data)->results[name ? name : "array"] = {{"shape", shp},
                                                                                 {"values", std::vector<double>(values, values + total)}};
            return SIMBI_OK;
        };
    }
};

struct PosteriorAdapter {
    EstimatorInstance& est;
    simbi_posterior_view c{};
    PosteriorAdapter(EstimatorInstance& e, uint64_t d, uint64_t k) : est(e) {
        c.size = sizeof c;
        c.data = this;
        c.theta_dim = d;
        c.x_dim = k;
        // After a stop signal the posterior answers no more: a diagnostic in a long loop ends at
        // its next call, and the stage stops there.
        c.sample = [](const simbi_posterior_view* v, uint64_t n_obs, const double* x, uint64_t n, uint64_t seed, double* theta,
                      simbi_error* err) {
            if (HostServices::cancelled()) return simbi_error_set(err, SIMBI_DISCARD, "interrupted");
            simbi_estimator* e = static_cast<PosteriorAdapter*>(v->data)->est.c();
            return e->sample(e, n_obs, x, n, seed, theta, err);
        };
        c.log_prob = [](const simbi_posterior_view* v, uint64_t n, const double* theta, const double* x, double* out, simbi_error* err) {
            if (HostServices::cancelled()) return simbi_error_set(err, SIMBI_DISCARD, "interrupted");
            simbi_estimator* e = static_cast<PosteriorAdapter*>(v->data)->est.c();
            return e->log_prob(e, n, theta, x, out, err);
        };
        c.sample_batch = [](const simbi_posterior_view* v, uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta,
                            simbi_error* err) {
            if (HostServices::cancelled()) return simbi_error_set(err, SIMBI_DISCARD, "interrupted");
            return sample_batch_or_each(static_cast<PosteriorAdapter*>(v->data)->est.c(), n_x, x, v->x_dim, n_per_x, seed, theta,
                                        v->theta_dim, err);
        };
    }
};

struct SimulatorAdapter {
    const SimulatorInstances& sims;
    simbi_simulator_view c{};
    explicit SimulatorAdapter(const SimulatorInstances& s) : sims(s) {
        c.size = sizeof c;
        c.data = this;
        c.theta_dim = s.theta_dim();
        c.x_dim = s.x_dim();
        c.simulate = [](const simbi_simulator_view* v, uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x,
                        uint8_t* valid, simbi_error* err) {
            simbi_simulator* s = static_cast<SimulatorAdapter*>(v->data)->sims.for_thread(0);
            return s->simulate(s, n, theta, seed, row_offset, x, valid, err);
        };
    }
};

}  // namespace

namespace {

// What defines a diagnostic's result: the trained estimator, the plugin and its settings, the
// seed, the observation, the simulator and prior, and any held-out store.
std::string diagnostic_fingerprint(const RunContext& run, const ArtifactMeta& meta, const PlannedPlugin& plugin, uint64_t seed,
                                   const std::string& held_out_checksum) {
    json j = {{"artifact", meta.training_fingerprint},
              {"plugin", {{"id", plugin->id}, {"version", plugin->version}, {"sha256", plugin.sha256}}},
              {"config", plugin.config},
              {"seed", seed},
              {"observation", run.plan.observation ? json(*run.plan.observation) : json(nullptr)},
              {"simulator", {{"id", run.simulator()->id}, {"sha256", run.simulator().sha256}, {"config", run.simulator().config}}},
              {"prior", run.prior().spec()},
              {"held_out", held_out_checksum}};
    return sha256_hex(j.dump());
}

// A diagnostic's record, as diagnostics/<name>.json holds it: with the SHA-256 of its content, so
// that an edited file is computed again rather than reported.
std::string record_checksum(json record) {
    record.erase("checksum");
    return sha256_hex(record.dump());
}

// The results of a diagnostic file whose fingerprint and checksum match, or null.
json reusable_results(const std::string& path, const std::string& fingerprint, bool quiet) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return nullptr;
    try {
        json old = parse_json_strict(read_text_file(path), path);
        if (old.value("fingerprint", "") != fingerprint || !old.contains("results")) return nullptr;
        if (old.value("checksum", "") == record_checksum(old)) return old["results"];
        if (!quiet) std::fprintf(stderr, "note: %s does not match its checksum (edited or damaged); computing it again\n", path.c_str());
    } catch (const std::exception&) {
        // unreadable: run it again
    }
    return nullptr;
}

}  // namespace

std::vector<std::string> run_diagnostics(const RunContext& run, const TrainStageResult& trained) {
    const RunPlan& plan = run.plan;
    if (plan.diagnostics.empty()) return {};
    ArtifactMeta meta;
    // The estimator's own notes (one per sampling call) would drown the diagnostics' lines:
    // only its warnings and errors are shown.
    HostServices estimator_host;
    estimator_host.set_quiet(true);
    auto est = load_artifact(trained.artifact, run.registry, estimator_host, meta, &run.estimator().estimator.config);
    std::unique_ptr<SimulatorInstances> sims = make_simulators(plan.simulation, run.host, 1, run.options.quiet);
    SimulatorAdapter sim_view(*sims);
    PriorView pv(run.prior());
    PosteriorAdapter post(*est, run.simulator()->param_names.size(), run.simulator()->output_dim);
    std::vector<double> x_obs;
    if (plan.observation)
        for (const auto& row : *plan.observation) x_obs.insert(x_obs.end(), row.begin(), row.end());
    make_folder(plan.output + "/diagnostics");

    json all = json::object();
    std::vector<std::string> written, failed;
    std::map<std::string, int> seen;
    HostServices::set_safe_point("the current diagnostic");
    // A stop signal ends the loop after the diagnostic that is running; what is done is kept.
    auto stop_if_asked = [&](size_t done) {
        if (!HostServices::cancelled()) return;
        write_text_atomic(plan.output + "/diagnostics.json", all.dump(2) + "\n");
        throw Interrupted(HostServices::stop_signal(), "interrupted after " + std::to_string(done) + " of " +
                                                           std::to_string(plan.diagnostics.size()) +
                                                           " diagnostics; their results are kept in " + plan.output + "/diagnostics/");
    };
    for (size_t i = 0; i < plan.diagnostics.size(); ++i) {
        stop_if_asked(i);
        const DiagnosticPart& part = plan.diagnostics[i];
        const PlannedPlugin& plugin = part.diagnostic;
        const std::string& id = plugin->id;
        const int repeat = seen[id]++;
        const std::string name = repeat ? id + "." + std::to_string(repeat + 1) : id;
        const std::string file = "diagnostics/" + name + ".json";
        const uint64_t seed = simbi_rng_mix(plan.inference.seed, streams::kDiagnosticBase + i);

        std::unique_ptr<DatasetReader> held_out_store;
        std::unique_ptr<StoreBatchReader> held_out;
        if (!part.held_out.empty()) {
            held_out_store = open_training_store(part.held_out, *run.simulator());
            held_out = std::make_unique<StoreBatchReader>(std::vector<const DatasetReader*>{held_out_store.get()});
        }
        const std::string fingerprint = diagnostic_fingerprint(run, meta, plugin, seed, held_out_store ? held_out_store->checksum() : "");
        if (json kept = reusable_results(plan.output + "/" + file, fingerprint, run.options.quiet); !kept.is_null()) {
            all[name] = kept;
            written.push_back(file);
            continue;
        }

        const auto t0 = std::chrono::steady_clock::now();
        PluginActivity activity("diagnostic '" + id + "'");
        DiagnosticInstance diag(*plugin, plugin.config, run.host);
        ResultSink sink;
        simbi_diagnostic_context ctx{};
        ctx.size = sizeof ctx;
        ctx.posterior = &post.c;
        ctx.prior = pv.c();
        ctx.simulator = &sim_view.c;
        ctx.sink = &sink.c;
        ctx.host = run.host.c_host();
        ctx.seed = seed;
        ctx.n_obs = plan.observation ? plan.observation->size() : 0;
        ctx.x_obs = x_obs.empty() ? nullptr : x_obs.data();
        ctx.held_out = held_out ? held_out->c() : nullptr;
        ctx.run_dir = plan.output.c_str();
        ErrorBuffer eb;
        simbi_status st = diag.run(ctx, eb);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (st != SIMBI_OK) stop_if_asked(i);  // it stopped because it was asked to
        // Its headline and figures, when its library offers them, checked before they are kept.
        json report;
        if (st == SIMBI_OK) {
            try {
                report = diag.report();
                if (!report.is_null()) check_diagnostic_report(report, "diagnostic '" + id + "'");
            } catch (const RunError& e) {
                st = SIMBI_ERROR;
                eb.reset();
                simbi_error_set(eb.get(), SIMBI_ERROR, e.what());
            }
        }
        if (st != SIMBI_OK) {
            failed.push_back("diagnostic '" + id + "' returned " + status_name(st) + ": " + eb.message());
            std::fprintf(stderr, "diagnose: %s failed: %s\n", id.c_str(), eb.message().c_str());
            continue;
        }
        if (!run.options.quiet) std::fprintf(stderr, "diagnose: %s done in %.1f s\n", id.c_str(), seconds);
        // Yes/no results, put as 1 or 0, recorded as booleans.
        if (report.is_object() && report.contains("booleans")) {
            for (const auto& name : report["booleans"]) {
                json& v = sink.results[name.get<std::string>()];
                if (v.is_number() && (v.get<double>() == 0 || v.get<double>() == 1))
                    v = v.get<double>() == 1;
                else if (!v.is_boolean())
                    sink.results.erase(name.get<std::string>());
            }
            report.erase("booleans");
        }
        json record = {{"id", id},     {"version", plugin->version}, {"config", plugin.config},
                       {"seed", seed}, {"fingerprint", fingerprint}, {"results", sink.results}};
        if (!report.is_null() && !report.empty()) record["report"] = report;
        if (!part.held_out.empty()) record["held_out"] = part.held_out;
        record["checksum"] = record_checksum(record);
        write_text_atomic(plan.output + "/" + file, record.dump(2) + "\n");
        written.push_back(file);
        all[name] = sink.results;
    }
    write_text_atomic(plan.output + "/diagnostics.json", all.dump(2) + "\n");
    written.push_back("diagnostics.json");
    if (!failed.empty()) {
        std::string msg = std::to_string(failed.size()) + " of " + std::to_string(plan.diagnostics.size()) +
                          " diagnostics failed (the others' results are in " + plan.output + "/diagnostics/): ";
        for (size_t i = 0; i < failed.size(); ++i) msg += (i ? "; " : "") + failed[i];
        throw RunError(msg);
    }
    return written;
}

json run_standalone_diagnostic(const PluginRegistry& registry, const HostServices& host, const std::string& id, const json& config,
                               uint64_t seed) {
    const PluginInfo& info = registry.find(id, SIMBI_KIND_DIAGNOSTIC);
    PluginActivity activity("diagnostic '" + id + "'");
    DiagnosticInstance diag(info, config, host);
    ResultSink sink;
    simbi_diagnostic_context ctx{};
    ctx.size = sizeof ctx;
    ctx.sink = &sink.c;
    ctx.host = host.c_host();
    ctx.seed = seed;
    ErrorBuffer eb;
    simbi_status st = diag.run(ctx, eb);
    if (st != SIMBI_OK) throw RunError("diagnostic '" + id + "' returned " + status_name(st) + ": " + eb.message());
    return sink.results;
}

}  // namespace simbi::host
