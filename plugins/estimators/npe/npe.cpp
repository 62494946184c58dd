// simbi.npe: neural posterior estimation (Papamakarios & Murray 2016; Greenberg et al. 2019), and
// simbi.bnpe, balanced NPE (Delaunoy et al. 2023, "Balancing Simulation-based Inference for
// Conservative Posteriors", eq. 9).
//
// A conditional normalizing flow q(theta | x) is fit by maximum likelihood on simulated pairs:
//     loss = -E[log q(theta | x)].
// Samples never leave the prior's support. Config "bounds": "reject" (default: draws outside the
// support are rejected and the leakage is logged; log q is then not renormalized by the
// acceptance rate, a constant for each x), "transform" (the flow lives in R^d, reached from the
// support by logit for bounded and log for half-bounded coordinates; log q includes that map's
// Jacobian), or "none". Both theta and x are z-scored with the training data's statistics; x
// passes an embedding network.
//
// BNPE adds lambda (E_joint[sigmoid(log q(theta|x) - log p(theta))] +
// E_marginal[sigmoid(log q(theta'|x) - log p(theta'))] - 1)^2 to the loss, the balance condition
// of a classifier whose odds are q / p, with theta' from the marginal: each batch's theta paired
// with another row's x. A balanced posterior leans conservative.
//
// `ensemble` M > 1 trains M flows side by side, each on its own loss (BNPE: each balanced on its
// own), and the posterior is their mixture (1/M) sum_m q_m: log_prob is its log-density, and each
// draw comes from a member picked uniformly. With `bootstrap` each member weighs the training rows
// by its own Bayesian-bootstrap weights (bootstrap.hpp), so the members differ as fits to other
// data would (off by default: it widens the mixture, and blurs thin posteriors such as two_moons
// at 10^3). BNPE's default is five flows, NPE's one.
#include <limits>

#include "neural/neural.hpp"
#include "neural/streams.hpp"

using namespace simbi::nn;

namespace {

struct NpeNetImpl : torch::nn::Module {
    // Member 0 keeps the names of a single flow, so artifacts without an ensemble load as before.
    NpeNetImpl(const json& flow, const json& embedding, int64_t d, int64_t k, int64_t members) {
        for (int64_t m = 0; m < members; ++m) {
            const std::string suffix = m == 0 ? "" : std::to_string(m);
            embeds.push_back(register_module("embedding" + suffix, Embedding(embedding, k)));
            flows.push_back(register_module("flow" + suffix, ConditionalFlow(flow, d, embeds.back()->features())));
        }
    }
    // Each member's log q_m(u | x) for standardized u and x: [M, B].
    Tensor members(const Tensor& u, const Tensor& x) {
        std::vector<Tensor> out;
        for (size_t m = 0; m < flows.size(); ++m) out.push_back(flows[m]->log_prob(u, embeds[m]->forward(x)));
        return out.size() == 1 ? out[0].unsqueeze(0) : torch::stack(out, 0);  // one flow: a view, no copy
    }
    // The ensemble's density is the mixture (1/M) sum_m q_m (deep ensembles, Lakshminarayanan et
    // al. 2017; Hermans et al. 2022, sec. 4): [M, B] -> [B].
    static Tensor mixture(const Tensor& all) {
        return all.size(0) == 1 ? all[0] : torch::logsumexp(all, 0) - std::log(double(all.size(0)));
    }
    std::vector<Embedding> embeds;
    std::vector<ConditionalFlow> flows;
};
TORCH_MODULE(NpeNet);

template <bool Balanced>
class Npe final : public NeuralEstimator {
public:
    using adapter = simbi::detail::EstimatorAdapter<Npe>;
    static constexpr const char* kId = Balanced ? "simbi.bnpe" : "simbi.npe";
    // BNPE trains five balanced flows and samples their mixture, which is wider than each member:
    // on two_moons and slcp at 10^3 simulations one balanced flow is overconfident, and the
    // mixture's expected coverage comes within the sampling error of nominal - 0.02 (docs/benchmarks.md).
    static constexpr int64_t kBalancedEnsemble = 5;

    static simbi::Info info() {
        simbi::Info i(kId, Balanced ? "Balanced neural posterior estimation" : "Neural posterior estimation", SIMBI_KIND_ESTIMATOR);
        i.version("1.0.0").vendor("simbi").description(
            Balanced
                ? "NPE with the balancing penalty of Delaunoy et al. 2023: a conditional flow q(theta|x) whose q/p is a balanced "
                  "classifier; "
                  "leans conservative."
                : "A conditional normalizing flow q(theta|x) (NSF or MAF) trained on simulations; direct, amortized posterior sampling.");
        declare_flow_options(i, "nsf");
        declare_embedding_option(i);
        using simbi::Option;
        if (Balanced) i.option("lambda", Option::number(100).minimum(0).maximum(1e6).doc("weight of the balancing penalty"));
        i.option("bounds", Option::choice({"reject", "transform", "none"}, "reject")
                               .doc("keeping samples in the prior's support: reject | transform | none"))
            .option(
                "ensemble",
                Option::integer(Balanced ? kBalancedEnsemble : 1)
                    .minimum(1)
                    .maximum(32)
                    .doc("flows trained side by side from different initial weights, each on its own loss; the posterior is their mixture"))
            .option("bootstrap", Option::boolean(false).doc("each member weighs the training rows by its own Bayesian-bootstrap weights"));
        declare_runtime_options(i);
        TrainingConfig::declare(i, training_defaults());
        return i;
    }

    static TrainingConfig training_defaults() {
        TrainingConfig d;
        d.average = 0.99;  // the weights' moving average: better C2ST on most of sbibm's NPE cells
        // Small batches regularize the flow: at 10^4 simulations the batch of 256 overfits (train
        // loss below the posterior's entropy) and is overconfident; 64 is calibrated.
        d.batch_size = 64;
        // BNPE keeps a constant learning rate: with the plateau halvings its flows sharpen late in
        // training and cover less than nominal (two_moons at 10^4, docs/benchmarks.md).
        if (Balanced) d.lr_decay = 1.0;
        return d;
    }

    Npe(const simbi::Config& c, const simbi_host* host) : NeuralEstimator(kId, "1.0.0", c, host) {
        if (Balanced) lambda_ = c.number("lambda");
        flow_ = flow_spec(c);
        embedding_ = read_embedding(c);
        bounds_ = c.string("bounds");
        ensemble_ = c.integer("ensemble");
        bootstrap_ = c.boolean("bootstrap");
    }

protected:
    void do_train(const simbi_train_context& ctx) override {
        const int64_t d = int64_t(ctx.data->theta_dim), k = int64_t(ctx.data->x_dim);
        std::vector<double> lo(ctx.prior->lower, ctx.prior->lower + d), hi(ctx.prior->upper, ctx.prior->upper + d);
        const double inf = std::numeric_limits<double>::infinity();
        bijection_ = bounds_ == "transform" ? SupportBijection(lo, hi)
                                            : SupportBijection(std::vector<double>(size_t(d), -inf), std::vector<double>(size_t(d), inf));
        TrainingConfig config = training_defaults();
        auto data = prepare(
            ctx, [&](const Tensor& t) { return bijection_.to_unbounded(t); }, config);
        net_ = NpeNet(flow_, embedding_, d, k, ensemble_);
        // An ensemble trains its members side by side on the same batches, each on its own loss
        // (BNPE's: its own likelihood and its own penalty); the sum of their losses is one step.
        fit_network(ctx, *data, config, [&](const Tensor& theta, const Tensor& x) {
            const Tensor xs = x_.apply(x);
            const Tensor lq = net_->members(theta_.apply(bijection_.to_unbounded(theta)), xs);  // [M, B]
            // With bootstrap, each member's expectations (likelihood and both balance terms) are over
            // its own weighted rows while training; validation (eval mode) weighs every row once.
            const Tensor wt = bootstrap_ && net_->is_training() ? bootstrap_weights(theta, x, ensemble_, ctx.seed) : Tensor();
            auto mean = [&](const Tensor& v) { return wt.defined() ? (wt * v).mean(1) : v.mean(1); };  // [M, B] -> [M]
            const Tensor nll = -mean(lq).sum();
            if (!Balanced) return nll;
            // log q_m(theta | x) - log p(theta) for the joint pairs and for theta rolled one row.
            auto log_ratio = [&](const Tensor& t, const Tensor& lq_std) {
                return lq_std - theta_.log_std_sum() + bijection_.log_abs_det_to_unbounded(t) - prior_.log_prob(t).to(torch::kFloat32);
            };
            const Tensor marginal = theta.roll(1, 0);
            const Tensor lq_marginal = net_->members(theta_.apply(bijection_.to_unbounded(marginal)), xs);
            const Tensor balance =
                mean(torch::sigmoid(log_ratio(theta, lq))) + mean(torch::sigmoid(log_ratio(marginal, lq_marginal))) - 1.0;
            return Tensor(nll + lambda_ * balance.pow(2).sum());
        });
    }

    void do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) override {
        if (n_obs != 1)
            throw std::invalid_argument("NPE conditions on one observation; got " + std::to_string(n_obs) +
                                        " (for i.i.d. sets use simbi.nre or simbi.nle, or an embedding of the set)");
        at::Generator gen = make_generator(seed, streams::kNpeSampling);
        const int64_t d = theta_.mean.size(0);
        const Tensor x1 = x_.apply(to_tensor(x_obs, 1, x_.mean.size(0)));
        std::vector<Tensor> contexts;
        for (auto& e : net_->embeds) contexts.push_back(e->forward(x1));
        const int64_t members = int64_t(contexts.size());
        std::vector<Tensor> kept;
        int64_t have = 0, drawn = 0;
        const int64_t budget = 1000 * int64_t(n) + 100000;
        while (have < int64_t(n)) {
            int64_t m = std::min<int64_t>(65536, std::max<int64_t>(int64_t(n) - have, 1024));
            Tensor u;
            if (members == 1) {  // no member draw: one flow's samples keep their random stream
                u = net_->flows[0]->sample(contexts[0].expand({m, contexts[0].size(1)}), gen);
            } else {  // the mixture: each draw's member uniformly at random
                const Tensor member = torch::randint(members, {m}, gen, torch::kLong);
                u = torch::empty({m, d});
                for (int64_t j = 0; j < members; ++j) {
                    const Tensor rows = (member == j).nonzero().squeeze(1);
                    if (rows.size(0) == 0) continue;
                    u.index_put_({rows}, net_->flows[size_t(j)]->sample(
                                             contexts[size_t(j)].expand({rows.size(0), contexts[size_t(j)].size(1)}), gen));
                }
            }
            Tensor t = bijection_.to_bounded(theta_.invert(u)).to(torch::kFloat64);
            drawn += m;
            if (bounds_ == "reject") t = t.index({torch::isfinite(prior_.log_prob(t))});
            kept.push_back(t);
            have += t.size(0);
            if (drawn > budget) throw std::runtime_error("fewer than 1 in 1000 draws fall inside the prior's support");
        }
        if (bounds_ == "reject" && host_ && host_->log) {
            char line[128];
            std::snprintf(line, sizeof line, "%s: %.2f%% of draws fell outside the prior and were rejected", id_.c_str(),
                          100.0 * double(drawn - have) / double(drawn));
            host_->log(host_, SIMBI_LOG_INFO, line);
        }
        from_tensor(torch::cat(kept, 0).narrow(0, 0, int64_t(n)).view({int64_t(n), d}), theta);
    }

public:
    // Many observations in few flow passes, each with its own random stream (ode.hpp).
    void sample_batch(uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta) override {
        require_trained();
        if (n_x == 0 || n_per_x == 0) return;
        inference([&] {
            const int64_t d = theta_.mean.size(0), members = int64_t(net_->flows.size());
            const Tensor xs = x_.apply(to_tensor(x, int64_t(n_x), x_.mean.size(0)));
            draw_for_observations(
                int64_t(n_x), int64_t(n_per_x), d, seed, streams::kNpeSampling, bounds_ == "reject" ? &prior_ : nullptr,
                [&](int64_t m, at::Generator& gen) {
                    const Tensor member = members == 1 ? torch::zeros({m}, torch::kLong) : torch::randint(members, {m}, gen, torch::kLong);
                    return std::vector<Tensor>{member, torch::randn({m, d}, gen, torch::kFloat32)};
                },
                [&](const Tensor& obs, const std::vector<Tensor>& in, const Noise&) {
                    return to_theta(xs.index_select(0, obs), in[0], in[1]);
                },
                theta);
        });
    }

protected:
    void do_log_prob(uint64_t n, const double* theta, const double* x, double* out) override {
        const int64_t d = theta_.mean.size(0), k = x_.mean.size(0);
        Tensor t = to_tensor(theta, int64_t(n), d), xs = to_tensor(x, int64_t(n), k);
        Tensor lp = NpeNetImpl::mixture(net_->members(theta_.apply(bijection_.to_unbounded(t)), x_.apply(xs))) - theta_.log_std_sum() +
                    bijection_.log_abs_det_to_unbounded(t);
        Tensor inside = torch::isfinite(prior_.log_prob(t.to(torch::kFloat64)));
        from_tensor(torch::where(inside, lp.to(torch::kFloat64), torch::full({int64_t(n)}, -INFINITY, torch::kFloat64)), out);
    }

    // Parameters (float64) of standardized x rows, mixture members and base noise, one each.
    Tensor to_theta(const Tensor& xs, const Tensor& member, const Tensor& z) {
        const int64_t d = theta_.mean.size(0);
        Tensor u = torch::empty({z.size(0), d});
        for (int64_t j = 0; j < int64_t(net_->flows.size()); ++j) {
            const Tensor rows = (member == j).nonzero().squeeze(1);
            if (rows.size(0) == 0) continue;
            u.index_put_({rows}, net_->flows[size_t(j)]->from_base(z.index_select(0, rows),
                                                                   net_->embeds[size_t(j)]->forward(xs.index_select(0, rows))));
        }
        return bijection_.to_bounded(theta_.invert(u)).to(torch::kFloat64);
    }

    bool trained() const override { return bool(net_); }
    torch::nn::Module& network() override { return *net_; }
    json config_json() const override {
        json j = {{"flow_spec", flow_},    {"embedding", embedding_}, {"bounds", bounds_},          {"support", bijection_.to_json()},
                  {"ensemble", ensemble_}, {"bootstrap", bootstrap_}, {"threads", runtime_.threads}};
        if (Balanced) j["lambda"] = lambda_;
        return j;
    }
    void rebuild(const json& j) override {
        const json& c = j.at("config");
        flow_ = c.at("flow_spec");
        embedding_ = c.at("embedding");
        bounds_ = c.at("bounds").get<std::string>();
        bijection_ = SupportBijection::from_json(c.at("support"));
        if (Balanced) lambda_ = c.at("lambda").get<double>();
        ensemble_ = c.value("ensemble", int64_t(1));
        bootstrap_ = c.value("bootstrap", false);
        net_ = NpeNet(flow_, embedding_, j.at("theta_dim").get<int64_t>(), j.at("x_dim").get<int64_t>(), ensemble_);
    }

private:
    json flow_, embedding_;
    std::string bounds_;
    SupportBijection bijection_;
    NpeNet net_{nullptr};
    int64_t ensemble_ = 1;
    bool bootstrap_ = false;
    double lambda_ = 0;
};

}  // namespace

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Npe<false>, Npe<true>)
#endif
