// networks.hpp: MLPs, residual MLPs, embeddings of x, and the config keys the estimators share.
#include "networks.hpp"
#include "samplers.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace simbi::nn {

torch::nn::Sequential make_mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out, double dropout) {
    torch::nn::Sequential seq;
    int64_t width = in;
    for (int64_t h : hidden) {
        seq->push_back(torch::nn::Linear(width, h));
        seq->push_back(torch::nn::ReLU());
        if (dropout > 0) seq->push_back(torch::nn::Dropout(dropout));
        width = h;
    }
    seq->push_back(torch::nn::Linear(width, out));
    return seq;
}

namespace {
// x + W2 relu(W1 relu(x)), with W2 started near zero so that each block starts as the identity
// (He et al. 2016; the residual classifier of sbi's and sbibm's NRE).
struct ResidualBlockImpl : torch::nn::Module {
    explicit ResidualBlockImpl(int64_t width)
        : first(register_module("first", torch::nn::Linear(width, width))),
          second(register_module("second", torch::nn::Linear(width, width))) {
        torch::NoGradGuard no_grad;
        second->weight.uniform_(-1e-3, 1e-3);
        second->bias.uniform_(-1e-3, 1e-3);
    }
    Tensor forward(const Tensor& x) { return x + second(torch::relu(first(torch::relu(x)))); }
    torch::nn::Linear first, second;
};
TORCH_MODULE(ResidualBlock);
}  // namespace

torch::nn::Sequential make_residual_mlp(int64_t in, int64_t width, int64_t blocks, int64_t out) {
    torch::nn::Sequential seq;
    seq->push_back(torch::nn::Linear(in, width));
    for (int64_t b = 0; b < blocks; ++b) seq->push_back(ResidualBlock(width));
    seq->push_back(torch::nn::Linear(width, out));
    return seq;
}

const std::vector<NetworkKind>& network_kinds() {
    static const std::vector<NetworkKind> kinds = {
        {"mlp", "fully connected layers of widths hidden, ReLU, optional dropout", [](const std::vector<int64_t>&, double) {},
         [](int64_t in, const std::vector<int64_t>& hidden, int64_t out, double dropout) { return make_mlp(in, hidden, out, dropout); }},
        {"residual", "two-layer residual blocks, one per entry of hidden, all of one width (as sbibm's NRE)",
         [](const std::vector<int64_t>& hidden, double dropout) {
             if (hidden.empty() || std::adjacent_find(hidden.begin(), hidden.end(), std::not_equal_to<>()) != hidden.end())
                 throw std::invalid_argument("a residual network's hidden widths must be equal (one per block, at least one)");
             if (dropout > 0) throw std::invalid_argument("dropout applies to the mlp network, not the residual one");
         },
         [](int64_t in, const std::vector<int64_t>& hidden, int64_t out, double) {
             return make_residual_mlp(in, hidden.at(0), int64_t(hidden.size()), out);
         }},
    };
    return kinds;
}

const NetworkKind& network_kind(const std::string& name) { return find_kind(network_kinds(), name, "network"); }

simbi::Option widths_option(std::vector<long long> widths, const std::string& doc) {
    // Bounded so that a typo is an error, not an allocation of terabytes.
    return simbi::Option::integers(std::move(widths)).items_between(1, 16384).length_between(1, 64).doc(doc);
}

void declare_flow_options(simbi::Info& info, const std::string& default_flow) {
    info.option("flow", kind_option(flow_kinds(), default_flow).doc("the flow: " + kind_choices(flow_kinds())))
        .option("transforms", simbi::Option::integer(5).minimum(1).maximum(100).doc("number of autoregressive transforms"))
        .option("hidden", widths_option({64, 64}, "hidden widths of each MADE conditioner"))
        .option("bins", simbi::Option::integer(8).minimum(2).maximum(1024).doc("spline bins (nsf)"))
        .option("bound", simbi::Option::number(5).above(0).maximum(1e6).doc("spline domain [-bound, bound] (nsf)"));
}

void declare_embedding_option(simbi::Info& info) {
    info.option("embedding", simbi::Option::object(R"({"type": "none"})")
                                 .doc("x embedding: {type: " + kind_choices(embedding_kinds()) + ", hidden, features, channels}"));
}

json read_embedding(const simbi::Config& c) { return EmbeddingImpl::validate(json::parse(c.json_text("embedding"))); }

void declare_runtime_options(simbi::Info& info) {
    info.option("threads", simbi::Option::integer(1).minimum(1).maximum(1024).doc("LibTorch intra-op threads"))
        .option("memory_mb",
                simbi::Option::integer(2048).minimum(1).doc("training data held in memory; larger datasets stream from the store"));
    info.capability(SIMBI_CAPABILITY_DATA_PARALLEL);  // fit() shares each batch across the ranks
}

const std::vector<EmbeddingKind>& embedding_kinds() {
    static const std::vector<EmbeddingKind> kinds = {
        {"none", "x as it is", false,
         [](const json&, int64_t x_dim, int64_t, int64_t& features) {
             features = x_dim;
             return torch::nn::Sequential(nullptr);
         }},
        {"mlp", "an MLP of widths hidden to features", false,
         [](const json& s, int64_t x_dim, int64_t, int64_t& features) {
             features = s.value("features", int64_t(16));
             return make_mlp(x_dim, s.value("hidden", std::vector<int64_t>{64}), features);
         }},
        {"cnn", "a 1-D CNN over x as channels x length, for time series", true,
         [](const json& s, int64_t x_dim, int64_t channels, int64_t& features) {
             const int64_t length = x_dim / channels, pooled = std::min<int64_t>(4, length);
             features = s.value("features", int64_t(16));
             return torch::nn::Sequential(torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, 16, 3).padding(1)), torch::nn::ReLU(),
                                          torch::nn::Conv1d(torch::nn::Conv1dOptions(16, 32, 3).padding(1)), torch::nn::ReLU(),
                                          torch::nn::AdaptiveAvgPool1d(pooled), torch::nn::Flatten(),
                                          torch::nn::Linear(32 * pooled, features));
         }},
    };
    return kinds;
}

json EmbeddingImpl::validate(const json& s) {
    if (!s.is_object()) throw std::invalid_argument("embedding must be an object such as {\"type\": \"mlp\"}");
    find_kind(embedding_kinds(), s.value("type", "none"), "embedding type");
    for (auto it = s.begin(); it != s.end(); ++it)
        if (it.key() != "type" && it.key() != "hidden" && it.key() != "features" && it.key() != "channels")
            throw std::invalid_argument("unknown embedding key '" + it.key() + "' (accepted: type, hidden, features, channels)");
    if (s.value("features", int64_t(16)) < 1 || s.value("channels", int64_t(1)) < 1)
        throw std::invalid_argument("embedding features and channels must be positive");
    return s;
}

EmbeddingImpl::EmbeddingImpl(const json& s, int64_t x_dim)
    : spec(s), kind_(&find_kind(embedding_kinds(), s.value("type", "none"), "embedding type")) {
    if (kind_->series) {
        channels_ = s.value("channels", int64_t(1));
        if (channels_ < 1 || x_dim % channels_ != 0)
            throw std::invalid_argument("embedding.channels must divide the x dimension " + std::to_string(x_dim));
    }
    torch::nn::Sequential net = kind_->make(s, x_dim, channels_, features_);
    if (net) net_ = register_module("net", net);
}

Tensor EmbeddingImpl::forward(const Tensor& x) {
    if (!net_) return x;
    if (kind_->series) return net_->forward(x.view({x.size(0), channels_, -1}));
    return net_->forward(x);
}

}  // namespace simbi::nn
