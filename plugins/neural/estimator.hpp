// The frame every neural estimator shares, and the one for MCMC-sampled ones.
#pragma once
#include "networks.hpp"
#include "rounds.hpp"
#include "samplers.hpp"
#include "support.hpp"
#include "training.hpp"

namespace simbi::nn {

// The frame every neural estimator shares. The public calls set the thread count, handle n = 0,
// refuse to run untrained, and turn LibTorch's errors (with their long backtraces) into short
// messages; the shared state (prior, standardization, training record) and the artifact's common
// fields live here. Estimators implement the do_* calls.
class NeuralEstimator : public simbi::Estimator {
public:
    NeuralEstimator(std::string id, std::string version, const simbi::Config& c, const simbi_host* host);
    void train(const simbi_train_context& ctx) final;
    void sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) final;
    void log_prob(uint64_t n, const double* theta, const double* x, double* out) final;
    void save(const std::string& dir) final;
    void load(const std::string& dir) final;
    void set_prior(const simbi_prior& prior) final { prior_ = TorchPrior(&prior); }

protected:
    virtual void do_train(const simbi_train_context& ctx) = 0;
    virtual void do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) = 0;
    virtual void do_log_prob(uint64_t n, const double* theta, const double* x, double* out) = 0;
    virtual bool trained() const = 0;
    virtual torch::nn::Module& network() = 0;
    virtual json config_json() const = 0;            // what do_load needs to rebuild the network
    virtual void rebuild(const json& artifact) = 0;  // from estimator.json, before the weights load

    // Reads the prior and the training settings (over the defaults `config` holds on entry), opens
    // the data, and fits the standardization of g(theta) and of x. Returns the data for fit_network.
    std::unique_ptr<DataSource> prepare(const simbi_train_context& ctx, const std::function<Tensor(const Tensor&)>& g,
                                        TrainingConfig& config);
    // Trains `network()` on the loss, with checkpoints in ctx's folder; logs a summary.
    void fit_network(const simbi_train_context& ctx, const DataSource& data, const TrainingConfig& config,
                     const std::function<Tensor(const Tensor&, const Tensor&)>& loss);

    const std::string id_, version_;
    const simbi_host* host_;
    RuntimeConfig runtime_;
    TorchPrior prior_;
    Standardizer theta_, x_;
    TrainResult result_;
    Collective ranks_;  // during a data-parallel train(): this rank and its group

    void require_trained() const;
    // A line in the host's log at debug level: what a bench reads (network passes, say), hidden
    // from users unless SIMBI_DEBUG is set.
    void log_debug(const std::string& message) const;
    // Runs a trained estimator's computation f on its thread count, without gradients, with
    // LibTorch's errors turned into short messages.
    void inference(const std::function<void()>& f) const;

private:
    // Rounds 2.. of a sequential training, after do_train on the first round's rows.
    void train_rounds(const simbi_train_context& ctx, const RoundsConfig& rounds);
};

// Estimators whose posterior is known up to a constant, p(theta | x_1..x_N) proportional to
// p(theta) prod_j exp(term(theta, x_j)) (a ratio or a likelihood), sampled by MCMC.
class McmcEstimator : public NeuralEstimator {
public:
    McmcEstimator(std::string id, std::string version, const simbi::Config& c, const simbi_host* host, uint64_t stream);
    // All observations' chains advance together: one network pass per step for every pair.
    void sample_batch(uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta) final;

protected:
    // log r(theta, x) or log q(x | theta), for standardized float32 theta and x of equal rows.
    virtual Tensor log_term(const Tensor& theta_std, const Tensor& x_std) = 0;
    void do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) override;
    void do_log_prob(uint64_t n, const double* theta, const double* x, double* out) override;
    SamplerConfig sampler_;
    // Rows per network pass when the sampler scores many chains or proposals at once.
    static constexpr int64_t kRowsPerPass = 65536;

private:
    Tensor log_target(const Tensor& theta, const Tensor& x_std);
    uint64_t stream_;
};

}  // namespace simbi::nn
