// Networks: MLPs, embeddings of x, and conditional normalizing flows (MADE, MAF, NSF).
#pragma once
#include "util.hpp"

namespace simbi::nn {

// Fully connected network with ReLU between layers, and dropout after each when dropout > 0
// (Srivastava et al. 2014; active in training mode only).
torch::nn::Sequential make_mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out, double dropout = 0);
// Linear(in, width), `blocks` residual blocks of two layers each, Linear(width, out).
torch::nn::Sequential make_residual_mlp(int64_t in, int64_t width, int64_t blocks, int64_t out);

// An embedding of x: identity ("none"), an MLP, or a 1-D CNN for time series (x seen as
// [channels, length]). Its output width is features().
struct EmbeddingImpl : torch::nn::Module {
    EmbeddingImpl(const json& spec, int64_t x_dim);
    // Checks what can be checked before x's dimension is known; throws std::invalid_argument.
    static json validate(const json& spec);
    Tensor forward(const Tensor& x);
    int64_t features() const { return features_; }
    json spec;

private:
    std::string type_;
    int64_t features_, channels_ = 1;
    torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(Embedding);

// MADE (Germain et al. 2015): an MLP whose outputs for dimension i see only inputs before i in
// `order`, and every context feature.
struct MadeImpl : torch::nn::Module {
    MadeImpl(int64_t dim, int64_t context, const std::vector<int64_t>& hidden, int64_t params_per_dim, const std::vector<int64_t>& order);
    // u [B, D], c [B, C] -> [B, D, P]
    Tensor forward(const Tensor& u, const Tensor& c);

private:
    std::vector<torch::nn::Linear> layers_;
    std::vector<Tensor> masks_;
    int64_t dim_, params_;
};
TORCH_MODULE(Made);

// One autoregressive transform u -> z with log|dz/du|, and its inverse.
//   "maf": affine, z_i = (u_i - m_i) exp(-a_i)                         (Papamakarios et al. 2017)
//   "nsf": monotonic rational-quadratic spline on [-B, B], identity outside (Durkan et al. 2019)
struct AutoregressiveTransformImpl : torch::nn::Module {
    AutoregressiveTransformImpl(const std::string& kind, int64_t dim, int64_t context, const std::vector<int64_t>& hidden,
                                int64_t bins, double bound, const std::vector<int64_t>& order);
    std::pair<Tensor, Tensor> forward(const Tensor& u, const Tensor& c);
    Tensor inverse(const Tensor& z, const Tensor& c);

private:
    std::pair<Tensor, Tensor> apply(const Tensor& u, const Tensor& params, bool inverse);
    std::string kind_;
    int64_t dim_, bins_;
    double bound_;
    std::vector<int64_t> order_;
    Made made_{nullptr};
};
TORCH_MODULE(AutoregressiveTransform);

// The rational-quadratic spline as one fused autograd function over float32 tensors:
// x [..], params [.., 3K - 1] -> (y, log dy/dx), and its inverse (no gradient).
std::pair<Tensor, Tensor> spline_transform(const Tensor& x, const Tensor& params, int64_t K, double B);
Tensor spline_inverse(const Tensor& y, const Tensor& params, int64_t K, double B);
// The same spline written with tensor operations, kept as the reference the fused one is tested
// against.
std::pair<Tensor, Tensor> spline_reference(const Tensor& x, const Tensor& params, int64_t K, double B, bool inverse);

// A stack of autoregressive transforms over a standard normal base, alternating orderings.
struct ConditionalFlowImpl : torch::nn::Module {
    ConditionalFlowImpl(const json& spec, int64_t dim, int64_t context);
    Tensor log_prob(const Tensor& u, const Tensor& c);  // [B]
    Tensor sample(const Tensor& c, at::Generator& gen);  // one sample per context row
    Tensor to_base(const Tensor& u, const Tensor& c);    // u -> z
    Tensor from_base(const Tensor& z, const Tensor& c);  // z -> u
    json spec;

private:
    int64_t dim_;
    std::vector<AutoregressiveTransform> transforms_;
};
TORCH_MODULE(ConditionalFlow);

// The config keys shared by several estimators, declared once for their descriptors.
void declare_flow_options(simbi::Info& info, const std::string& default_flow);
void declare_sampler_options(simbi::Info& info);
// The runtime options (threads, memory_mb), and the data-parallel training every neural
// estimator has through fit().
void declare_runtime_options(simbi::Info& info);

// The flow settings from an estimator config: flow (maf|nsf), transforms, hidden, bins, bound.
json flow_spec(const simbi::Config& c, const std::string& default_flow = "nsf");

}  // namespace simbi::nn
