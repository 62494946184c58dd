// simbi.nle: neural likelihood estimation (Papamakarios et al. 2019).
//
// A conditional normalizing flow q(x | theta), MAF by default (measured better and four times
// cheaper than NSF on slcp, and sbi's default for NLE), is fit by maximum likelihood on simulated
// pairs;
// the posterior p(theta | x_1..x_N) is proportional to prod_j q(x_j | theta) p(theta) and is
// sampled by vectorized MCMC (config "sampler": mh | slice | sir). x and theta are z-scored.
#include "neural/neural.hpp"
#include "neural/streams.hpp"

using namespace simbi::nn;

namespace {

class Nle final : public McmcEstimator {
public:
    using adapter = simbi::detail::EstimatorAdapter<Nle>;

    static simbi::Info info() {
        simbi::Info i("simbi.nle", "Neural likelihood estimation", SIMBI_KIND_ESTIMATOR);
        i.version("1.0.0").vendor("simbi").description(
            "A conditional normalizing flow q(x|theta) trained on simulations; MCMC posterior, i.i.d. sets of observations.");
        declare_flow_options(i, "maf");
        SamplerConfig::declare(i);
        declare_runtime_options(i);
        TrainingConfig::declare(i, TrainingConfig());
        return i;
    }

    Nle(const simbi::Config& c, const simbi_host* host) : McmcEstimator("simbi.nle", "1.0.0", c, host, streams::kNleSampling) {
        flow_ = flow_spec(c);
    }

protected:
    void do_train(const simbi_train_context& ctx) override {
        TrainingConfig config;
        auto data = prepare(
            ctx, [](const Tensor& t) { return t; }, config);
        flow_net_ = ConditionalFlow(flow_, int64_t(ctx.data->x_dim), int64_t(ctx.data->theta_dim));
        fit_network(ctx, *data, config,
                    [&](const Tensor& theta, const Tensor& x) { return -flow_net_->log_prob(x_.apply(x), theta_.apply(theta)).mean(); });
    }

    // log q(x | theta) in x's own units: the flow's density of standardized x, less log |std|.
    Tensor log_term(const Tensor& theta_std, const Tensor& x_std) override {
        return flow_net_->log_prob(x_std, theta_std) - x_.log_std_sum();
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
    ConditionalFlow flow_net_{nullptr};
};

}  // namespace

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Nle)
#endif
