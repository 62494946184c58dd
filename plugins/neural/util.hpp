// The neural plugins' common ground: torch and JSON names, small tensor utilities, thread scopes,
// standardization, and the files of an artifact.
#pragma once
#include <functional>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <simbi/estimator.hpp>
#include <simbi/sha256.hpp>
#include <string>
#include <vector>

namespace simbi::nn {

using json = nlohmann::json;
using torch::Tensor;

// A CPU generator seeded from (seed, stream).
at::Generator make_generator(uint64_t seed, uint64_t stream);
// Standard normal draws shaped like a tensor: a stochastic sampler's one source of randomness, so
// that a batch of many observations can draw each observation's rows from its own stream.
using Noise = std::function<Tensor(const Tensor& like)>;
inline Noise normal_noise(at::Generator& gen) {
    return [&gen](const Tensor& like) { return torch::randn(like.sizes(), gen, like.options()); };
}
// Sets torch's intra-op threads for a scope and restores them after (the host's global state).
class ThreadScope {
public:
    explicit ThreadScope(int threads);
    ~ThreadScope();

private:
    int previous_, previous_blas_ = 0;
    bool flush_denormal_ = false;
};
Tensor to_tensor(const double* data, int64_t rows, int64_t cols);
void from_tensor(const Tensor& t, double* out);
// An integer list setting (its bounds declared with it, e.g. by widths_option).
std::vector<int64_t> int_list(const simbi::Config& c, const std::string& key);

// z-scoring with statistics from the training data.
struct Standardizer {
    Tensor mean, std;  // float32 [dim]
    Tensor apply(const Tensor& t) const { return (t - mean) / std; }
    Tensor invert(const Tensor& t) const { return t * std + mean; }
    double log_std_sum() const { return std.log().sum().item<double>(); }
    json to_json() const;
    static Standardizer from_json(const json& j);
};

// Settings every neural estimator takes: intra-op threads and the memory for training data.
struct RuntimeConfig {
    int threads = 1;
    int64_t memory_bytes = int64_t(2048) << 20;
    static RuntimeConfig from_config(const simbi::Config& c);
};

// The fields every artifact's estimator.json starts with.
json artifact_header(const std::string& id, const std::string& version);
// Reads estimator.json from dir and checks that it belongs to `id`.
json read_artifact(const std::string& dir, const std::string& id);

void save_module(torch::nn::Module& m, const std::string& path);
void load_module(torch::nn::Module& m, const std::string& path);
void write_json(const std::string& path, const json& j);
json read_json(const std::string& path);
// SHA-256 of a file's bytes, in hex: the SDK's one helper (simbi/sha256.hpp).
using simbi::sha256_file;
std::string torch_version();

// The tables of kinds (flows, networks, embeddings, samplers): each a list of entries with a
// `name` and a `doc`, found by name. A new kind is a new entry; the tests iterate over the tables.
template <class Kind>
const Kind& find_kind(const std::vector<Kind>& table, const std::string& name, const std::string& what) {
    std::string names;
    for (const auto& k : table) {
        if (name == k.name) return k;
        names += (names.empty() ? "" : ", ") + k.name;
    }
    throw std::invalid_argument(what + " must be one of " + names + ", not '" + name + "'");
}
// A setting that names a kind of the table.
template <class Kind>
simbi::Option kind_option(const std::vector<Kind>& table, const std::string& dflt) {
    std::vector<std::string> names;
    for (const auto& k : table) names.push_back(k.name);
    return simbi::Option::choice(names, dflt);
}
// "a (doc) | b (doc)": the choices of a table, for an option's documentation.
template <class Kind>
std::string kind_choices(const std::vector<Kind>& table) {
    std::string out;
    for (const auto& k : table) out += (out.empty() ? "" : " | ") + k.name + " (" + k.doc + ")";
    return out;
}

}  // namespace simbi::nn
