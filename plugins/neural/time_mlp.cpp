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

TimeResMlpImpl::TimeResMlpImpl(int64_t dim, int64_t width, int64_t blocks, int64_t embedding) {
    embed_ = register_module(
        "embed", torch::nn::Sequential(torch::nn::Linear(2 * frequencies_, 256), torch::nn::SiLU(), torch::nn::Linear(256, embedding)));
    in_ = register_module("input", torch::nn::Linear(dim + embedding, width));
    for (int64_t b = 0; b < blocks; ++b) {
        const std::string n = std::to_string(b);
        norms_.push_back(register_module("norm" + n, torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}))));
        first_.push_back(register_module("first" + n, torch::nn::Linear(width, width)));
        second_.push_back(register_module("second" + n, torch::nn::Linear(width, width)));
    }
    out_ = register_module("out", torch::nn::Linear(width, dim));
}

Tensor TimeResMlpImpl::forward(const Tensor& t, const Tensor& x) {
    const Tensor angles = t * (torch::arange(1, frequencies_ + 1, t.options()) * M_PI);
    Tensor h = in_->forward(torch::cat({x, embed_->forward(torch::cat({torch::cos(angles), torch::sin(angles)}, 1))}, 1));
    for (size_t b = 0; b < norms_.size(); ++b) h = h + second_[b]->forward(torch::silu(first_[b]->forward(norms_[b]->forward(h))));
    return out_->forward(h);
}

}  // namespace simbi::nn
