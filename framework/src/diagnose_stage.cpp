#include <simbi/rng.h>

#include "simbi_host/errors.hpp"
#include "simbi_host/process_guard.hpp"
#include "simbi_host/simulator_instance.hpp"
#include "simbi_host/stages.hpp"
#include "simbi_host/streams.hpp"

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

std::vector<std::string> run_diagnostics(const RunContext& run, const TrainStageResult& trained) {
    const Manifest& m = run.manifest;
    if (m.diagnostics.empty()) return {};
    ArtifactMeta meta;
    auto est = load_artifact(trained.artifact, run.registry, run.host, meta);
    json all = json::object();
    SimulatorInstances sims(run.simulator, m.simulator.config.dump(), run.host, 1);
    SimulatorAdapter sim_view(sims);
    PriorView pv(run.prior);
    PosteriorAdapter post(*est, run.simulator.param_names.size(), run.simulator.output_dim);
    HostServices::set_safe_point("the current diagnostic");
    for (size_t i = 0; i < m.diagnostics.size(); ++i) {
        const PluginRef& ref = m.diagnostics[i];
        const PluginInfo& info = run.registry.find(ref.id, SIMBI_KIND_DIAGNOSTIC);
        PluginActivity activity("diagnostic '" + ref.id + "'");
        auto* diag = static_cast<simbi_diagnostic*>(create_plugin_object(info, ref.config.dump(), run.host));
        if (diag->size < SIMBI_DIAGNOSTIC_SIZE_1_0 || !diag->run || !diag->destroy)
            throw RunError("plugin '" + ref.id + "': create() returned an incomplete diagnostic");
        ResultSink sink;
        simbi_diagnostic_context ctx{};
        ctx.size = sizeof ctx;
        ctx.posterior = &post.c;
        ctx.prior = pv.c();
        ctx.simulator = &sim_view.c;
        ctx.sink = &sink.c;
        ctx.host = run.host.c_host();
        ctx.seed = simbi_rng_mix(m.inference.seed, streams::kDiagnosticBase + i);
        ErrorBuffer eb;
        simbi_status st = diag->run(diag, &ctx, eb.get());
        diag->destroy(diag);
        if (st != SIMBI_OK) throw RunError("diagnostic '" + ref.id + "' returned " + status_name(st) + ": " + eb.message());
        all[ref.id] = sink.results;
    }
    write_text_atomic(m.output + "/diagnostics.json", all.dump(2) + "\n");
    return {"diagnostics.json"};
}

}  // namespace simbi::host
