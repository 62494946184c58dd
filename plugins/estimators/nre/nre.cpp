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
// batches at the current weights ("pooled", see pooled_penalty); the paper's square of the batch
// mean and an unbiased U-statistic are options (see balance_penalty), and so is the balance taken
// on held-out rows (see held_out_penalty).
// i.i.d. observations x_1..x_N combine as log r = sum_j f(theta, x_j). Posterior samples come from
// vectorized MCMC (config "sampler": mh | slice | sir).
#include <deque>
#include <optional>

#include "neural/neural.hpp"
#include "neural/streams.hpp"

using namespace simbi::nn;

namespace {

struct ClassifierImpl : torch::nn::Module {
    // Member 0 keeps the names of a single classifier, so artifacts without an ensemble load as before.
    ClassifierImpl(const std::vector<int64_t>& hidden, bool residual, double dropout, const json& embedding, int64_t d, int64_t k, int64_t members) {
        for (int64_t m = 0; m < members; ++m) {
            const std::string suffix = m == 0 ? "" : std::to_string(m);
            embeds.push_back(register_module("embedding" + suffix, Embedding(embedding, k)));
            const int64_t in = d + embeds.back()->features();
            nets.push_back(register_module("mlp" + suffix, residual ? make_residual_mlp(in, hidden[0], int64_t(hidden.size()), 1) : make_mlp(in, hidden, 1, dropout)));
        }
    }
    // theta, x: standardized; each member's logit log r_m [M, B].
    Tensor members(const Tensor& theta, const Tensor& x) {
        std::vector<Tensor> out;
        for (size_t m = 0; m < nets.size(); ++m) out.push_back(nets[m]->forward(torch::cat({theta, embeds[m]->forward(x)}, 1)).squeeze(1));
        return out.size() == 1 ? out[0].unsqueeze(0) : torch::stack(out, 0);  // one member: a view, no copy
    }
    // The ensemble's log r = log (1/M) sum_m r_m: its posterior is the mixture of the members'
    // posteriors (deep ensembles, Lakshminarayanan et al. 2017; Hermans et al. 2022, sec. 4).
    Tensor forward(const Tensor& theta, const Tensor& x) { return mixture(members(theta, x)); }
    // Members' logits [M, N] -> the mixture's logit [N].
    static Tensor mixture(const Tensor& all) { return all.size(0) == 1 ? all[0] : torch::logsumexp(all, 0) - std::log(double(all.size(0))); }
    std::vector<Embedding> embeds;
    std::vector<torch::nn::Sequential> nets;
};
TORCH_MODULE(Classifier);

template <bool Balanced>
class RatioEstimator final : public McmcEstimator {
public:
    using adapter = simbi::detail::EstimatorAdapter<RatioEstimator>;
    static constexpr const char* kId = Balanced ? "simbi.bnre" : "simbi.nre";
    // Five classifiers whose mixture is the ratio: on sbibm's tasks it lowered C2ST where
    // anything changed, at 2-5 times the training time.
    static constexpr int64_t kDefaultEnsemble = 5;
    // Small datasets (fewer training rows than this): NRE gets dropout 0.1 and early stopping
    // judged on the ensemble's mixture, which help at 10^3 simulations and hurt at 10^4; BNRE
    // trains one classifier, as in the paper, whose expected coverage was conservative there
    // where the ensemble's was not (docs/benchmarks.md).
    static constexpr int64_t kSmallData = 2000;
    // Held-out rows that estimate the balance, at most (each is evaluated at every step).
    static constexpr int64_t kHeldOutRows = 2048;

    static simbi::Info info() {
        simbi::Info i(kId, Balanced ? "Balanced neural ratio estimation" : "Neural ratio estimation", SIMBI_KIND_ESTIMATOR);
        const std::string small_rows = std::to_string(kSmallData);
        i.version("1.0.0")
            .vendor("simbi")
            .description(Balanced ? "A classifier of joint versus marginal pairs with the balancing penalty of Delaunoy et al. 2022; MCMC posterior."
                                  : "A classifier of joint versus marginal pairs whose logit is log p(x|theta)/p(x); MCMC posterior.")
            .option("hidden", "array", "[64, 64, 64]", "hidden widths of the classifier on (theta, x); residual: one equal width per block")
            .option("network", "string", "\"mlp\"", "classifier: mlp | residual (two-layer residual blocks, as sbibm's NRE)")
            .option("embedding", "object", "{\"type\": \"none\"}", "x embedding: {type: none|mlp|cnn, hidden, features, channels}")
            .option("dropout", "number", Balanced ? "0" : "null", std::string("dropout probability after each hidden layer of an mlp classifier, in [0, 1)") + (Balanced ? "" : "; unset: 0.1 below " + small_rows + " training rows, else 0"))
            .option("validation", "string", "null", "what early stopping judges: mixture (the ensemble's classifier, the one sampled from) | members (the sum of the members' losses); unset: mixture below " + small_rows + " training rows, else members")
            .option("negatives", "integer", "8", "marginal pairs per joint pair in a batch (each x paired with this many other rows' theta)")
            .option("ensemble", "integer", Balanced ? "null" : std::to_string(kDefaultEnsemble),
                    std::string("classifiers trained side by side from different initial weights; the posterior is their mixture") +
                        (Balanced ? "; unset: 1 below " + small_rows + " training rows, else " + std::to_string(kDefaultEnsemble) : " (with the contrastive loss: 1)"));
        declare_sampler_options(i);
        declare_runtime_options(i);
        if (Balanced) {
            i.option("lambda", "number", "100", "weight of the balancing penalty");
            i.option("penalty", "string", "\"pooled\"", "estimate of the penalty: batch (square of the batch mean, as the paper) | unbiased (U-statistic over distinct rows) | pooled (its gradient's factor from this epoch's recent batches at the current weights)");
            i.option("pool", "integer", "8", "pooled penalty: how many recent batches, this one included, estimate E_joint[d] + E_marginal[d] - 1");
            i.option("pool_pairs", "integer", "1", "pooled penalty: marginal pairs per row when an earlier batch is re-evaluated (at most negatives)");
            i.option("balance", "string", "\"batches\"", "rows the penalty is estimated on: batches (each training batch, by `penalty`) | held_out (the validation rows, up to " + std::to_string(kHeldOutRows) +
                                                      ", all at every step; early stopping then judges the cross-entropy alone)");
        } else {
            i.option("loss", "string", "\"binary\"", "binary: cross-entropy of joint against marginal pairs; contrastive: pick the joint theta among K + 1 (NRE-B, Durkan et al. 2020)");
        }
        TrainingConfig defaults;
        if (Balanced) defaults.lr_decay = 1.0;
        TrainingConfig::declare(i, defaults);
        return i;
    }

    RatioEstimator(const simbi::Config& c, const simbi_host* host) : McmcEstimator(kId, "1.0.0", c, host, streams::kNreSampling) {
        const std::string network = c.string("network", "mlp");
        if (network != "mlp" && network != "residual") throw std::invalid_argument("network must be \"mlp\" or \"residual\", not \"" + network + "\"");
        residual_ = network == "residual";
        hidden_ = int_list(c, "hidden", {64, 64, 64});
        if (residual_ && (hidden_.empty() || std::adjacent_find(hidden_.begin(), hidden_.end(), std::not_equal_to<>()) != hidden_.end()))
            throw std::invalid_argument("a residual network's hidden widths must be equal (one per block, at least one)");
        embedding_ = EmbeddingImpl::validate(json::parse(c.json_text("embedding", R"({"type": "none"})")));
        lambda_ = Balanced ? c.number("lambda", 100.0) : 0.0;
        negatives_ = c.integer("negatives", 8);
        if (c.has("dropout") || residual_ || Balanced) dropout_setting_ = c.number("dropout", 0.0);
        if (dropout_setting_ && !(*dropout_setting_ >= 0 && *dropout_setting_ < 1)) throw std::invalid_argument("dropout must be in [0, 1)");
        if (residual_ && dropout_setting_.value_or(0) > 0) throw std::invalid_argument("dropout applies to the mlp classifier, not the residual one");
        if (c.has("validation")) {
            const std::string validation = c.string("validation", "members");
            if (validation != "mixture" && validation != "members") throw std::invalid_argument("validation must be \"mixture\" or \"members\", not \"" + validation + "\"");
            mixture_setting_ = validation == "mixture";
        }
        if (negatives_ < 1 || negatives_ > 64) throw std::invalid_argument("negatives must be between 1 and 64");
        const std::string objective = Balanced ? "binary" : c.string("loss", "binary");
        if (objective != "binary" && objective != "contrastive") throw std::invalid_argument("loss must be \"binary\" or \"contrastive\", not \"" + objective + "\"");
        contrastive_ = objective == "contrastive";
        if (!Balanced || c.has("ensemble")) ensemble_setting_ = c.integer("ensemble", contrastive_ ? 1 : kDefaultEnsemble);
        const int64_t members = ensemble_setting_.value_or(1);
        if (members < 1 || members > 32) throw std::invalid_argument("ensemble must be between 1 and 32");
        // Each contrastive member's ratio carries its own factor c_m(x), which would weight the
        // mixture's members unequally.
        if (contrastive_ && members > 1) throw std::invalid_argument("an ensemble needs the binary loss: contrastive ratios are known only up to a factor of x");
        if (lambda_ < 0) throw std::invalid_argument("lambda must be non-negative");
        const std::string penalty = Balanced ? c.string("penalty", "pooled") : "batch";
        if (penalty != "unbiased" && penalty != "batch" && penalty != "pooled") throw std::invalid_argument("penalty must be \"batch\", \"unbiased\" or \"pooled\", not \"" + penalty + "\"");
        penalty_ = penalty;
        pool_size_ = Balanced ? c.integer("pool", 8) : 1;
        if (pool_size_ < 1 || pool_size_ > 256) throw std::invalid_argument("pool must be between 1 and 256");
        pool_pairs_ = Balanced ? c.integer("pool_pairs", 1) : 1;
        if (pool_pairs_ < 1 || pool_pairs_ > 64) throw std::invalid_argument("pool_pairs must be between 1 and 64");
        if (Balanced && c.has("balance")) {
            const std::string balance = c.string("balance", "batches");
            if (balance != "batches" && balance != "held_out") throw std::invalid_argument("balance must be \"batches\" or \"held_out\", not \"" + balance + "\"");
            held_out_ = balance == "held_out";
        }
    }

protected:
    void do_train(const simbi_train_context& ctx) override {
        TrainingConfig config;
        // BNRE keeps a constant learning rate unless told otherwise: the plateau schedule made
        // its posteriors worse.
        if (Balanced) config.lr_decay = 1.0;
        auto data = prepare(ctx, [](const Tensor& t) { return t; }, config);
        const bool small = data->train_rows() < kSmallData;
        dropout_ = dropout_setting_.value_or(small ? 0.1 : 0.0);
        validate_mixture_ = mixture_setting_.value_or(small);
        ensemble_ = ensemble_setting_.value_or(small ? 1 : kDefaultEnsemble);
        if (held_out_) {
            if (data->val_rows() < 2) throw std::invalid_argument("balance \"held_out\" needs at least 2 validation rows; raise training.validation_fraction");
            collect_held_out(*data);
        }
        net_ = Classifier(hidden_, residual_, dropout_, embedding_, int64_t(ctx.data->theta_dim), int64_t(ctx.data->x_dim), ensemble_);
        fit_network(ctx, *data, config, [&](const Tensor& theta, const Tensor& x) { return loss(theta_.apply(theta), x_.apply(x)); });
    }

    // Binary cross-entropy of joint against marginal pairs, plus BNRE's balance penalty: the mean
    // classifier outputs on the two sum to 1 for a balanced classifier. Each ensemble member
    // has its own cross-entropy and the mixture one penalty; their sum trains all members in one step.
    // The penalty reaches member m through d log r / d log r_m = r_m / sum r, about 1/M, so each member
    // meets about lambda / M beside its own cross-entropy (docs/estimators.md, `ensemble`).
    Tensor loss(const Tensor& theta, const Tensor& x) {
        const int64_t b = theta.size(0), k = marginal_pairs(b);
        Tensor all = pair_logits(theta, x, k);
        if (contrastive_) {
            // NRE-B (Durkan et al. 2020, eq. 7): pick the true theta among K + 1 candidates for x.
            return -torch::log_softmax(all.view({-1, k + 1, b}), 1).select(1, 0).mean(1).sum();
        }
        // Early stopping judges the classifier one samples from: the mixture's cross-entropy, times M
        // so that it reads on the training loss's scale (the sum of the members').
        Tensor l = validate_mixture_ && validating() ? double(all.size(0)) * cross_entropy(ClassifierImpl::mixture(all).unsqueeze(0), b)
                                                              : cross_entropy(all, b);
        if (lambda_ == 0) return l.sum();
        if (held_out_) return validating() ? l.sum() : l.sum() + lambda_ * held_out_penalty().sum();
        Tensor z = balance_terms(all, b, k);
        return l.sum() + lambda_ * (penalty_ == "pooled" ? pooled_penalty(theta, x, z, k) : balance_penalty(z)).sum();
    }

    // fit() evaluates the validation rows with the network in eval mode (and without gradients).
    bool validating() const { return !net_->is_training(); }

    // Per row of logits on B joint then K B marginal pairs [R, (K + 1) B]: the cross-entropy [R].
    static Tensor cross_entropy(const Tensor& all, int64_t b) {
        return 0.5 * (torch::softplus(-all.narrow(1, 0, b)).mean(1) + torch::softplus(all.narrow(1, b, all.size(1) - b)).mean(1));
    }

    // Each member's logits on B joint then K B marginal pairs [M, (K + 1) B], in one forward pass; the
    // marginal ones pair x with the theta of the rows 1..K places away, so no x meets its own theta.
    Tensor pair_logits(const Tensor& theta, const Tensor& x, int64_t k) {
        std::vector<Tensor> thetas{theta}, xs(size_t(k) + 1, x);
        for (int64_t j = 1; j <= k; ++j) thetas.push_back(theta.roll(j, 0));
        return net_->members(torch::cat(thetas, 0), torch::cat(xs, 0));
    }
    int64_t marginal_pairs(int64_t rows) const { return std::min<int64_t>(negatives_, std::max<int64_t>(rows - 1, 1)); }

    // Per row i, z_i = d(theta_i, x_i) + mean_j d(theta_{i+j}, x_i) - 1 from the logits of B joint
    // then K B marginal pairs. The balance is asked of the estimator one samples from: with an
    // ensemble, of the mixture's classifier d = r / (1 + r), r = mean_m r_m ([1, B]), so its members
    // may each be sharper than balanced; one classifier: [1, B] as well.
    Tensor balance_terms(const Tensor& all, int64_t b, int64_t k) const {
        Tensor d = torch::sigmoid(ClassifierImpl::mixture(all)).unsqueeze(0);
        return d.narrow(1, 0, b) + d.narrow(1, b, b * k).view({-1, k, b}).mean(1) - 1;
    }

    // The batch penalty's gradient, 2 lambda z_B grad z_B, scales the batch's gradient by the batch's
    // own noisy mean z_B; with lambda = 100 that noise dominates the step. Here the factor comes from
    // this batch and up to pool - 1 earlier batches of the epoch, all evaluated at the current weights
    // (no lag), so the gradient is 2 lambda z_pool grad z_B; the value reported is lambda z_pool^2.
    // An earlier batch is re-evaluated with pool_pairs marginal pairs per row (default 1, not the
    // batch's K): it only estimates a mean, and the K pairs' forward passes had cost twice the step.
    // Validation (no gradient) sees the batch penalty and empties the pool: each epoch starts afresh,
    // so a resumed training repeats the same steps.
    Tensor pooled_penalty(const Tensor& theta, const Tensor& x, const Tensor& z, int64_t k) {
        if (validating()) {
            pool_.clear();
            return balance_penalty(z);
        }
        Tensor sum = z.detach().sum(1);
        int64_t rows = z.size(1);
        {
            torch::NoGradGuard no_grad;
            for (const auto& [t, xx] : pool_) {
                const int64_t pb = t.size(0), pk = std::min({k, pool_pairs_, marginal_pairs(pb)});
                sum = sum + balance_terms(pair_logits(t, xx, pk), pb, pk).sum(1);
                rows += pb;
            }
        }
        pool_.emplace_back(theta.detach(), x.detach());
        if (int64_t(pool_.size()) >= pool_size_) pool_.pop_front();
        Tensor factor = sum / double(rows), zb = z.mean(1);  // [1]
        return factor.pow(2) + 2 * factor * (zb - zb.detach());
    }

    // The penalty on the held-out rows: the population's balance estimated on rows the cross-entropy
    // never trains on. On the training rows an overfit classifier scores its own joint pairs high, so
    // balance there holds the classifier back from what the cross-entropy could still gain (slcp at
    // 10^3: C2ST 0.979 with dropout against 0.975 held out). Early stopping then judges the
    // cross-entropy alone, since the held-out rows are no longer unseen by the penalty.
    Tensor held_out_penalty() {
        const int64_t n = held_theta_.size(0), k = marginal_pairs(n);
        return balance_penalty(balance_terms(pair_logits(held_theta_, held_x_, k), n, k));
    }
    void collect_held_out(const DataSource& data) {
        std::vector<Tensor> thetas, xs;
        int64_t rows = 0;
        data.for_each_val_batch(kHeldOutRows, [&](const Tensor& t, const Tensor& x) {
            if (rows >= kHeldOutRows) return;
            const int64_t take = std::min(t.size(0), kHeldOutRows - rows);
            thetas.push_back(t.narrow(0, 0, take));
            xs.push_back(x.narrow(0, 0, take));
            rows += take;
        });
        held_theta_ = theta_.apply(torch::cat(thetas, 0));
        held_x_ = x_.apply(torch::cat(xs, 0));
    }

    // (E_joint[d] + E_marginal[d] - 1)^2 from a batch: z [1, B] (balance_terms) -> [1].
    // The square of the batch mean overestimates it by the mean's variance, a bias that rewards a
    // constant classifier (the prior) and is largest when batches are small; the U-statistic over
    // distinct rows i != j is unbiased, but its variance made C2ST worse on three sbibm tasks at
    // 10^3 simulations (docs/estimators.md).
    Tensor balance_penalty(const Tensor& z) const {
        const int64_t b = z.size(1);
        if (penalty_ != "unbiased" || b < 2) return z.mean(1).pow(2);
        return (z.sum(1).pow(2) - z.pow(2).sum(1)) / double(b * (b - 1));
    }

    Tensor log_term(const Tensor& theta_std, const Tensor& x_std) override { return net_->forward(theta_std, x_std); }

    bool trained() const override { return bool(net_); }
    torch::nn::Module& network() override { return *net_; }
    json config_json() const override {
        return {{"hidden", hidden_}, {"network", residual_ ? "residual" : "mlp"}, {"embedding", embedding_}, {"sampler", sampler_.to_json()}, {"lambda", lambda_}, {"negatives", negatives_}, {"dropout", dropout_}, {"validation", validate_mixture_ ? "mixture" : "members"}, {"ensemble", ensemble_}, {"loss", contrastive_ ? "contrastive" : "binary"}, {"penalty", penalty_}, {"pool", pool_size_}, {"pool_pairs", pool_pairs_}, {"balance", held_out_ ? "held_out" : "batches"}, {"threads", runtime_.threads}};
    }
    void rebuild(const json& j) override {
        const json& c = j.at("config");
        hidden_ = c.at("hidden").get<std::vector<int64_t>>();
        embedding_ = c.at("embedding");
        residual_ = c.value("network", std::string("mlp")) == "residual";
        sampler_ = SamplerConfig::from_json(c.at("sampler"));
        lambda_ = c.value("lambda", 0.0);
        negatives_ = c.value("negatives", int64_t(1));
        dropout_ = c.value("dropout", 0.0);
        validate_mixture_ = c.value("validation", std::string("members")) == "mixture";
        penalty_ = c.value("penalty", std::string("batch"));
        pool_size_ = c.value("pool", int64_t(1));
        pool_pairs_ = c.value("pool_pairs", negatives_);  // older artifacts re-evaluated the pool with all K pairs
        held_out_ = c.value("balance", std::string("batches")) == "held_out";
        ensemble_ = c.value("ensemble", int64_t(1));
        contrastive_ = c.value("loss", std::string("binary")) == "contrastive";
        net_ = Classifier(hidden_, residual_, dropout_, embedding_, j.at("theta_dim").get<int64_t>(), j.at("x_dim").get<int64_t>(), ensemble_);
    }

private:
    std::vector<int64_t> hidden_;
    json embedding_;
    double lambda_, dropout_ = 0;
    // The config's settings (validation true: mixture); unset, do_train resolves them from the
    // training rows.
    std::optional<double> dropout_setting_;
    std::optional<bool> mixture_setting_;
    std::optional<int64_t> ensemble_setting_;
    bool held_out_ = false;  // BNRE: the penalty on held-out rows
    Tensor held_theta_, held_x_;  // held-out rows, standardized
    int64_t negatives_, ensemble_ = 1;
    bool contrastive_ = false;
    bool validate_mixture_ = false;
    bool residual_ = false;
    std::string penalty_ = "batch";
    int64_t pool_size_ = 1, pool_pairs_ = 1;
    std::deque<std::pair<Tensor, Tensor>> pool_;  // recent batches of this epoch, standardized
    Classifier net_{nullptr};
};

using Nre = RatioEstimator<false>;
using Bnre = RatioEstimator<true>;

}  // namespace

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Nre, Bnre)
#endif
