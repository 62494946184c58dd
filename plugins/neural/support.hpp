// The host's prior seen with tensors, and the bijection from its support to R^d.
#pragma once
#include "util.hpp"

namespace simbi::nn {

// The host's prior (simbi_prior, given by set_prior or in the training context) seen with
// tensors: one prior grammar, the host's. Host-owned; the host keeps it valid for the instance.
class TorchPrior {
public:
    TorchPrior() = default;
    explicit TorchPrior(const simbi_prior* prior);
    bool defined() const { return prior_ != nullptr; }
    Tensor log_prob(const Tensor& theta) const;          // [B] float64; -inf outside the support
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

}  // namespace simbi::nn
