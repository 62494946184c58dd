// classifier.hpp: classifiers of joint against marginal pairs, and BNRE's balance penalty.
#include "classifier.hpp"

#include <cmath>

namespace simbi::nn {

ClassifierImpl::ClassifierImpl(const std::vector<int64_t>& hidden, const std::string& network, double dropout, const json& embedding,
                               int64_t d, int64_t k, int64_t members) {
    for (int64_t m = 0; m < members; ++m) {
        const std::string suffix = m == 0 ? "" : std::to_string(m);
        embeds.push_back(register_module("embedding" + suffix, Embedding(embedding, k)));
        const int64_t in = d + embeds.back()->features();
        nets.push_back(register_module("mlp" + suffix, network_kind(network).make(in, hidden, 1, dropout)));
    }
}

Tensor ClassifierImpl::members(const Tensor& theta, const Tensor& x) {
    std::vector<Tensor> out;
    for (size_t m = 0; m < nets.size(); ++m) out.push_back(nets[m]->forward(torch::cat({theta, embeds[m]->forward(x)}, 1)).squeeze(1));
    return out.size() == 1 ? out[0].unsqueeze(0) : torch::stack(out, 0);  // one member: a view, no copy
}

Tensor ClassifierImpl::mixture(const Tensor& all) {
    return all.size(0) == 1 ? all[0] : torch::logsumexp(all, 0) - std::log(double(all.size(0)));
}

Tensor pair_logits(Classifier& net, const Tensor& theta, const Tensor& x, int64_t k) {
    std::vector<Tensor> thetas{theta}, xs(size_t(k) + 1, x);
    for (int64_t j = 1; j <= k; ++j) thetas.push_back(theta.roll(j, 0));
    return net->members(torch::cat(thetas, 0), torch::cat(xs, 0));
}

Tensor pair_cross_entropy(const Tensor& all, int64_t b) {
    return 0.5 * (torch::softplus(-all.narrow(1, 0, b)).mean(1) + torch::softplus(all.narrow(1, b, all.size(1) - b)).mean(1));
}

Tensor balance_terms(const Tensor& all, int64_t b, int64_t k) {
    Tensor d = torch::sigmoid(ClassifierImpl::mixture(all)).unsqueeze(0);
    return d.narrow(1, 0, b) + d.narrow(1, b, b * k).view({-1, k, b}).mean(1) - 1;
}

Tensor BalancePenalty::of_batch(const Tensor& z) const {
    const int64_t b = z.size(1);
    if (s_.estimate != "unbiased" || b < 2) return z.mean(1).pow(2);
    return (z.sum(1).pow(2) - z.pow(2).sum(1)) / double(b * (b - 1));
}

Tensor BalancePenalty::pooled(Classifier& net, const Tensor& theta, const Tensor& x, const Tensor& z, int64_t k, int64_t negatives,
                              bool validating) {
    if (validating) {
        pool_.clear();
        return of_batch(z);
    }
    Tensor sum = z.detach().sum(1);
    int64_t rows = z.size(1);
    {
        torch::NoGradGuard no_grad;
        for (const auto& [t, xx] : pool_) {
            const int64_t pb = t.size(0), pk = std::min({k, s_.pool_pairs, marginal_pairs(negatives, pb)});
            sum = sum + balance_terms(pair_logits(net, t, xx, pk), pb, pk).sum(1);
            rows += pb;
        }
    }
    pool_.emplace_back(theta.detach(), x.detach());
    if (int64_t(pool_.size()) >= s_.pool) pool_.pop_front();
    Tensor factor = sum / double(rows), zb = z.mean(1);  // [1]
    return factor.pow(2) + 2 * factor * (zb - zb.detach());
}

void BalancePenalty::hold_out(const Tensor& theta, const Tensor& x) {
    held_theta_ = theta;
    held_x_ = x;
}

Tensor BalancePenalty::on_held_out(Classifier& net, int64_t negatives) {
    const int64_t n = held_theta_.size(0), k = marginal_pairs(negatives, n);
    return of_batch(balance_terms(pair_logits(net, held_theta_, held_x_, k), n, k));
}

}  // namespace simbi::nn
