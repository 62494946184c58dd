#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <simbi/rng.h>

#include "simbi_host/round_service.hpp"
#include "simbi_host/sha256.hpp"

#include "simbi_host/errors.hpp"
#include "simbi_host/process_guard.hpp"
#include "simbi_host/simulator_instance.hpp"
#include "simbi_host/stages.hpp"
#include "simbi_host/streams.hpp"

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
            static_cast<ResultSink*>(s->data)->results[name ? name : "array"] = {
                {"shape", shp}, {"values", std::vector<double>(values, values + total)}};
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
        c.sample = [](const simbi_posterior_view* v, uint64_t n_obs, const double* x, uint64_t n, uint64_t seed, double* theta,
                      simbi_error* err) {
            simbi_estimator* e = static_cast<PosteriorAdapter*>(v->data)->est.c();
            return e->sample(e, n_obs, x, n, seed, theta, err);
        };
        c.log_prob = [](const simbi_posterior_view* v, uint64_t n, const double* theta, const double* x, double* out, simbi_error* err) {
            simbi_estimator* e = static_cast<PosteriorAdapter*>(v->data)->est.c();
            return e->log_prob(e, n, theta, x, out, err);
        };
        c.sample_batch = [](const simbi_posterior_view* v, uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta,
                            simbi_error* err) {
            return sample_batch_or_each(static_cast<PosteriorAdapter*>(v->data)->est.c(), n_x, x, v->x_dim, n_per_x, seed, theta, v->theta_dim,
                                        err);
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

// One diagnostic instance, checked to hold every 1.0 call.
simbi_diagnostic* create_diagnostic(const PluginInfo& info, const json& config, const HostServices& host) {
    auto* diag = static_cast<simbi_diagnostic*>(create_plugin_object(info, config.dump(), host));
    if (diag->size < SIMBI_DIAGNOSTIC_SIZE_1_0 || !diag->run || !diag->destroy)
        throw RunError("plugin '" + info.id + "': create() returned an incomplete diagnostic");
    return diag;
}

// What defines a diagnostic's result: the trained estimator, the plugin and its settings, the
// seed, the observation and any held-out store.
std::string diagnostic_fingerprint(const RunContext& run, const ArtifactMeta& meta, const PluginInfo& info, const PluginRef& ref, uint64_t seed,
                                   const std::string& held_out_checksum) {
    json j = {{"artifact", meta.training_fingerprint},
              {"plugin", {{"id", info.id}, {"version", info.version}, {"sha256", info.sha256()}}},
              {"config", ref.config},
              {"seed", seed},
              {"observation", run.manifest.observation ? json(*run.manifest.observation) : json(nullptr)},
              {"simulator", {{"id", run.simulator.id}, {"config", run.manifest.simulator.config}}},
              {"held_out", held_out_checksum}};
    return sha256_hex(j.dump());
}

}  // namespace

std::vector<std::string> run_diagnostics(const RunContext& run, const TrainStageResult& trained) {
    const Manifest& m = run.manifest;
    if (m.diagnostics.empty()) return {};
    ArtifactMeta meta;
    // The estimator's own notes (one per sampling call) would drown the diagnostics' lines:
    // only its warnings and errors are shown.
    HostServices estimator_host;
    estimator_host.set_quiet(true);
    auto est = load_artifact(trained.artifact, run.registry, estimator_host, meta);
    std::unique_ptr<SimulatorInstances> sims = make_simulators(run.simulator, m, run.host, 1, run.options.quiet);
    SimulatorAdapter sim_view(*sims);
    PriorView pv(run.prior);
    PosteriorAdapter post(*est, run.simulator.param_names.size(), run.simulator.output_dim);
    std::vector<double> x_obs;
    if (m.observation)
        for (const auto& row : *m.observation) x_obs.insert(x_obs.end(), row.begin(), row.end());
    std::error_code ec;
    fs::create_directories(m.output + "/diagnostics", ec);
    if (ec) throw RunError("cannot create " + m.output + "/diagnostics: " + ec.message());

    json all = json::object();
    std::vector<std::string> written, failed;
    std::map<std::string, int> seen;
    HostServices::set_safe_point("the current diagnostic");
    for (size_t i = 0; i < m.diagnostics.size(); ++i) {
        const PluginRef& ref = m.diagnostics[i];
        const PluginInfo& info = run.registry.find(ref.id, SIMBI_KIND_DIAGNOSTIC);
        const int repeat = seen[ref.id]++;
        const std::string name = repeat ? ref.id + "." + std::to_string(repeat + 1) : ref.id;
        const std::string file = "diagnostics/" + name + ".json";
        const uint64_t seed = simbi_rng_mix(m.inference.seed, streams::kDiagnosticBase + i);

        std::unique_ptr<DatasetReader> held_out_store;
        std::unique_ptr<StoreBatchReader> held_out;
        if (!ref.held_out.empty()) {
            held_out_store = open_training_store(ref.held_out, run.simulator);
            held_out = std::make_unique<StoreBatchReader>(std::vector<const DatasetReader*>{held_out_store.get()});
        }
        const std::string fingerprint = diagnostic_fingerprint(run, meta, info, ref, seed, held_out_store ? held_out_store->checksum() : "");
        if (fs::exists(m.output + "/" + file, ec)) {
            try {
                json old = parse_json_strict(read_text_file(m.output + "/" + file), file);
                if (old.value("fingerprint", "") == fingerprint && old.contains("results")) {
                    all[name] = old["results"];
                    written.push_back(file);
                    continue;
                }
            } catch (const std::exception&) {
                // unreadable: run it again
            }
        }

        const auto t0 = std::chrono::steady_clock::now();
        PluginActivity activity("diagnostic '" + ref.id + "'");
        simbi_diagnostic* diag = create_diagnostic(info, ref.config, run.host);
        ResultSink sink;
        simbi_diagnostic_context ctx{};
        ctx.size = sizeof ctx;
        ctx.posterior = &post.c;
        ctx.prior = pv.c();
        ctx.simulator = &sim_view.c;
        ctx.sink = &sink.c;
        ctx.host = run.host.c_host();
        ctx.seed = seed;
        ctx.n_obs = m.observation ? m.observation->size() : 0;
        ctx.x_obs = x_obs.empty() ? nullptr : x_obs.data();
        ctx.held_out = held_out ? held_out->c() : nullptr;
        ctx.run_dir = m.output.c_str();
        ErrorBuffer eb;
        simbi_status st = diag->run(diag, &ctx, eb.get());
        diag->destroy(diag);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (st != SIMBI_OK) {
            failed.push_back("diagnostic '" + ref.id + "' returned " + status_name(st) + ": " + eb.message());
            std::fprintf(stderr, "diagnose: %s failed: %s\n", ref.id.c_str(), eb.message().c_str());
            continue;
        }
        if (!run.options.quiet) std::fprintf(stderr, "diagnose: %s done in %.1f s\n", ref.id.c_str(), seconds);
        json record = {{"id", info.id}, {"version", info.version}, {"config", ref.config}, {"seed", seed}, {"fingerprint", fingerprint},
                       {"results", sink.results}};
        if (!ref.held_out.empty()) record["held_out"] = ref.held_out;
        write_text_atomic(m.output + "/" + file, record.dump(2) + "\n");
        written.push_back(file);
        all[name] = sink.results;
    }
    write_text_atomic(m.output + "/diagnostics.json", all.dump(2) + "\n");
    written.push_back("diagnostics.json");
    if (!failed.empty()) {
        std::string msg = std::to_string(failed.size()) + " of " + std::to_string(m.diagnostics.size()) +
                          " diagnostics failed (the others' results are in " + m.output + "/diagnostics/): ";
        for (size_t i = 0; i < failed.size(); ++i) msg += (i ? "; " : "") + failed[i];
        throw RunError(msg);
    }
    return written;
}

json run_standalone_diagnostic(const PluginRegistry& registry, const HostServices& host, const std::string& id, const json& config,
                               uint64_t seed) {
    const PluginInfo& info = registry.find(id, SIMBI_KIND_DIAGNOSTIC);
    PluginActivity activity("diagnostic '" + id + "'");
    simbi_diagnostic* diag = create_diagnostic(info, config, host);
    ResultSink sink;
    simbi_diagnostic_context ctx{};
    ctx.size = sizeof ctx;
    ctx.sink = &sink.c;
    ctx.host = host.c_host();
    ctx.seed = seed;
    ErrorBuffer eb;
    simbi_status st = diag->run(diag, &ctx, eb.get());
    diag->destroy(diag);
    if (st != SIMBI_OK) throw RunError("diagnostic '" + id + "' returned " + status_name(st) + ": " + eb.message());
    return sink.results;
}

}  // namespace simbi::host
