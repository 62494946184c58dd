// The time-conditioned MLP (time_mlp.hpp).
#include "time_mlp.hpp"

namespace simbi::nn {

TimeMlpImpl::TimeMlpImpl(int64_t dim, int64_t context, const std::vector<int64_t>& hidden) {
    int64_t in = dim + 1 + 2 * frequencies_ + context;
    for (size_t i = 0; i < hidden.size(); ++i) {
        layers_.push_back(register_module("layer" + std::to_string(i), torch::nn::Linear(in, hidden[i])));
        in = hidden[i];
    }
    layers_.push_back(register_module("out", torch::nn::Linear(in, dim)));
}

Tensor TimeMlpImpl::forward(const Tensor& t, const Tensor& theta, const Tensor& c) {
    std::vector<Tensor> parts{theta, t};
    for (int64_t k = 1; k <= frequencies_; ++k) {
        parts.push_back(torch::sin(double(k) * M_PI * t));
        parts.push_back(torch::cos(double(k) * M_PI * t));
    }
    parts.push_back(c);
    Tensor h = torch::cat(parts, 1);
    for (size_t i = 0; i + 1 < layers_.size(); ++i) h = torch::elu(layers_[i]->forward(h));
    return layers_.back()->forward(h);
}

}  // namespace simbi::nn
