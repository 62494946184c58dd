// The network of the ODE- and SDE-based estimators (flow matching, score matching): an MLP on
// (theta, t, context) with ELU units, so that the field it defines and its divergence are smooth.
#pragma once
#include "util.hpp"

namespace simbi::nn {

// f(t, theta, c) -> R^dim, t of shape [B, 1] in [0, 1], seen through sin/cos(k pi t), k = 1..4.
struct TimeMlpImpl : torch::nn::Module {
    TimeMlpImpl(int64_t dim, int64_t context, const std::vector<int64_t>& hidden);
    Tensor forward(const Tensor& t, const Tensor& theta, const Tensor& c);

private:
    int64_t frequencies_ = 4;
    std::vector<torch::nn::Linear> layers_;
};
TORCH_MODULE(TimeMlp);

}  // namespace simbi::nn
