// simbi.nre and simbi.bnre: (balanced) neural ratio estimation.
//
// NRE (Hermans et al. 2020): a classifier d(theta, x) = sigmoid(f(theta, x)) tells joint pairs
// (theta, x) ~ p(theta, x) from marginal pairs (theta', x) ~ p(theta) p(x), the marginal pairs
// made by pairing each x with another row's theta. At the optimum d / (1 - d) = r = p(x|theta)/p(x),
// so log r = f (the logit), and p(theta | x) is proportional to r(x | theta) p(theta).
//     loss = -E_joint[log d] - E_marginal[log(1 - d)]   (halved, as in lampe's NRELoss)
// BNRE (Delaunoy et al. 2022) adds lambda (E_joint[d] + E_marginal[d] - 1)^2, lambda = 100, which
// pushes the estimator towards conservative posteriors.
// i.i.d. observations x_1..x_N combine as log r = sum_j f(theta, x_j). Posterior samples come from
// vectorized MCMC (config "sampler": mh | slice | sir).
#include <filesystem>

#include "neural/neural.hpp"

using namespace simbi::nn;

namespace {

struct ClassifierImpl : torch::nn::Module {
    ClassifierImpl(const std::vector<int64_t>& hidden, const json& embedding, int64_t d, int64_t k) {
        embed = register_module("embedding", Embedding(embedding, k));
        net = register_module("mlp", make_mlp(d + embed->features(), hidden, 1));
    }
    // theta, x: standardized; returns the logit log r [B].
    Tensor forward(const Tensor& theta, const Tensor& x) { return net->forward(torch::cat({theta, embed->forward(x)}, 1)).squeeze(1); }
    Embedding embed{nullptr};
    torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(Classifier);

template <bool Balanced>
class RatioEstimator final : public NeuralEstimator {
public:
    using adapter = simbi::detail::EstimatorAdapter<RatioEstimator>;
    static constexpr const char* kId = Balanced ? "simbi.bnre" : "simbi.nre";
    static constexpr const char* kVersion = "1.0.0";

    static simbi::Info info() {
        simbi::Info i(kId, Balanced ? "Balanced neural ratio estimation" : "Neural ratio estimation", SIMBI_KIND_ESTIMATOR);
        i.version(kVersion)
            .vendor("simbi")
            .description(Balanced ? "A classifier of joint versus marginal pairs with the balancing penalty of Delaunoy et al. 2022; MCMC posterior."
                                  : "A classifier of joint versus marginal pairs whose logit is log p(x|theta)/p(x); MCMC posterior.")
            .option("hidden", "array", "[64, 64, 64]", "hidden widths of the classifier MLP on (theta, x)")
            .option("embedding", "object", "{\"type\": \"none\"}", "x embedding: {type: none|mlp|cnn, hidden, features, channels}")
            .option("sampler", "string", "\"mh\"", "posterior sampler: mh | slice | sir")
            .option("chains", "integer", "1000", "parallel MCMC chains")
            .option("warmup", "integer", "100", "warm-up steps (sweeps for slice)")
            .option("thin", "integer", "5", "keep every thin-th step")
            .option("sir_factor", "integer", "20", "prior draws per kept state in sampling-importance-resampling")
            .option("threads", "integer", "1", "LibTorch intra-op threads")
            .option("memory_mb", "integer", "2048", "training data held in memory; larger datasets stream from the store");
        if (Balanced) i.option("lambda", "number", "100", "weight of the balancing penalty");
        return i;
    }

    RatioEstimator(const simbi::Config& c, const simbi_host* host) : NeuralEstimator(RuntimeConfig::from_config(c)), host_(host) {
        hidden_ = int_list(c, "hidden", {64, 64, 64});
        embedding_ = EmbeddingImpl::validate(json::parse(c.json_text("embedding", R"({"type": "none"})")));
        sampler_ = SamplerConfig::from_config(c);
        lambda_ = Balanced ? c.number("lambda", 100.0) : 0.0;
        if (lambda_ < 0) throw std::invalid_argument("lambda must be non-negative");
    }

    void do_train(const simbi_train_context& ctx) override {
        const int64_t d = int64_t(ctx.data->theta_dim), k = int64_t(ctx.data->x_dim);
        prior_ = TorchPrior(json::parse(ctx.prior->json));
        TrainingConfig tc = TrainingConfig::from_json(ctx.training_json ? ctx.training_json : "{}");
        DataSource data(ctx.data, tc.validation_fraction, runtime_.memory_bytes);
        if (host_ && host_->metric) host_->metric(host_, "resident_rows", 0, double(data.resident_rows()));
        data.moments([](const Tensor& t) { return t; }, theta_.mean, theta_.std, x_.mean, x_.std);
        torch::manual_seed(ctx.seed);
        net_ = Classifier(hidden_, embedding_, d, k);
        auto loss = [&](const Tensor& theta, const Tensor& x) { return nre_loss(theta_.apply(theta), x_.apply(x)); };
        json fp = {{"config", config_json()}, {"training", tc.to_json()}, {"rows", ctx.data->rows}, {"seed", ctx.seed}};
        result_ = fit(*net_, loss, data, tc, host_, ctx.checkpoint_dir ? ctx.checkpoint_dir : "", ctx.seed, fp.dump());
        if (host_ && host_->log) {
            char line[160];
            std::snprintf(line, sizeof line, "%s: %lld epochs in %.1f s (%.4f s/epoch), best validation loss %.4f", kId,
                          (long long)result_.epochs, result_.seconds, result_.seconds_per_epoch, result_.best_val);
            host_->log(host_, SIMBI_LOG_INFO, line);
        }
    }

    // Binary cross-entropy of joint against marginal pairs, plus BNRE's balance penalty: the mean
    // classifier outputs on the two sum to 1 for a balanced classifier.
    Tensor nre_loss(const Tensor& theta, const Tensor& x) {
        // Joint and marginal pairs in one batch: half the operations of two passes.
        const int64_t b = theta.size(0);
        Tensor both = net_->forward(torch::cat({theta, theta.roll(1, 0)}, 0), torch::cat({x, x}, 0));
        Tensor log_r = both.narrow(0, 0, b), log_r_marginal = both.narrow(0, b, b);
        Tensor loss = 0.5 * (torch::softplus(-log_r).mean() + torch::softplus(log_r_marginal).mean());
        if (lambda_ > 0) loss = loss + lambda_ * (torch::sigmoid(log_r).mean() + torch::sigmoid(log_r_marginal).mean() - 1).pow(2);
        return loss;
    }

    // sum_j log r(theta, x_j) + log p(theta), for theta [B, d] in float64.
    Tensor log_target(const Tensor& theta, const Tensor& x_std) {
        Tensor t = theta_.apply(theta.to(torch::kFloat32));
        Tensor total = prior_.log_prob(theta);
        for (int64_t j = 0; j < x_std.size(0); ++j) total = total + net_->forward(t, x_std[j].expand({t.size(0), x_std.size(1)})).to(torch::kFloat64);
        return total;
    }

    void do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) override {
        Tensor xs = x_.apply(to_tensor(x_obs, int64_t(n_obs), x_.mean.size(0)));
        at::Generator gen = make_generator(seed, 12);
        Tensor s = sample_posterior([&](const Tensor& t) { return log_target(t, xs); }, prior_, int64_t(n), sampler_, gen);
        from_tensor(s, theta);
    }

    void do_log_prob(uint64_t n, const double* theta, const double* x, double* out) override {
        Tensor t = torch::from_blob(const_cast<double*>(theta), {int64_t(n), theta_.mean.size(0)}, torch::kFloat64);
        Tensor xs = x_.apply(to_tensor(x, int64_t(n), x_.mean.size(0)));
        from_tensor(net_->forward(theta_.apply(t.to(torch::kFloat32)), xs).to(torch::kFloat64) + prior_.log_prob(t), out);
    }

    // log r alone, for tests and diagnostics of the ratio.
    Tensor log_ratio(const Tensor& theta, const Tensor& x) { return net_->forward(theta_.apply(theta), x_.apply(x)); }

    void do_save(const std::string& dir) override {
        json j = artifact_header(kId, kVersion);
        j["config"] = config_json();
        j["theta_dim"] = theta_.mean.size(0);
        j["x_dim"] = x_.mean.size(0);
        j["theta_standardization"] = theta_.to_json();
        j["x_standardization"] = x_.to_json();
        j["prior"] = prior_.spec();
        j["training"] = {{"epochs", result_.epochs}, {"best_val_loss", result_.best_val}, {"seconds", result_.seconds}};
        std::filesystem::create_directories(dir);
        save_module(*net_, dir + "/weights.pt");
        write_json(dir + "/estimator.json", j);
    }

    void do_load(const std::string& dir) override {
        json j = read_artifact(dir, kId);
        const json& c = j.at("config");
        hidden_ = c.at("hidden").get<std::vector<int64_t>>();
        embedding_ = c.at("embedding");
        sampler_ = SamplerConfig::from_json(c.at("sampler"));
        lambda_ = c.value("lambda", 0.0);
        theta_ = Standardizer::from_json(j.at("theta_standardization"));
        x_ = Standardizer::from_json(j.at("x_standardization"));
        prior_ = TorchPrior(j.at("prior"));
        net_ = Classifier(hidden_, embedding_, j.at("theta_dim").get<int64_t>(), j.at("x_dim").get<int64_t>());
        load_module(*net_, dir + "/weights.pt");
        net_->eval();
    }

private:
    json config_json() const {
        return {{"hidden", hidden_}, {"embedding", embedding_}, {"sampler", sampler_.to_json()}, {"lambda", lambda_}, {"threads", runtime_.threads}};
    }
    bool trained() const override { return bool(net_); }

    const simbi_host* host_;
    std::vector<int64_t> hidden_;
    json embedding_;
    SamplerConfig sampler_;
    double lambda_;
    TorchPrior prior_;
    Standardizer theta_, x_;
    Classifier net_{nullptr};
    TrainResult result_;
};

using Nre = RatioEstimator<false>;
using Bnre = RatioEstimator<true>;

}  // namespace

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Nre, Bnre)
#endif
