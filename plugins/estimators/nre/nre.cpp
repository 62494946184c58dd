// simbi.nre and simbi.bnre: (balanced) neural ratio estimation.
//
// NRE (Hermans et al. 2020): a classifier d(theta, x) = sigmoid(f(theta, x)) tells joint pairs
// (theta, x) ~ p(theta, x) from marginal pairs (theta', x) ~ p(theta) p(x), the marginal pairs
// made by pairing each x with another row's theta. At the optimum d / (1 - d) = r = p(x|theta)/p(x),
// so log r = f (the logit), and p(theta | x) is proportional to r(x | theta) p(theta).
//     loss = -E_joint[log d] - E_marginal[log(1 - d)]   (halved, as in lampe's NRELoss)
// Each x meets K other rows' theta in a batch ("negatives", default 8): the marginal expectation
// is then estimated from K times more pairs at no cost in simulations, which steadies training
// and early stopping on small datasets.
// BNRE (Delaunoy et al. 2022) adds lambda (E_joint[d] + E_marginal[d] - 1)^2, lambda = 100, which
// pushes the estimator towards conservative posteriors. The balance is asked of the classifier one
// samples from (an ensemble's mixture), and the penalty's gradient takes its factor from recent
// batches at the current weights ("pooled"); the paper's square of the batch mean and an unbiased
// U-statistic are options, and so is the balance taken on held-out rows (neural/classifier.hpp,
// BalancePenalty).
// i.i.d. observations x_1..x_N combine as log r = sum_j f(theta, x_j). Posterior samples come from
// vectorized MCMC (config "sampler": mh | slice | sir).
#include "neural/classifier.hpp"
#include "neural/neural.hpp"
#include "neural/streams.hpp"
#include "ratio_settings.hpp"

using namespace simbi::nn;

namespace {

template <bool Balanced>
class RatioEstimator final : public McmcEstimator {
public:
    using adapter = simbi::detail::EstimatorAdapter<RatioEstimator>;
    static constexpr const char* kId = Balanced ? "simbi.bnre" : "simbi.nre";

    static simbi::Info info() {
        simbi::Info i(kId, Balanced ? "Balanced neural ratio estimation" : "Neural ratio estimation", SIMBI_KIND_ESTIMATOR);
        i.version("1.0.0").vendor("simbi").description(
            Balanced ? "A classifier of joint versus marginal pairs with the balancing penalty of Delaunoy et al. 2022; MCMC posterior."
                     : "A classifier of joint versus marginal pairs whose logit is log p(x|theta)/p(x); MCMC posterior.");
        RatioSettings::declare(i, Balanced);
        SamplerConfig::declare(i);
        declare_runtime_options(i);
        TrainingConfig::declare(i, training_defaults());
        return i;
    }

    static TrainingConfig training_defaults() {
        TrainingConfig d;
        // BNRE keeps a constant learning rate unless told otherwise: the plateau schedule made
        // its posteriors worse.
        if (Balanced) d.lr_decay = 1.0;
        return d;
    }

    RatioEstimator(const simbi::Config& c, const simbi_host* host)
        : McmcEstimator(kId, "1.0.0", c, host, streams::kNreSampling), s_(c, Balanced), penalty_(s_.balance) {}

protected:
    void do_train(const simbi_train_context& ctx) override {
        TrainingConfig config = training_defaults();
        auto data = prepare(
            ctx, [](const Tensor& t) { return t; }, config);
        s_.resolve(data->train_rows());
        if (s_.balance.held_out) {
            if (data->val_rows() < 2)
                throw std::invalid_argument("balance \"held_out\" needs at least 2 validation rows; raise training.validation_fraction");
            collect_held_out(*data);
        }
        net_ = Classifier(s_.hidden, s_.network, s_.dropout, s_.embedding, int64_t(ctx.data->theta_dim), int64_t(ctx.data->x_dim),
                          s_.ensemble);
        fit_network(ctx, *data, config, [&](const Tensor& theta, const Tensor& x) { return loss(theta_.apply(theta), x_.apply(x)); });
    }

    // Binary cross-entropy of joint against marginal pairs, plus BNRE's balance penalty: the mean
    // classifier outputs on the two sum to 1 for a balanced classifier. Each ensemble member
    // has its own cross-entropy and the mixture one penalty; their sum trains all members in one step.
    // The penalty reaches member m through d log r / d log r_m = r_m / sum r, about 1/M, so each member
    // meets about lambda / M beside its own cross-entropy (docs/estimators.md, `ensemble`).
    Tensor loss(const Tensor& theta, const Tensor& x) {
        const int64_t b = theta.size(0), k = marginal_pairs(s_.negatives, b);
        Tensor all = pair_logits(net_, theta, x, k);
        if (s_.contrastive) {
            // NRE-B (Durkan et al. 2020, eq. 7): pick the true theta among K + 1 candidates for x.
            return -torch::log_softmax(all.view({-1, k + 1, b}), 1).select(1, 0).mean(1).sum();
        }
        // Early stopping judges the classifier one samples from: the mixture's cross-entropy, times M
        // so that it reads on the training loss's scale (the sum of the members').
        Tensor l = s_.validate_mixture && validating()
                       ? double(all.size(0)) * pair_cross_entropy(ClassifierImpl::mixture(all).unsqueeze(0), b)
                       : pair_cross_entropy(all, b);
        if (s_.lambda == 0) return l.sum();
        // The penalty on held-out rows: the population's balance estimated on rows the cross-entropy
        // never trains on (on the training rows an overfit classifier scores its own joint pairs
        // high); early stopping then judges the cross-entropy alone.
        if (s_.balance.held_out) return validating() ? l.sum() : l.sum() + s_.lambda * penalty_.on_held_out(net_, s_.negatives).sum();
        Tensor z = balance_terms(all, b, k);
        return l.sum() + s_.lambda * (s_.balance.estimate == "pooled" ? penalty_.pooled(net_, theta, x, z, k, s_.negatives, validating())
                                                                      : penalty_.of_batch(z))
                                         .sum();
    }

    // fit() evaluates the validation rows with the network in eval mode (and without gradients).
    bool validating() const { return !net_->is_training(); }

    void collect_held_out(const DataSource& data) {
        const int64_t most = RatioSettings::kHeldOutRows;
        std::vector<Tensor> thetas, xs;
        int64_t rows = 0;
        data.for_each_val_batch(most, [&](const Tensor& t, const Tensor& x) {
            if (rows >= most) return;
            const int64_t take = std::min(t.size(0), most - rows);
            thetas.push_back(t.narrow(0, 0, take));
            xs.push_back(x.narrow(0, 0, take));
            rows += take;
        });
        penalty_.hold_out(theta_.apply(torch::cat(thetas, 0)), x_.apply(torch::cat(xs, 0)));
    }

    Tensor log_term(const Tensor& theta_std, const Tensor& x_std) override { return net_->forward(theta_std, x_std); }

    bool trained() const override { return bool(net_); }
    torch::nn::Module& network() override { return *net_; }
    json config_json() const override {
        json j = s_.to_json();
        j["sampler"] = sampler_.to_json();
        j["threads"] = runtime_.threads;
        return j;
    }
    void rebuild(const json& j) override {
        const json& c = j.at("config");
        s_ = RatioSettings::from_json(c);
        sampler_ = SamplerConfig::from_json(c.at("sampler"));
        penalty_ = BalancePenalty(s_.balance);
        net_ = Classifier(s_.hidden, s_.network, s_.dropout, s_.embedding, j.at("theta_dim").get<int64_t>(), j.at("x_dim").get<int64_t>(),
                          s_.ensemble);
    }

private:
    RatioSettings s_;
    BalancePenalty penalty_;  // BNRE's
    Classifier net_{nullptr};
};

using Nre = RatioEstimator<false>;
using Bnre = RatioEstimator<true>;

}  // namespace

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Nre, Bnre)
#endif
