#include "simbi_host/plugins/estimator_instance.hpp"

#include <algorithm>
#include <functional>
#include <cstring>
#include <filesystem>
#include <simbi/rng.h>

#include "simbi_host/core/buffer_guard.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"

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
    c_.read = [](const simbi_batch_reader* self, uint64_t start, uint64_t count, double* theta, double* x,
                 simbi_error* err) -> simbi_status {
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
    if (info.kind != SIMBI_KIND_ESTIMATOR)
        throw RunError("plugin '" + info.id + "' is " + with_article(kind_name(info.kind)) + ", not an estimator");
    est_ = static_cast<simbi_estimator*>(create_plugin_object(info, config.dump(), host));
    if (est_->size < SIMBI_ESTIMATOR_SIZE_1_0 || !est_->train || !est_->sample || !est_->log_prob || !est_->save || !est_->load ||
        !est_->destroy)
        throw RunError("plugin '" + info.id + "': create() returned an incomplete estimator");
}

EstimatorInstance::~EstimatorInstance() {
    if (est_) est_->destroy(est_);
}

void EstimatorInstance::set_prior(const Prior& prior) {
    if (prior_ == &prior && prior_view_) return;
    auto view = std::make_unique<PriorView>(prior);
    if (est_->size >= offsetof(simbi_estimator, set_prior) + sizeof est_->set_prior && est_->set_prior) {
        ErrorBuffer eb;
        simbi_status st = est_->set_prior(est_, view->c(), eb.get());
        if (st != SIMBI_OK) fail("set_prior", st, eb);
    }
    prior_view_ = std::move(view);  // the old view lives until the plugin has the new one
    prior_ = &prior;
}

void EstimatorInstance::set_prior(std::unique_ptr<Prior> prior) {
    set_prior(*prior);
    owned_prior_ = std::move(prior);
}

void EstimatorInstance::fail(const char* call, simbi_status st, const ErrorBuffer& eb) const {
    throw RunError("estimator '" + info_.id + "' " + call + " returned " + status_name(st) + ": " + eb.message());
}

void EstimatorInstance::train(const DatasetReader& data, const Prior& prior, const json& training, const std::string& checkpoint_dir,
                              uint64_t seed, const simbi_simulation_service* simulation, uint32_t rank, uint32_t world_size,
                              const std::string& rendezvous) {
    StoreBatchReader reader({&data});
    set_prior(prior);
    std::string training_json = training.dump();
    simbi_train_context ctx{};
    ctx.size = sizeof ctx;
    ctx.data = reader.c();
    ctx.prior = prior_view_->c();
    ctx.host = host_.c_host();
    ctx.training_json = training_json.c_str();
    ctx.checkpoint_dir = checkpoint_dir.c_str();
    ctx.seed = seed;
    ctx.simulator = nullptr;
    ctx.simulation = simulation;
    ctx.rank = rank;
    ctx.world_size = world_size;
    ctx.rendezvous = world_size > 1 ? rendezvous.c_str() : nullptr;
    ErrorBuffer eb;
    simbi_status st = est_->train(est_, &ctx, eb.get());
    if (st != SIMBI_OK) fail("train", st, eb);
}

// An estimator writes its results into a buffer between guard pages (buffer_guard.hpp): one that
// writes more than it was asked for (its artifact does not match its record) faults there, named.
namespace {
std::vector<double> guarded_call(const std::string& what, uint64_t n, const std::function<simbi_status(double*)>& call,
                                 const std::function<void(simbi_status)>& fail) {
    return guarded_output(what, n, call, fail);
}
}  // namespace

std::vector<double> EstimatorInstance::sample(const std::vector<std::vector<double>>& obs, uint64_t n, uint64_t seed, uint64_t d) {
    std::vector<double> flat;
    for (const auto& row : obs) flat.insert(flat.end(), row.begin(), row.end());
    ErrorBuffer eb;
    return guarded_call(
        "estimator '" + info_.id + "' wrote outside its samples buffer of " + std::to_string(n) + " x " + std::to_string(d) +
            " values (was it trained for another number of parameters than its artifact says?)",
        n * d, [&](double* out) { return est_->sample(est_, obs.size(), flat.data(), n, seed, out, eb.get()); },
        [&](simbi_status st) { fail("sample", st, eb); });
}

simbi_status sample_batch_or_each(simbi_estimator* e, uint64_t n_x, const double* x, uint64_t x_dim, uint64_t n_per_x, uint64_t seed,
                                  double* theta, uint64_t theta_dim, simbi_error* err) {
    if (e->size >= offsetof(simbi_estimator, sample_batch) + sizeof e->sample_batch && e->sample_batch)
        return e->sample_batch(e, n_x, x, n_per_x, seed, theta, err);
    for (uint64_t i = 0; i < n_x; ++i) {
        simbi_status st = e->sample(e, 1, x + i * x_dim, n_per_x, simbi_rng_mix(seed, i), theta + i * n_per_x * theta_dim, err);
        if (st != SIMBI_OK) return st;
    }
    return SIMBI_OK;
}

std::vector<double> EstimatorInstance::sample_batch(const std::vector<double>& x, uint64_t n_x, uint64_t n_per_x, uint64_t seed,
                                                    uint64_t d) {
    if (n_x == 0 || x.size() % n_x != 0) throw RunError("sample_batch: no observations, or rows of unequal length");
    const uint64_t n = n_x * n_per_x;
    ErrorBuffer eb;
    return guarded_call(
        "estimator '" + info_.id + "' wrote outside sample_batch's output buffer", n * d,
        [&](double* out) { return sample_batch_or_each(est_, n_x, x.data(), x.size() / n_x, n_per_x, seed, out, d, eb.get()); },
        [&](simbi_status st) { fail("sample_batch", st, eb); });
}

std::vector<double> EstimatorInstance::log_prob(const std::vector<double>& theta, const std::vector<double>& x, uint64_t n) {
    ErrorBuffer eb;
    return guarded_call(
        "estimator '" + info_.id + "' wrote outside log_prob's output buffer", n,
        [&](double* out) { return est_->log_prob(est_, n, theta.data(), x.data(), out, eb.get()); },
        [&](simbi_status st) { fail("log_prob", st, eb); });
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
                                                 ArtifactMeta& meta, const json* config) {
    meta = read_artifact_meta(dir);
    verify_artifact_files(dir, meta);
    std::unique_ptr<Prior> prior = parse_prior_json(meta.prior.dump(), dir + "/simbi.json");
    if (prior->dim() != meta.parameter_names.size())
        throw RunError(dir + "/simbi.json: its prior has " + std::to_string(prior->dim()) + " dimensions for " +
                       std::to_string(meta.parameter_names.size()) + " parameter names");
    const PluginInfo& info = registry.find(meta.estimator_id, SIMBI_KIND_ESTIMATOR);
    auto est = std::make_unique<EstimatorInstance>(info, config ? *config : meta.estimator_config, host);
    est->set_prior(std::move(prior));
    est->load(dir);
    return est;
}

}  // namespace simbi::host
