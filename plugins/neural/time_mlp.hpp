// The time-conditioned networks of the ODE- and SDE-based methods: an ELU MLP on (theta, t,
// context) for flow and score matching, smooth so that its field's divergence is too, and SDA's
// residual MLP.
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

// A residual MLP on (x, embedding(t)) as SDA's score network (Rozet & Louppe 2023, sda/nn.py's
// ResMLP and sda/score.py's TimeEmbedding): t through sin/cos(k pi t), k = 1..16, and a
// two-layer SiLU net to `embedding` features; Linear(dim + embedding, width), then `blocks`
// blocks x + Linear(SiLU(Linear(LayerNorm(x)))), then Linear(width, dim).
struct TimeResMlpImpl : torch::nn::Module {
    TimeResMlpImpl(int64_t dim, int64_t width, int64_t blocks, int64_t embedding = 32);
    Tensor forward(const Tensor& t, const Tensor& x);

private:
    int64_t frequencies_ = 16;
    torch::nn::Sequential embed_{nullptr};
    torch::nn::Linear in_{nullptr}, out_{nullptr};
    std::vector<torch::nn::LayerNorm> norms_;
    std::vector<torch::nn::Linear> first_, second_;
};
TORCH_MODULE(TimeResMlp);

}  // namespace simbi::nn
