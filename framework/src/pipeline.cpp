#include "simbi_host/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <simbi/rng.h>

#include "simbi_host/errors.hpp"
#include "simbi_host/simulate_stage.hpp"
#include "simbi_host/simulator_instance.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

// ---- PriorView

PriorView::PriorView(const Prior& prior) : prior_(prior), json_(prior.spec().dump()) {
    c_.size = sizeof c_;
    c_.data = this;
    c_.dim = prior.dim();
    c_.lower = prior.lower().data();
    c_.upper = prior.upper().data();
    c_.json = json_.c_str();
    c_.sample = [](const simbi_prior* self, uint64_t n, uint64_t seed, uint64_t row_offset, double* theta, simbi_error*) -> simbi_status {
        static_cast<const PriorView*>(self->data)->prior_.sample_rows(n, seed, row_offset, theta);
        return SIMBI_OK;
    };
    c_.log_prob = [](const simbi_prior* self, uint64_t n, const double* theta, double* out, simbi_error*) -> simbi_status {
        const Prior& p = static_cast<const PriorView*>(self->data)->prior_;
        for (uint64_t i = 0; i < n; ++i) out[i] = p.log_prob(theta + i * p.dim());
        return SIMBI_OK;
    };
}

// ---- StoreBatchReader

StoreBatchReader::StoreBatchReader(std::vector<const DatasetReader*> readers) : readers_(std::move(readers)) {
    if (readers_.empty()) throw RunError("no dataset to train on");
    c_.size = sizeof c_;
    c_.data = this;
    c_.theta_dim = readers_[0]->theta_dim();
    c_.x_dim = readers_[0]->x_dim();
    for (const auto* r : readers_) {
        if (r->theta_dim() != c_.theta_dim || r->x_dim() != c_.x_dim) throw RunError("the stores of one run differ in their dimensions");
        c_.rows += r->rows();
    }
    c_.read = [](const simbi_batch_reader* self, uint64_t start, uint64_t count, double* theta, double* x, simbi_error* err) -> simbi_status {
        try {
            static_cast<const StoreBatchReader*>(self->data)->read(start, count, theta, x);
            return SIMBI_OK;
        } catch (const std::exception& e) {
            return simbi_error_set(err, SIMBI_ERROR, e.what());
        }
    };
}

void StoreBatchReader::read(uint64_t start, uint64_t count, double* theta, double* x) const {
    if (start + count > c_.rows) throw RunError("read past the end of the training data");
    for (const auto* r : readers_) {
        if (count == 0) break;
        if (start >= r->rows()) {
            start -= r->rows();
            continue;
        }
        uint64_t m = std::min(count, r->rows() - start);
        r->read(start, m, theta, x);
        theta += m * c_.theta_dim;
        x += m * c_.x_dim;
        count -= m;
        start = 0;
    }
}

// ---- EstimatorInstance

EstimatorInstance::EstimatorInstance(const PluginInfo& info, const json& config, const HostServices& host) : info_(info), host_(host) {
    if (info.kind != SIMBI_KIND_ESTIMATOR) throw RunError("plugin '" + info.id + "' is a " + kind_name(info.kind) + ", not an estimator");
    est_ = static_cast<simbi_estimator*>(create_plugin_object(info, config.dump(), host));
    if (est_->size < sizeof(simbi_estimator) || !est_->train || !est_->sample || !est_->log_prob || !est_->save || !est_->load ||
        !est_->destroy)
        throw RunError("plugin '" + info.id + "': create() returned an incomplete estimator");
}

EstimatorInstance::~EstimatorInstance() {
    if (est_) est_->destroy(est_);
}

void EstimatorInstance::fail(const char* call, simbi_status st, const ErrorBuffer& eb) const {
    throw RunError("estimator '" + info_.id + "' " + call + " returned " + status_name(st) + ": " + eb.message());
}

void EstimatorInstance::train(const DatasetReader& data, const Prior& prior, const json& training, const std::string& checkpoint_dir,
                              uint64_t seed) {
    train(std::vector<const DatasetReader*>{&data}, prior, training, checkpoint_dir, seed);
}

void EstimatorInstance::train(const std::vector<const DatasetReader*>& data, const Prior& prior, const json& training,
                              const std::string& checkpoint_dir, uint64_t seed) {
    StoreBatchReader reader(data);
    PriorView pv(prior);
    std::string training_json = training.dump();
    simbi_train_context ctx{};
    ctx.size = sizeof ctx;
    ctx.data = reader.c();
    ctx.prior = pv.c();
    ctx.host = host_.c_host();
    ctx.training_json = training_json.c_str();
    ctx.checkpoint_dir = checkpoint_dir.c_str();
    ctx.seed = seed;
    ctx.simulator = nullptr;
    ErrorBuffer eb;
    simbi_status st = est_->train(est_, &ctx, eb.get());
    if (st != SIMBI_OK) fail("train", st, eb);
}

std::vector<double> EstimatorInstance::sample(const std::vector<std::vector<double>>& obs, uint64_t n, uint64_t seed, uint64_t d) {
    std::vector<double> flat;
    for (const auto& row : obs) flat.insert(flat.end(), row.begin(), row.end());
    std::vector<double> out(n * d);
    ErrorBuffer eb;
    simbi_status st = est_->sample(est_, obs.size(), flat.data(), n, seed, out.data(), eb.get());
    if (st != SIMBI_OK) fail("sample", st, eb);
    return out;
}

std::vector<double> EstimatorInstance::log_prob(const std::vector<double>& theta, const std::vector<double>& x, uint64_t n) {
    std::vector<double> out(n);
    ErrorBuffer eb;
    simbi_status st = est_->log_prob(est_, n, theta.data(), x.data(), out.data(), eb.get());
    if (st != SIMBI_OK) fail("log_prob", st, eb);
    return out;
}

void EstimatorInstance::save(const std::string& dir) {
    fs::create_directories(dir);
    ErrorBuffer eb;
    simbi_status st = est_->save(est_, dir.c_str(), eb.get());
    if (st != SIMBI_OK) fail("save", st, eb);
}

void EstimatorInstance::load(const std::string& dir) {
    ErrorBuffer eb;
    simbi_status st = est_->load(est_, dir.c_str(), eb.get());
    if (st != SIMBI_OK) fail("load", st, eb);
}

std::unique_ptr<EstimatorInstance> load_artifact(const std::string& dir, const PluginRegistry& registry, const HostServices& host,
                                                 ArtifactMeta& meta) {
    meta = read_artifact_meta(dir);
    const PluginInfo& info = registry.find(meta.estimator_id, SIMBI_KIND_ESTIMATOR);
    auto est = std::make_unique<EstimatorInstance>(info, meta.estimator_config, host);
    est->load(dir);
    return est;
}

// ---- diagnostics

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

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw RunError("cannot write " + path);
}

}  // namespace

// One round of truncated sequential NPE (Deistler et al. 2022): the region where the current
// posterior's density exceeds its `quantile` quantile holds 1 - quantile of its mass; the prior
// truncated to it is sampled by rejection, in a fixed order so that one seed gives one dataset.
json run_truncated_round(const Manifest& m, const PluginRegistry& registry, const HostServices& host, EstimatorInstance& est,
                         const Prior& prior, uint64_t round, bool quiet) {
    const SequentialSection& q = *m.sequential;
    const auto& obs = *m.observation;
    const uint64_t d = prior.dim(), seed = simbi_rng_mix(m.simulation.seed, 500 + round);
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

RunReport run_pipeline(const Manifest& m, const PluginRegistry& registry, HostServices& host, bool quiet) {
    RunReport report;
    report.output_dir = m.output;
    fs::create_directories(m.output);
    write_text(m.output + "/manifest.json", m.doc.dump(2) + "\n");
    report.written.push_back("manifest.json");

    SimulateOptions so;
    so.quiet = quiet;
    SimulateResult sim = run_simulation(m, registry, host, so);
    report.simulated = sim.totals.simulated;
    report.rows = sim.totals.kept;
    report.reused_simulations = sim.reused;
    if (!quiet)
        std::fprintf(stderr, "simulate: %s %llu rows in %s\n", sim.reused ? "reused" : "wrote", (unsigned long long)sim.totals.kept,
                     sim.store.c_str());
    if (!m.estimator) return report;

    const PluginInfo& sim_info = registry.find(m.simulator.id, SIMBI_KIND_SIMULATOR);
    std::unique_ptr<Prior> prior = manifest_prior(m, sim_info);
    const PluginInfo& est_info = registry.find(m.estimator->plugin.id, SIMBI_KIND_ESTIMATOR);
    check_plugin_config(est_info, m.estimator->plugin.config, m.file, m.estimator->plugin.json_path + "/config");
    if (m.observation)
        for (size_t i = 0; i < m.observation->size(); ++i)
            if ((*m.observation)[i].size() != sim_info.output_dim)
                throw UsageError(m.file + ": /observation: row " + std::to_string(i) + " has " + std::to_string((*m.observation)[i].size()) +
                                 " values but simulator '" + sim_info.id + "' gives " + std::to_string(sim_info.output_dim));

    std::vector<std::unique_ptr<DatasetReader>> stores;
    stores.push_back(std::make_unique<DatasetReader>(sim.store));
    auto all_stores = [&] {
        std::vector<const DatasetReader*> v;
        for (const auto& r : stores) v.push_back(r.get());
        return v;
    };
    EstimatorInstance est(est_info, m.estimator->plugin.config, host);
    const std::string artifact = m.output + "/artifact";
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t train_seed = m.estimator->training.value("seed", m.simulation.seed);
    est.train(all_stores(), *prior, m.estimator->training, m.output + "/checkpoint", train_seed);
    report.rounds.push_back({{"round", 1}, {"simulations", sim.totals.simulated}, {"rows", sim.totals.kept}, {"proposal", "prior"}});
    if (m.sequential && m.sequential->rounds > 1) {
        if (!m.observation) throw UsageError(m.file + ": /sequential: sequential rounds need an \"observation\" to focus on");
        for (uint64_t r = 2; r <= m.sequential->rounds; ++r) {
            json info = run_truncated_round(m, registry, host, est, *prior, r, quiet);
            stores.push_back(std::make_unique<DatasetReader>(info["store"].get<std::string>()));
            report.simulated += info["simulations"].get<uint64_t>();
            report.rows += stores.back()->rows();
            est.train(all_stores(), *prior, m.estimator->training, m.output + "/checkpoint/round" + std::to_string(r), train_seed);
            report.rounds.push_back(info);
        }
    }
    double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const uint64_t training_rows = report.rows;
    est.save(artifact);
    ArtifactMeta meta;
    meta.estimator_id = est_info.id;
    meta.estimator_version = est_info.version;
    meta.estimator_sha256 = est_info.sha256();
    meta.estimator_config = m.estimator->plugin.config;
    meta.training = m.estimator->training;
    meta.parameter_names = sim_info.param_names;
    meta.x_dim = sim_info.output_dim;
    meta.prior = prior->spec();
    meta.simulator_id = sim_info.id;
    meta.training_rows = training_rows;
    write_artifact_meta(artifact, meta);
    report.written.push_back("artifact/");

    // The loss history the estimator reported.
    {
        auto metrics = host.metrics();
        json losses = json::object();
        for (const auto& kv : metrics) {
            json series = json::array();
            for (const auto& pt : kv.second) series.push_back({pt.first, pt.second});
            losses[kv.first] = series;
        }
        losses["train_seconds"] = train_s;
        write_text(m.output + "/losses.json", losses.dump(2) + "\n");
        report.written.push_back("losses.json");
        std::string csv = "epoch,train_loss,val_loss\n";
        auto tl = metrics.count("train_loss") ? metrics["train_loss"] : std::vector<std::pair<uint64_t, double>>{};
        auto vl = metrics.count("val_loss") ? metrics["val_loss"] : std::vector<std::pair<uint64_t, double>>{};
        for (size_t i = 0; i < tl.size(); ++i) {
            char line[128];
            std::snprintf(line, sizeof line, "%llu,%.9g,%.9g\n", (unsigned long long)tl[i].first, tl[i].second,
                          i < vl.size() ? vl[i].second : std::nan(""));
            csv += line;
        }
        write_text(m.output + "/losses.csv", csv);
        report.written.push_back("losses.csv");
    }

    if (m.observation) {
        const auto& names = sim_info.param_names;
        std::vector<double> samples = est.sample(*m.observation, m.inference.samples, m.inference.seed, names.size());
        json attrs = {{"observation", *m.observation}, {"estimator_id", est_info.id}, {"seed", m.inference.seed}};
        write_samples_h5(m.output + "/posterior.h5", names, samples, attrs);
        write_samples_csv(m.output + "/posterior.csv", names, samples);
        json summary = {{"parameters", summarize_samples(names, samples)}, {"samples", m.inference.samples},
                        {"observation", *m.observation}, {"estimator", est_info.id}, {"simulations", report.simulated},
                        {"training_rows", training_rows}, {"rounds", report.rounds}, {"train_seconds", train_s}};
        write_text(m.output + "/summary.json", summary.dump(2) + "\n");
        report.written.insert(report.written.end(), {"posterior.h5", "posterior.csv", "summary.json"});
    }

    if (!m.diagnostics.empty()) {
        json all = json::object();
        SimulatorInstances sims(sim_info, m.simulator.config.dump(), host, 1);
        SimulatorAdapter sim_view(sims);
        PriorView pv(*prior);
        PosteriorAdapter post(est, sim_info.param_names.size(), sim_info.output_dim);
        for (size_t i = 0; i < m.diagnostics.size(); ++i) {
            const PluginRef& ref = m.diagnostics[i];
            const PluginInfo& info = registry.find(ref.id, SIMBI_KIND_DIAGNOSTIC);
            check_plugin_config(info, ref.config, m.file, ref.json_path + "/config");
            auto* diag = static_cast<simbi_diagnostic*>(create_plugin_object(info, ref.config.dump(), host));
            ResultSink sink;
            simbi_diagnostic_context ctx{};
            ctx.size = sizeof ctx;
            ctx.posterior = &post.c;
            ctx.prior = pv.c();
            ctx.simulator = &sim_view.c;
            ctx.sink = &sink.c;
            ctx.host = host.c_host();
            ctx.seed = simbi_rng_mix(m.inference.seed, 100 + i);
            ErrorBuffer eb;
            simbi_status st = diag->run(diag, &ctx, eb.get());
            diag->destroy(diag);
            if (st != SIMBI_OK) throw RunError("diagnostic '" + ref.id + "' returned " + status_name(st) + ": " + eb.message());
            all[ref.id] = sink.results;
        }
        write_text(m.output + "/diagnostics.json", all.dump(2) + "\n");
        report.written.push_back("diagnostics.json");
    }
    return report;
}

}  // namespace simbi::host
