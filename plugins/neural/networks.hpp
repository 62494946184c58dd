// Networks: MLPs, embeddings of x, and conditional normalizing flows (MADE, MAF, NSF).
#pragma once
#include "util.hpp"

namespace simbi::nn {

// Fully connected network with ReLU between layers, and dropout after each when dropout > 0
// (Srivastava et al. 2014; active in training mode only).
torch::nn::Sequential make_mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out, double dropout = 0);
// Linear(in, width), `blocks` residual blocks of two layers each, Linear(width, out).
torch::nn::Sequential make_residual_mlp(int64_t in, int64_t width, int64_t blocks, int64_t out);

// The networks of a classifier or a field, by name: "mlp" (widths `hidden`) and "residual"
// (one block per entry of `hidden`, all of one width). check() refuses settings it cannot build.
struct NetworkKind {
    std::string name, doc;
    void (*check)(const std::vector<int64_t>& hidden, double dropout);
    torch::nn::Sequential (*make)(int64_t in, const std::vector<int64_t>& hidden, int64_t out, double dropout);
};
const std::vector<NetworkKind>& network_kinds();
const NetworkKind& network_kind(const std::string& name);

// The embeddings of x, by the spec's "type": identity ("none"), an MLP, or a 1-D CNN for time
// series (x seen as [channels, length]). make() builds the network (none for the identity) and
// sets the output width `features`; a kind with `series` sees x as [batch, channels, length].
struct EmbeddingKind {
    std::string name, doc;
    bool series;
    torch::nn::Sequential (*make)(const json& spec, int64_t x_dim, int64_t channels, int64_t& features);
};
const std::vector<EmbeddingKind>& embedding_kinds();

// An embedding of x as its spec asks ({"type": ..., "hidden", "features", "channels"}). Its
// output width is features().
struct EmbeddingImpl : torch::nn::Module {
    EmbeddingImpl(const json& spec, int64_t x_dim);
    // Checks what can be checked before x's dimension is known; throws std::invalid_argument.
    static json validate(const json& spec);
    Tensor forward(const Tensor& x);
    int64_t features() const { return features_; }
    json spec;

private:
    const EmbeddingKind* kind_;
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

// The element-wise transforms an autoregressive flow can use, by name. Each gets `params(bins)`
// numbers per dimension from the MADE and maps u to z (inverse = false, with log|dz/du| summed
// over dimensions) or z back to u (inverse = true; the log-determinant is then not needed).
struct FlowKind {
    std::string name, doc;
    int64_t (*params)(int64_t bins);
    std::pair<Tensor, Tensor> (*apply)(const Tensor& u, const Tensor& params, int64_t bins, double bound, bool inverse);
};
const std::vector<FlowKind>& flow_kinds();
const FlowKind& flow_kind(const std::string& name);

// One autoregressive transform u -> z with log|dz/du|, and its inverse.
//   "maf": affine, z_i = (u_i - m_i) exp(-a_i)                         (Papamakarios et al. 2017)
//   "nsf": monotonic rational-quadratic spline on [-B, B], identity outside (Durkan et al. 2019)
struct AutoregressiveTransformImpl : torch::nn::Module {
    AutoregressiveTransformImpl(const std::string& kind, int64_t dim, int64_t context, const std::vector<int64_t>& hidden, int64_t bins,
                                double bound, const std::vector<int64_t>& order);
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
    Tensor log_prob(const Tensor& u, const Tensor& c);   // [B]
    Tensor sample(const Tensor& c, at::Generator& gen);  // one sample per context row
    Tensor to_base(const Tensor& u, const Tensor& c);    // u -> z
    Tensor from_base(const Tensor& z, const Tensor& c);  // z -> u
    json spec;

private:
    int64_t dim_;
    std::vector<AutoregressiveTransform> transforms_;
};
TORCH_MODULE(ConditionalFlow);

// The settings several estimators share, each declared once with its bounds; the readers take
// the values the host already checked against those declarations.
void declare_flow_options(simbi::Info& info, const std::string& default_flow);
// The flow settings: flow (a name of flow_kinds()), transforms, hidden, bins, bound.
json flow_spec(const simbi::Config& c);
void declare_embedding_option(simbi::Info& info);
json read_embedding(const simbi::Config& c);
// The runtime options (threads, memory_mb), and the data-parallel training every neural
// estimator has through fit().
void declare_runtime_options(simbi::Info& info);
// Hidden widths: a list of 1 to 64 integers from 1 to 16384.
simbi::Option widths_option(std::vector<long long> widths, const std::string& doc);

}  // namespace simbi::nn
