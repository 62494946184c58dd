// simbi.nle: neural likelihood estimation (Papamakarios et al. 2019).
//
// A conditional normalizing flow q(x | theta), MAF by default (measured better and four times
// cheaper than NSF on slcp, and sbi's default for NLE), is fit by maximum likelihood on simulated
// pairs;
// the posterior p(theta | x_1..x_N) is proportional to prod_j q(x_j | theta) p(theta) and is
// sampled by vectorized MCMC (config "sampler": mh | slice | sir). x and theta are z-scored.
#include "neural/neural.hpp"

using namespace simbi::nn;

namespace {

class Nle final : public NeuralEstimator {
public:
    using adapter = simbi::detail::EstimatorAdapter<Nle>;

    static simbi::Info info() {
        return simbi::Info("simbi.nle", "Neural likelihood estimation", SIMBI_KIND_ESTIMATOR)
            .version("1.0.0")
            .vendor("simbi")
            .description("A conditional normalizing flow q(x|theta) trained on simulations; MCMC posterior, i.i.d. sets of observations.")
            .option("flow", "string", "\"maf\"", "maf (affine, the default, as in sbi's NLE) or nsf (rational-quadratic splines)")
            .option("transforms", "integer", "5", "number of autoregressive transforms")
            .option("hidden", "array", "[64, 64]", "hidden widths of each MADE conditioner")
            .option("bins", "integer", "8", "spline bins (nsf)")
            .option("bound", "number", "5", "spline domain [-bound, bound] (nsf)")
            .option("sampler", "string", "\"mh\"", "posterior sampler: mh | slice | sir")
            .option("chains", "integer", "1000", "parallel MCMC chains")
            .option("warmup", "integer", "0", "warm-up steps (sweeps for slice); 0: max(100, 50 d) for d parameters")
            .option("thin", "integer", "0", "keep every thin-th step; 0: max(5, d)")
            .option("sir_factor", "integer", "20", "prior draws per kept state in sampling-importance-resampling")
            .option("threads", "integer", "1", "LibTorch intra-op threads")
            .option("memory_mb", "integer", "2048", "training data held in memory; larger datasets stream from the store");
    }

    Nle(const simbi::Config& c, const simbi_host* host) : NeuralEstimator("simbi.nle", "1.0.0", c, host) {
        flow_ = flow_spec(c, "maf");
        sampler_ = SamplerConfig::from_config(c);
    }

protected:
    void do_train(const simbi_train_context& ctx) override {
        TrainingConfig config;
        auto data = prepare(ctx, [](const Tensor& t) { return t; }, config);
        flow_net_ = ConditionalFlow(flow_, int64_t(ctx.data->x_dim), int64_t(ctx.data->theta_dim));
        fit_network(ctx, *data, config, [&](const Tensor& theta, const Tensor& x) { return -flow_net_->log_prob(x_.apply(x), theta_.apply(theta)).mean(); });
    }

    // sum_j log q(x_j | theta) + log p(theta), for theta [B, d] in float64.
    Tensor log_target(const Tensor& theta, const Tensor& x_std) {
        Tensor t = theta_.apply(theta.to(torch::kFloat32));
        Tensor total = prior_.log_prob(theta);
        for (int64_t j = 0; j < x_std.size(0); ++j)
            total = total + (flow_net_->log_prob(x_std[j].expand({t.size(0), x_std.size(1)}), t) - x_.log_std_sum()).to(torch::kFloat64);
        return total;
    }

    void do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) override {
        Tensor xs = x_.apply(to_tensor(x_obs, int64_t(n_obs), x_.mean.size(0)));
        at::Generator gen = make_generator(seed, 13);
        from_tensor(sample_posterior([&](const Tensor& t) { return log_target(t, xs); }, prior_, int64_t(n), sampler_, gen), theta);
    }

    void do_log_prob(uint64_t n, const double* theta, const double* x, double* out) override {
        Tensor t = torch::from_blob(const_cast<double*>(theta), {int64_t(n), theta_.mean.size(0)}, torch::kFloat64);
        Tensor xs = x_.apply(to_tensor(x, int64_t(n), x_.mean.size(0)));
        Tensor ll = flow_net_->log_prob(xs, theta_.apply(t.to(torch::kFloat32))) - x_.log_std_sum();
        from_tensor(ll.to(torch::kFloat64) + prior_.log_prob(t), out);
    }

    bool trained() const override { return bool(flow_net_); }
    torch::nn::Module& network() override { return *flow_net_; }
    json config_json() const override { return {{"flow_spec", flow_}, {"sampler", sampler_.to_json()}, {"threads", runtime_.threads}}; }
    void rebuild(const json& j) override {
        flow_ = j.at("config").at("flow_spec");
        sampler_ = SamplerConfig::from_json(j.at("config").at("sampler"));
        flow_net_ = ConditionalFlow(flow_, j.at("x_dim").get<int64_t>(), j.at("theta_dim").get<int64_t>());
    }

private:
    json flow_;
    SamplerConfig sampler_;
    ConditionalFlow flow_net_{nullptr};
};

}  // namespace

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Nle)
#endif
