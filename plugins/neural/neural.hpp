// The shared machinery of simbi's LibTorch estimators: networks, conditional flows, the prior in
// torch, training with early stopping and checkpoints, and MCMC samplers. Linked statically into
// each estimator plugin; every plugin uses Debian's one shared libtorch.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <simbi/estimator.hpp>
#include <string>
#include <vector>

namespace simbi::nn {

using json = nlohmann::json;
using torch::Tensor;

// ---------------------------------------------------------------- small utilities

// A CPU generator seeded from (seed, stream).
at::Generator make_generator(uint64_t seed, uint64_t stream);
// Sets torch's intra-op threads for a scope and restores them after (the host's global state).
class ThreadScope {
public:
    explicit ThreadScope(int threads);
    ~ThreadScope();

private:
    int previous_, previous_blas_ = 0;
    bool flush_denormal_ = false;
};
Tensor to_tensor(const double* data, int64_t rows, int64_t cols);
void from_tensor(const Tensor& t, double* out);
std::vector<int64_t> int_list(const simbi::Config& c, const std::string& key, std::vector<int64_t> fallback);

// z-scoring with statistics from the training data.
struct Standardizer {
    Tensor mean, std;  // float32 [dim]
    Tensor apply(const Tensor& t) const { return (t - mean) / std; }
    Tensor invert(const Tensor& t) const { return t * std + mean; }
    double log_std_sum() const { return std.log().sum().item<double>(); }
    json to_json() const;
    static Standardizer from_json(const json& j);
};

// Settings every neural estimator takes: intra-op threads and the memory for training data.
struct RuntimeConfig {
    int threads = 1;
    int64_t memory_bytes = int64_t(2048) << 20;
    static RuntimeConfig from_config(const simbi::Config& c);
};

// The fields every artifact's estimator.json starts with.
json artifact_header(const std::string& id, const std::string& version);
// Reads estimator.json from dir and checks that it belongs to `id`.
json read_artifact(const std::string& dir, const std::string& id);

// ---------------------------------------------------------------- data and training

struct TrainingConfig {
    // 0: chosen from the training rows (see auto_batch_size).
    int64_t batch_size = 0;
    double learning_rate = 1e-3;
    double validation_fraction = 0.1;
    int64_t patience = 20;
    int64_t max_epochs = 1000;
    double max_seconds = 1e9;
    double clip_norm = 5.0;
    // On a plateau of patience / 2 epochs without a better validation loss, the learning rate is
    // multiplied by lr_decay (1: constant), as torch's ReduceLROnPlateau. Halving it measured
    // better C2ST where it changed anything (docs/benchmarks.md).
    double lr_decay = 0.5;
    double weight_decay = 0.0;  // Adam's L2 term, as torch.optim.Adam's weight_decay
    // Validation and the kept weights use an exponential moving average of the weights over
    // steps, w_avg <- a w_avg + (1 - a) w (Polyak and Juditsky 1992); 0: the weights themselves.
    double average = 0.0;
    // The settings in `text` over `defaults` (an estimator's own defaults); an unknown key or a
    // value out of range throws, naming it.
    static TrainingConfig from_json(const std::string& text, const TrainingConfig& defaults);
    // Declares every key of the training object, with these defaults, in the plugin's descriptor.
    static void declare(simbi::Info& info, const TrainingConfig& defaults);
    static TrainingConfig from_json(const std::string& text);
    json to_json() const;
    // n/16 clamped to [64, 256]: a small dataset still gets 16 steps an epoch, so early stopping
    // judges a trained network, while a large one keeps the cheap large batches.
    static int64_t auto_batch_size(int64_t train_rows);
};

class DataSource;

struct TrainResult {
    int64_t epochs = 0, batch_size = 0;
    double best_val = 0, seconds = 0, seconds_per_epoch = 0;
    bool resumed = false;
};

// ---------------------------------------------------------------- networks

// Fully connected network with ReLU between layers, and dropout after each when dropout > 0
// (Srivastava et al. 2014; active in training mode only).
torch::nn::Sequential make_mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out, double dropout = 0);
// Linear(in, width), `blocks` residual blocks of two layers each, Linear(width, out).
torch::nn::Sequential make_residual_mlp(int64_t in, int64_t width, int64_t blocks, int64_t out);

// An embedding of x: identity ("none"), an MLP, or a 1-D CNN for time series (x seen as
// [channels, length]). Its output width is features().
struct EmbeddingImpl : torch::nn::Module {
    EmbeddingImpl(const json& spec, int64_t x_dim);
    // Checks what can be checked before x's dimension is known; throws std::invalid_argument.
    static json validate(const json& spec);
    Tensor forward(const Tensor& x);
    int64_t features() const { return features_; }
    json spec;

private:
    std::string type_;
    int64_t features_, channels_ = 1;
    torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(Embedding);

// ---------------------------------------------------------------- conditional flows

// MADE (Germain et al. 2015): an MLP whose outputs for dimension i see only inputs before i in
// `order`, and every context feature.
struct MadeImpl : torch::nn::Module {
    MadeImpl(int64_t dim, int64_t context, const std::vector<int64_t>& hidden, int64_t params_per_dim, const std::vector<int64_t>& order);
    // u [B, D], c [B, C] -> [B, D, P]
    Tensor forward(const Tensor& u, const Tensor& c);

private:
    std::vector<torch::nn::Linear> layers_;
    std::vector<Tensor> masks_;
    int64_t dim_, params_;
};
TORCH_MODULE(Made);

// One autoregressive transform u -> z with log|dz/du|, and its inverse.
//   "maf": affine, z_i = (u_i - m_i) exp(-a_i)                         (Papamakarios et al. 2017)
//   "nsf": monotonic rational-quadratic spline on [-B, B], identity outside (Durkan et al. 2019)
struct AutoregressiveTransformImpl : torch::nn::Module {
    AutoregressiveTransformImpl(const std::string& kind, int64_t dim, int64_t context, const std::vector<int64_t>& hidden,
                                int64_t bins, double bound, const std::vector<int64_t>& order);
    std::pair<Tensor, Tensor> forward(const Tensor& u, const Tensor& c);
    Tensor inverse(const Tensor& z, const Tensor& c);

private:
    std::pair<Tensor, Tensor> apply(const Tensor& u, const Tensor& params, bool inverse);
    std::string kind_;
    int64_t dim_, bins_;
    double bound_;
    std::vector<int64_t> order_;
    Made made_{nullptr};
};
TORCH_MODULE(AutoregressiveTransform);

// The rational-quadratic spline as one fused autograd function over float32 tensors:
// x [..], params [.., 3K - 1] -> (y, log dy/dx), and its inverse (no gradient).
std::pair<Tensor, Tensor> spline_transform(const Tensor& x, const Tensor& params, int64_t K, double B);
Tensor spline_inverse(const Tensor& y, const Tensor& params, int64_t K, double B);
// The same spline written with tensor operations, kept as the reference the fused one is tested
// against.
std::pair<Tensor, Tensor> spline_reference(const Tensor& x, const Tensor& params, int64_t K, double B, bool inverse);

// A stack of autoregressive transforms over a standard normal base, alternating orderings.
struct ConditionalFlowImpl : torch::nn::Module {
    ConditionalFlowImpl(const json& spec, int64_t dim, int64_t context);
    Tensor log_prob(const Tensor& u, const Tensor& c);  // [B]
    Tensor sample(const Tensor& c, at::Generator& gen);  // one sample per context row
    Tensor to_base(const Tensor& u, const Tensor& c);    // u -> z
    Tensor from_base(const Tensor& z, const Tensor& c);  // z -> u
    json spec;

private:
    int64_t dim_;
    std::vector<AutoregressiveTransform> transforms_;
};
TORCH_MODULE(ConditionalFlow);

// The config keys shared by several estimators, declared once for their descriptors.
void declare_flow_options(simbi::Info& info, const std::string& default_flow);
void declare_sampler_options(simbi::Info& info);
void declare_runtime_options(simbi::Info& info);

// The flow settings from an estimator config: flow (maf|nsf), transforms, hidden, bins, bound.
json flow_spec(const simbi::Config& c, const std::string& default_flow = "nsf");

// ---------------------------------------------------------------- the prior in torch

// The host's prior (simbi_prior, given by set_prior or in the training context) seen with
// tensors: one prior grammar, the host's. Host-owned; the host keeps it valid for the instance.
class TorchPrior {
public:
    TorchPrior() = default;
    explicit TorchPrior(const simbi_prior* prior);
    bool defined() const { return prior_ != nullptr; }
    Tensor log_prob(const Tensor& theta) const;  // [B] float64; -inf outside the support
    Tensor sample(int64_t n, at::Generator& gen) const;  // [n, d] float64, seeded from gen
    int64_t dim() const { return int64_t(lower_.size()); }
    const std::vector<double>& lower() const { return lower_; }
    const std::vector<double>& upper() const { return upper_; }

private:
    const simbi_prior* prior_ = nullptr;
    std::vector<double> lower_, upper_;
};

// A bijection from the prior's support to R^d: logit of the scaled box where both bounds are
// finite, log where only the lower one is, identity elsewhere.
class SupportBijection {
public:
    SupportBijection() = default;
    SupportBijection(const std::vector<double>& lower, const std::vector<double>& upper);
    Tensor to_unbounded(const Tensor& theta) const;
    Tensor to_bounded(const Tensor& u) const;
    Tensor log_abs_det_to_unbounded(const Tensor& theta) const;  // [B], log |du/dtheta|
    json to_json() const;
    static SupportBijection from_json(const json& j);

private:
    std::vector<int> kind_;  // 0 identity, 1 lower-bounded, 2 box
    std::vector<double> lower_, upper_;
};

// ---------------------------------------------------------------- data

// Batches of (theta, x) as float32 tensors from the host's reader: all in memory when they fit in
// `memory_bytes`, else streamed block by block, shuffled within blocks and across block order.
class DataSource {
public:
    DataSource(const simbi_batch_reader* reader, double validation_fraction, int64_t memory_bytes);
    int64_t train_rows() const { return n_train_; }
    int64_t val_rows() const { return n_ - n_train_; }
    int64_t resident_rows() const { return resident_rows_; }
    // Calls f(theta, x) for each training batch, in an order fixed by (seed, epoch).
    void for_each_train_batch(int64_t batch, uint64_t seed, int64_t epoch, const std::function<void(const Tensor&, const Tensor&)>& f) const;
    void for_each_val_batch(int64_t batch, const std::function<void(const Tensor&, const Tensor&)>& f) const;
    // Column means and standard deviations over the training rows, of g(theta) and of x.
    void moments(const std::function<Tensor(const Tensor&)>& g, Tensor& theta_mean, Tensor& theta_std, Tensor& x_mean, Tensor& x_std) const;

private:
    void read_block(int64_t start, int64_t count, Tensor& theta, Tensor& x) const;
    const simbi_batch_reader* reader_;
    int64_t n_, n_train_, d_, k_, block_rows_, resident_rows_ = 0;
    bool in_memory_;
    Tensor theta_, x_;  // all rows, when in memory
};

// Adam (Kingma & Ba 2015, as torch.optim.Adam, whose weight decay is an L2 term added to the
// gradient) over all parameters at once:
// the parameters and their gradients become views into two flat buffers, so a step, a gradient
// clip and zeroing the gradients are a handful of tensor operations, not a handful per parameter.
class FlatAdam {
public:
    FlatAdam(std::vector<Tensor> params, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0);
    void zero_grad() { grad_.zero_(); }
    void clip_grad_norm(double max_norm);
    void step();
    double learning_rate() const { return lr_; }
    void set_learning_rate(double lr) { lr_ = lr; }
    void save(const std::string& path) const;
    void load(const std::string& path);
    // Keep an exponential moving average of the parameters with this decay (0: none).
    void set_average(double decay) { average_ = decay; }
    // Exchanges the parameters with their average (no-op before the first step or without one):
    // called twice, it restores the training weights.
    void swap_average();

private:
    Tensor flat_, grad_, m_, v_, avg_;
    double average_ = 0;
    double lr_, beta1_, beta2_, eps_, weight_decay_;
    int64_t t_ = 0;
};

// Adam with gradient clipping and early stopping on the validation loss; the best weights are
// kept. A checkpoint after each epoch lets a killed training resume where it stopped.
TrainResult fit(torch::nn::Module& model, const std::function<Tensor(const Tensor&, const Tensor&)>& loss, const DataSource& data,
                const TrainingConfig& cfg, const simbi_host* host, const std::string& checkpoint_dir, uint64_t seed,
                const std::string& fingerprint);

// ---------------------------------------------------------------- samplers

struct SamplerConfig {
    std::string method = "mh";  // mh | slice | sir
    // warmup and thin 0: chosen from the dimension d, max(100, 50 d) and max(5, d), since chains
    // need longer to forget their start and to decorrelate in more dimensions.
    int64_t chains = 1000, warmup = 0, thin = 0, sir_factor = 20;
    static SamplerConfig from_config(const simbi::Config& c);
    json to_json() const;
    static SamplerConfig from_json(const json& j);
};

// Draws n samples from exp(log_target) by a vectorized sampler: sampling-importance-resampling
// from the prior for the initial states, then adaptive Metropolis-Hastings (Haario et al. 2001)
// or slice sampling (Neal 2003) across many chains at once.
Tensor sample_posterior(const std::function<Tensor(const Tensor&)>& log_target, const TorchPrior& prior, int64_t n,
                        const SamplerConfig& cfg, at::Generator& gen);

// ---------------------------------------------------------------- artifacts

void save_module(torch::nn::Module& m, const std::string& path);
void load_module(torch::nn::Module& m, const std::string& path);
void write_json(const std::string& path, const json& j);
json read_json(const std::string& path);
// SHA-256 of a file's bytes, in hex (libcrypto); throws if it cannot be read.
std::string file_sha256(const std::string& path);
std::string torch_version();

// ---------------------------------------------------------------- C2ST

// Classifier two-sample test (Lopez-Paz & Oquab 2017) with sbibm's protocol: z-score both sets by
// the reference's mean and std, an MLP with two hidden layers of 10 * dim ReLU units trained with
// Adam, 5-fold shuffled cross-validation; returns the mean held-out accuracy.
double c2st(const Tensor& reference, const Tensor& approximate, uint64_t seed, int64_t folds = 5);

// ---------------------------------------------------------------- the estimator frame

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
    virtual json config_json() const = 0;       // what do_load needs to rebuild the network
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

private:
    void require_trained() const;
};

// Estimators whose posterior is known up to a constant, p(theta | x_1..x_N) proportional to
// p(theta) prod_j exp(term(theta, x_j)) (a ratio or a likelihood), sampled by MCMC.
class McmcEstimator : public NeuralEstimator {
public:
    McmcEstimator(std::string id, std::string version, const simbi::Config& c, const simbi_host* host, uint64_t stream);

protected:
    // log r(theta, x) or log q(x | theta), for standardized float32 theta and x of equal rows.
    virtual Tensor log_term(const Tensor& theta_std, const Tensor& x_std) = 0;
    void do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) override;
    void do_log_prob(uint64_t n, const double* theta, const double* x, double* out) override;
    SamplerConfig sampler_;

private:
    Tensor log_target(const Tensor& theta, const Tensor& x_std);
    uint64_t stream_;
};

}  // namespace simbi::nn
