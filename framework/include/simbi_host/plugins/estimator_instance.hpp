// The host's side of an estimator plugin: one instance, the prior and the training data seen
// through the SDK's C views, and loading a trained artifact.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "simbi_host/store/artifact.hpp"
#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/core/prior.hpp"
#include "simbi_host/store/store.hpp"

namespace simbi::host {

// A Prior seen through simbi_prior.
class PriorView {
public:
    explicit PriorView(const Prior& prior);
    const simbi_prior* c() const { return &c_; }

private:
    const Prior& prior_;
    std::string json_;
    simbi_prior c_{};
};

// Sealed stores, one after another, seen through simbi_batch_reader as one dataset.
class StoreBatchReader {
public:
    explicit StoreBatchReader(std::vector<const DatasetReader*> readers);
    const simbi_batch_reader* c() const { return &c_; }
    void read(uint64_t start, uint64_t count, double* theta, double* x) const;

private:
    std::vector<const DatasetReader*> readers_;
    simbi_batch_reader c_{};
};

// One estimator instance; destroys it when done.
class EstimatorInstance {
public:
    EstimatorInstance(const PluginInfo& info, const json& config, const HostServices& host);
    ~EstimatorInstance();
    // Gives the plugin this prior through simbi_estimator.set_prior (ABI 1.1; a 1.0 plugin is
    // not asked). The prior must outlive the instance or the next call; train() calls it too.
    void set_prior(const Prior& prior);
    // The same for a prior the instance keeps, e.g. an artifact's.
    void set_prior(std::unique_ptr<Prior> prior);
    EstimatorInstance(const EstimatorInstance&) = delete;
    EstimatorInstance& operator=(const EstimatorInstance&) = delete;

    // simulation: the host's service for sequential rounds, or NULL. rank, world_size and
    // rendezvous: a data-parallel training's (ABI 1.2; only for a plugin that declares it).
    void train(const DatasetReader& data, const Prior& prior, const json& training, const std::string& checkpoint_dir, uint64_t seed,
               const simbi_simulation_service* simulation = nullptr, uint32_t rank = 0, uint32_t world_size = 1,
               const std::string& rendezvous = "");
    // observations: n_obs rows of x_dim values.
    std::vector<double> sample(const std::vector<std::vector<double>>& observations, uint64_t n, uint64_t seed, uint64_t theta_dim);
    // n_per_x draws for each of the n_x rows of x ([n_x, x_dim], one observation each):
    // [n_x, n_per_x, theta_dim], through sample_batch_or_each.
    std::vector<double> sample_batch(const std::vector<double>& x, uint64_t n_x, uint64_t n_per_x, uint64_t seed, uint64_t theta_dim);
    std::vector<double> log_prob(const std::vector<double>& theta, const std::vector<double>& x, uint64_t n);
    void save(const std::string& dir);
    void load(const std::string& dir);
    simbi_estimator* c() const { return est_; }
    const PluginInfo& info() const { return info_; }

private:
    [[noreturn]] void fail(const char* call, simbi_status st, const ErrorBuffer& eb) const;
    PluginInfo info_;
    const HostServices& host_;
    simbi_estimator* est_ = nullptr;
    std::unique_ptr<Prior> owned_prior_;
    std::unique_ptr<PriorView> prior_view_;
    const Prior* prior_ = nullptr;
};

// simbi_estimator.sample_batch where the plugin has it (ABI 1.3), else one sample() per
// observation seeded simbi_rng_mix(seed, i), as estimator.h documents.
simbi_status sample_batch_or_each(simbi_estimator* e, uint64_t n_x, const double* x, uint64_t x_dim, uint64_t n_per_x, uint64_t seed,
                                  double* theta, uint64_t theta_dim, simbi_error* err);

// Loads an artifact folder, after checking its record and every file's checksum, and returns the
// estimator ready to sample. config, when given, replaces the config the artifact was trained
// with: a run whose settings differ from the artifact's in sampling-only ones alone (the training
// fingerprint ignores those) samples with its own.
std::unique_ptr<EstimatorInstance> load_artifact(const std::string& dir, const PluginRegistry& registry, const HostServices& host,
                                                 ArtifactMeta& meta, const json* config = nullptr);

}  // namespace simbi::host
