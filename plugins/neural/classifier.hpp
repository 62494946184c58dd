// Classifiers of joint against marginal pairs (theta, x), for neural ratio estimation (Hermans et
// al. 2020), and the balance condition of BNRE (Delaunoy et al. 2022).
//
// A classifier d(theta, x) = sigmoid(f(theta, x)) tells joint pairs ~ p(theta, x) from marginal
// pairs ~ p(theta) p(x); at the optimum f = log r = log p(x | theta) / p(x). A batch of B joint
// pairs gives K B marginal ones by pairing each x with the theta of the rows 1..K places away.
#pragma once
#include <deque>

#include "networks.hpp"
#include "training.hpp"

namespace simbi::nn {

// M members side by side, each an embedding of x and a network on (theta, embedding); the
// ensemble's log r is log (1/M) sum_m r_m, the mixture of the members' posteriors (deep ensembles,
// Lakshminarayanan et al. 2017; Hermans et al. 2022, sec. 4).
struct ClassifierImpl : torch::nn::Module {
    // Member 0 keeps the names of a single classifier, so artifacts without an ensemble load as before.
    ClassifierImpl(const std::vector<int64_t>& hidden, const std::string& network, double dropout, const json& embedding, int64_t d,
                   int64_t k, int64_t members);
    // theta, x: standardized; each member's logit log r_m [M, B].
    Tensor members(const Tensor& theta, const Tensor& x);
    Tensor forward(const Tensor& theta, const Tensor& x) { return mixture(members(theta, x)); }
    // Members' logits [M, N] -> the mixture's logit [N].
    static Tensor mixture(const Tensor& all);
    std::vector<Embedding> embeds;
    std::vector<torch::nn::Sequential> nets;
};
TORCH_MODULE(Classifier);

// Each member's logits on B joint then K B marginal pairs [M, (K + 1) B], in one forward pass; the
// marginal ones pair x with the theta of the rows 1..K places away, so no x meets its own theta.
Tensor pair_logits(Classifier& net, const Tensor& theta, const Tensor& x, int64_t k);
// Per row of logits on B joint then K B marginal pairs [R, (K + 1) B]: the binary cross-entropy
// -E_joint[log d] - E_marginal[log(1 - d)], halved as in lampe's NRELoss [R].
Tensor pair_cross_entropy(const Tensor& all, int64_t b);
// Per row i, z_i = d(theta_i, x_i) + mean_j d(theta_{i+j}, x_i) - 1, of the mixture's classifier
// d = r / (1 + r) (the one sampled from): [1, B].
Tensor balance_terms(const Tensor& all, int64_t b, int64_t k);

// BNRE's penalty (E_joint[d] + E_marginal[d] - 1)^2, estimated as `estimate` says:
//  "batch":    the square of the batch mean (as the paper). It overestimates the penalty by the
//              mean's variance, a bias that rewards a constant classifier;
//  "unbiased": the U-statistic over distinct rows i != j, whose variance made C2ST worse on three
//              sbibm tasks at 10^3 simulations (docs/estimators.md);
//  "pooled":   the gradient 2 lambda z_pool grad z_B, its factor from this batch and up to pool - 1
//              earlier batches of the epoch, all evaluated at the current weights, each with
//              pool_pairs marginal pairs a row; validation sees the batch penalty and empties the
//              pool, so a resumed training repeats the same steps.
// With held_out, the penalty is taken on held-out rows instead (hold_out()), all at every step.
class BalancePenalty {
public:
    struct Settings {
        std::string estimate = "batch";
        int64_t pool = 1, pool_pairs = 1;
        bool held_out = false;
    };
    BalancePenalty() = default;
    explicit BalancePenalty(Settings s) : s_(std::move(s)) {}
    const Settings& settings() const { return s_; }
    // z [1, B] -> [1], by "batch" or "unbiased".
    Tensor of_batch(const Tensor& z) const;
    // The training penalty for a batch whose balance terms are z (its K marginal pairs a row); at
    // validation (no gradient), the batch penalty.
    Tensor pooled(Classifier& net, const Tensor& theta, const Tensor& x, const Tensor& z, int64_t k, int64_t negatives, bool validating);
    // Keeps rows (standardized) for the held-out penalty.
    void hold_out(const Tensor& theta, const Tensor& x);
    Tensor on_held_out(Classifier& net, int64_t negatives);

private:
    Settings s_;
    std::deque<std::pair<Tensor, Tensor>> pool_;  // recent batches of this epoch, standardized
    Tensor held_theta_, held_x_;
};

// Marginal pairs a row in a batch of `rows`: K, or fewer in a smaller batch.
inline int64_t marginal_pairs(int64_t negatives, int64_t rows) { return std::min<int64_t>(negatives, std::max<int64_t>(rows - 1, 1)); }

}  // namespace simbi::nn
