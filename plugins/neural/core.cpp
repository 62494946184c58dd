// Utilities, networks, embeddings, the prior in torch, and the support bijection.
#include <ATen/CPUGeneratorImpl.h>
#include <dlfcn.h>
#include <simbi/rng.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "neural.hpp"

#include <openssl/evp.h>

namespace simbi::nn {

at::Generator make_generator(uint64_t seed, uint64_t stream) { return at::detail::createCPUGenerator(simbi_rng_mix(seed, stream)); }

// OpenBLAS keeps a thread pool of its own that busy-waits between calls; small networks run
// fastest without it. Reached through dlopen so that simbi does not depend on OpenBLAS.
namespace {
struct OpenBlasThreads {
    void (*set)(int) = nullptr;
    int (*get)() = nullptr;
    OpenBlasThreads() {
        if (void* lib = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD)) {
            set = reinterpret_cast<void (*)(int)>(dlsym(lib, "openblas_set_num_threads"));
            get = reinterpret_cast<int (*)()>(dlsym(lib, "openblas_get_num_threads"));
        }
    }
};
OpenBlasThreads& openblas() {
    static OpenBlasThreads o;
    return o;
}
}  // namespace

ThreadScope::ThreadScope(int threads) : previous_(torch::get_num_threads()) {
    // Subnormal floats (tiny gradients of a confident classifier) run some 100 times slower on
    // x86; flushing them to zero changes nothing that matters here. Restored on leaving.
    flush_denormal_ = at::globalContext().setFlushDenormal(true);
    if (threads > 0 && threads != previous_) torch::set_num_threads(threads);
    if (openblas().get && openblas().set && threads > 0) {
        previous_blas_ = openblas().get();
        openblas().set(threads);
    }
}
ThreadScope::~ThreadScope() {
    if (flush_denormal_) at::globalContext().setFlushDenormal(false);
    if (torch::get_num_threads() != previous_) torch::set_num_threads(previous_);
    if (previous_blas_ > 0) openblas().set(previous_blas_);
}

Tensor to_tensor(const double* data, int64_t rows, int64_t cols) {
    return torch::from_blob(const_cast<double*>(data), {rows, cols}, torch::kFloat64).to(torch::kFloat32);
}

void from_tensor(const Tensor& t, double* out) {
    Tensor d = t.to(torch::kFloat64).contiguous();
    std::memcpy(out, d.data_ptr<double>(), size_t(d.numel()) * sizeof(double));
}

std::vector<int64_t> int_list(const simbi::Config& c, const std::string& key, std::vector<int64_t> fallback) {
    std::vector<double> fb(fallback.begin(), fallback.end());
    std::vector<int64_t> out;
    // Bounded so that a typo is an error, not an allocation of terabytes.
    constexpr double kMaxWidth = 16384;
    constexpr size_t kMaxLayers = 64;
    for (double v : c.numbers(key, fb)) {
        if (v < 1 || v > kMaxWidth || v != std::floor(v))
            throw std::invalid_argument("'" + key + "' must list integers from 1 to " + std::to_string(int(kMaxWidth)));
        out.push_back(int64_t(v));
    }
    if (out.size() > kMaxLayers) throw std::invalid_argument("'" + key + "' lists more than " + std::to_string(kMaxLayers) + " layers");
    return out;
}

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
        : first(register_module("first", torch::nn::Linear(width, width))), second(register_module("second", torch::nn::Linear(width, width))) {
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

// ---- shared config keys

void declare_flow_options(simbi::Info& info, const std::string& default_flow) {
    info.option("flow", "string", "\"" + default_flow + "\"", "nsf (rational-quadratic splines) or maf (affine)")
        .option("transforms", "integer", "5", "number of autoregressive transforms")
        .option("hidden", "array", "[64, 64]", "hidden widths of each MADE conditioner")
        .option("bins", "integer", "8", "spline bins (nsf)")
        .option("bound", "number", "5", "spline domain [-bound, bound] (nsf)");
}

void declare_sampler_options(simbi::Info& info) {
    info.option("sampler", "string", "\"mh\"", "posterior sampler: mh | slice | sir")
        .option("chains", "integer", "1000", "parallel MCMC chains")
        .option("warmup", "integer", "0", "warm-up steps (sweeps for slice); 0: max(100, 50 d) for d parameters")
        .option("thin", "integer", "0", "keep every thin-th step; 0: max(5, d)")
        .option("sir_factor", "integer", "20", "prior draws per kept state in sampling-importance-resampling");
}

void declare_runtime_options(simbi::Info& info) {
    info.option("threads", "integer", "1", "LibTorch intra-op threads")
        .option("memory_mb", "integer", "2048", "training data held in memory; larger datasets stream from the store");
    info.capability(SIMBI_CAPABILITY_DATA_PARALLEL);  // fit() shares each batch across the ranks
}

// ---- embeddings

json EmbeddingImpl::validate(const json& s) {
    if (!s.is_object()) throw std::invalid_argument("embedding must be an object such as {\"type\": \"mlp\"}");
    std::string type = s.value("type", "none");
    if (type != "none" && type != "mlp" && type != "cnn") throw std::invalid_argument("embedding type must be none, mlp or cnn, not '" + type + "'");
    for (auto it = s.begin(); it != s.end(); ++it)
        if (it.key() != "type" && it.key() != "hidden" && it.key() != "features" && it.key() != "channels")
            throw std::invalid_argument("unknown embedding key '" + it.key() + "' (accepted: type, hidden, features, channels)");
    if (s.value("features", int64_t(16)) < 1 || s.value("channels", int64_t(1)) < 1) throw std::invalid_argument("embedding features and channels must be positive");
    return s;
}

EmbeddingImpl::EmbeddingImpl(const json& s, int64_t x_dim) : spec(s) {
    type_ = s.value("type", "none");
    if (type_ == "none") {
        features_ = x_dim;
    } else if (type_ == "mlp") {
        auto hidden = s.value("hidden", std::vector<int64_t>{64});
        features_ = s.value("features", int64_t(16));
        net_ = register_module("net", make_mlp(x_dim, hidden, features_));
    } else if (type_ == "cnn") {
        channels_ = s.value("channels", int64_t(1));
        if (channels_ < 1 || x_dim % channels_ != 0)
            throw std::invalid_argument("embedding.channels must divide the x dimension " + std::to_string(x_dim));
        int64_t length = x_dim / channels_;
        features_ = s.value("features", int64_t(16));
        int64_t pooled = std::min<int64_t>(4, length);
        net_ = register_module("net", torch::nn::Sequential(
            torch::nn::Conv1d(torch::nn::Conv1dOptions(channels_, 16, 3).padding(1)), torch::nn::ReLU(),
            torch::nn::Conv1d(torch::nn::Conv1dOptions(16, 32, 3).padding(1)), torch::nn::ReLU(),
            torch::nn::AdaptiveAvgPool1d(pooled), torch::nn::Flatten(), torch::nn::Linear(32 * pooled, features_)));
    } else {
        throw std::invalid_argument("embedding type must be none, mlp or cnn, not '" + type_ + "'");
    }
}

Tensor EmbeddingImpl::forward(const Tensor& x) {
    if (type_ == "none") return x;
    if (type_ == "cnn") return net_->forward(x.view({x.size(0), channels_, -1}));
    return net_->forward(x);
}

// ---- the prior in torch

TorchPrior::TorchPrior(const simbi_prior* prior) : prior_(prior) {
    if (!prior || !prior->lower || !prior->upper || !prior->sample || !prior->log_prob) throw std::invalid_argument("the host's prior is incomplete");
    lower_.assign(prior->lower, prior->lower + prior->dim);
    upper_.assign(prior->upper, prior->upper + prior->dim);
}

namespace {
void check_prior_call(simbi_status st, const char* call, const char* message) {
    if (st != SIMBI_OK) throw std::runtime_error(std::string("the host's prior ") + call + " failed: " + message);
}
}  // namespace

Tensor TorchPrior::log_prob(const Tensor& theta_in) const {
    if (!prior_) throw std::runtime_error("no prior: the host did not give one (it needs ABI 1.1)");
    Tensor theta = theta_in.to(torch::kFloat64).contiguous();
    Tensor out = torch::empty({theta.size(0)}, torch::kFloat64);
    char message[256] = {0};
    simbi_error err{sizeof err, SIMBI_OK, 0, message, sizeof message};
    check_prior_call(prior_->log_prob(prior_, uint64_t(theta.size(0)), theta.data_ptr<double>(), out.data_ptr<double>(), &err), "log_prob",
                     message);
    return out;
}

Tensor TorchPrior::sample(int64_t n, at::Generator& gen) const {
    if (!prior_) throw std::runtime_error("no prior: the host did not give one (it needs ABI 1.1)");
    // The host's counter-based draws, seeded from this generator: deterministic as before.
    const uint64_t seed = uint64_t(torch::randint(0, int64_t(1) << 62, {1}, gen, torch::kInt64).item<int64_t>());
    Tensor out = torch::empty({n, dim()}, torch::kFloat64);
    char message[256] = {0};
    simbi_error err{sizeof err, SIMBI_OK, 0, message, sizeof message};
    check_prior_call(prior_->sample(prior_, uint64_t(n), seed, 0, out.data_ptr<double>(), &err), "sample", message);
    return out;
}

// ---- support bijection

SupportBijection::SupportBijection(const std::vector<double>& lower, const std::vector<double>& upper) : lower_(lower), upper_(upper) {
    for (size_t i = 0; i < lower.size(); ++i) {
        bool lo = std::isfinite(lower[i]), hi = std::isfinite(upper[i]);
        kind_.push_back(lo && hi ? 2 : lo ? 1 : 0);
    }
}

Tensor SupportBijection::to_unbounded(const Tensor& theta) const {
    std::vector<Tensor> cols;
    for (size_t i = 0; i < kind_.size(); ++i) {
        Tensor t = theta.select(1, int64_t(i));
        if (kind_[i] == 2) {
            Tensor p = ((t - lower_[i]) / (upper_[i] - lower_[i])).clamp(1e-7, 1 - 1e-7);
            cols.push_back(torch::log(p) - torch::log1p(-p));
        } else if (kind_[i] == 1) {
            cols.push_back(torch::log((t - lower_[i]).clamp_min(1e-30)));
        } else {
            cols.push_back(t);
        }
    }
    return torch::stack(cols, 1);
}

Tensor SupportBijection::to_bounded(const Tensor& u) const {
    std::vector<Tensor> cols;
    for (size_t i = 0; i < kind_.size(); ++i) {
        Tensor v = u.select(1, int64_t(i));
        if (kind_[i] == 2) cols.push_back(lower_[i] + (upper_[i] - lower_[i]) * torch::sigmoid(v));
        else if (kind_[i] == 1) cols.push_back(lower_[i] + torch::exp(v));
        else cols.push_back(v);
    }
    return torch::stack(cols, 1);
}

Tensor SupportBijection::log_abs_det_to_unbounded(const Tensor& theta) const {
    Tensor out = torch::zeros({theta.size(0)}, theta.options());
    for (size_t i = 0; i < kind_.size(); ++i) {
        Tensor t = theta.select(1, int64_t(i));
        if (kind_[i] == 2) {
            // u = logit((t - a) / w): du/dt = 1 / (w p (1 - p)).
            double w = upper_[i] - lower_[i];
            Tensor p = ((t - lower_[i]) / w).clamp(1e-7, 1 - 1e-7);
            out = out - std::log(w) - torch::log(p) - torch::log1p(-p);
        } else if (kind_[i] == 1) {
            out = out - torch::log((t - lower_[i]).clamp_min(1e-30));
        }
    }
    return out;
}

json SupportBijection::to_json() const {
    auto finite = [](const std::vector<double>& v) {
        json a = json::array();
        for (double x : v) a.push_back(std::isfinite(x) ? json(x) : json(nullptr));
        return a;
    };
    return {{"lower", finite(lower_)}, {"upper", finite(upper_)}};
}

SupportBijection SupportBijection::from_json(const json& j) {
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> lo, hi;
    for (const auto& v : j.at("lower")) lo.push_back(v.is_null() ? -inf : v.get<double>());
    for (const auto& v : j.at("upper")) hi.push_back(v.is_null() ? inf : v.get<double>());
    return SupportBijection(lo, hi);
}

// ---- standardization and common settings

json Standardizer::to_json() const {
    auto list = [](const Tensor& t) {
        Tensor c = t.to(torch::kFloat64).contiguous();
        return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    };
    return {{"mean", list(mean)}, {"std", list(std)}};
}

Standardizer Standardizer::from_json(const json& j) {
    return {torch::tensor(j.at("mean").get<std::vector<double>>(), torch::kFloat32), torch::tensor(j.at("std").get<std::vector<double>>(), torch::kFloat32)};
}

RuntimeConfig RuntimeConfig::from_config(const simbi::Config& c) {
    RuntimeConfig r;
    r.threads = int(c.integer("threads", 1));
    long long mb = c.integer("memory_mb", 2048);
    if (r.threads < 1 || mb < 1) throw std::invalid_argument("threads and memory_mb must be positive");
    r.memory_bytes = int64_t(mb) << 20;
    return r;
}

json artifact_header(const std::string& id, const std::string& version) {
    return {{"estimator", id}, {"estimator_version", version}, {"format", 1}, {"torch_version", torch_version()},
            {"simbi_abi", std::to_string(SIMBI_ABI_MAJOR) + "." + std::to_string(SIMBI_ABI_MINOR)}};
}

json read_artifact(const std::string& dir, const std::string& id) {
    json j = read_json(dir + "/estimator.json");
    if (j.value("estimator", "") != id)
        throw std::runtime_error(dir + " holds a '" + j.value("estimator", "?") + "' artifact, not '" + id + "'");
    if (j.value("format", 0) != 1) throw std::runtime_error(dir + ": unknown artifact format " + j.value("format", json(0)).dump());
    return j;
}

// ---- the estimator frame

namespace {
template <class F>
void torch_errors_as_messages(F f) {
    try {
        f();
    } catch (const c10::Error& e) {
        throw std::runtime_error(e.what_without_backtrace());
    }
}
}  // namespace

NeuralEstimator::NeuralEstimator(std::string id, std::string version, const simbi::Config& c, const simbi_host* host)
    : id_(std::move(id)), version_(std::move(version)), host_(host), runtime_(RuntimeConfig::from_config(c)) {}

void NeuralEstimator::require_trained() const {
    if (!trained()) throw std::runtime_error("the estimator is not trained or loaded");
}

void NeuralEstimator::train(const simbi_train_context& ctx) {
    ThreadScope threads(runtime_.threads);
    torch_errors_as_messages([&] {
        json training = ctx.training_json && *ctx.training_json ? json::parse(ctx.training_json) : json::object();
        const RoundsConfig rounds = RoundsConfig::take_from(training);
        const bool has_ranks = ctx.size >= offsetof(simbi_train_context, rendezvous) + sizeof(const char*);
        if (has_ranks && ctx.world_size > 1) {
            if (rounds.rounds > 1) throw std::invalid_argument("sequential rounds train in one process; run them without data-parallel ranks");
            if (!ctx.rendezvous) throw std::invalid_argument("world_size > 1 without a rendezvous address");
            ranks_ = Collective(ctx.rank, ctx.world_size, ctx.rendezvous, 300);
        }
        struct Alone {  // the group lives for this training only
            Collective& c;
            ~Alone() { c = Collective(); }
        } alone{ranks_};
        const std::string rest = training.dump();
        simbi_train_context first = ctx;
        first.training_json = rest.c_str();
        do_train(first);
        if (rounds.rounds > 1) train_rounds(first, rounds);
    });
}

void NeuralEstimator::inference(const std::function<void()>& f) const {
    ThreadScope threads(runtime_.threads);
    torch::NoGradGuard no_grad;
    torch_errors_as_messages(f);
}

void NeuralEstimator::sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) {
    require_trained();
    if (n_obs == 0) throw std::invalid_argument("no observation given");
    if (n == 0) return;
    inference([&] { do_sample(n_obs, x_obs, n, seed, theta); });
}

void NeuralEstimator::log_prob(uint64_t n, const double* theta, const double* x, double* out) {
    require_trained();
    if (n == 0) return;
    inference([&] { do_log_prob(n, theta, x, out); });
}

void NeuralEstimator::save(const std::string& dir) {
    require_trained();
    torch_errors_as_messages([&] {
        json j = artifact_header(id_, version_);
        j["config"] = config_json();
        j["theta_dim"] = theta_.mean.size(0);
        j["x_dim"] = x_.mean.size(0);
        j["theta_standardization"] = theta_.to_json();
        j["x_standardization"] = x_.to_json();
        j["training"] = {{"epochs", result_.epochs}, {"batch_size", result_.batch_size}, {"best_val_loss", result_.best_val}, {"seconds", result_.seconds}};
        std::filesystem::create_directories(dir);
        save_module(network(), dir + "/weights.pt");
        write_json(dir + "/estimator.json", j);  // last: it is what makes the folder an artifact
    });
}

void NeuralEstimator::load(const std::string& dir) {
    torch_errors_as_messages([&] {
        json j = read_artifact(dir, id_);
        theta_ = Standardizer::from_json(j.at("theta_standardization"));
        x_ = Standardizer::from_json(j.at("x_standardization"));
        if (!prior_.defined()) throw std::runtime_error("no prior: the host must give one before load (ABI 1.1)");
        rebuild(j);
        load_module(network(), dir + "/weights.pt");
        network().eval();
    });
}

// ---- artifact helpers

void save_module(torch::nn::Module& m, const std::string& path) {
    torch::serialize::OutputArchive archive;
    m.save(archive);
    archive.save_to(path);
}

void load_module(torch::nn::Module& m, const std::string& path) {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    m.load(archive);
}

void write_json(const std::string& path, const json& j) {
    std::ofstream out(path);
    out << j.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + path);
}

json read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    return json::parse(in);
}

std::string file_sha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw std::runtime_error("libcrypto: cannot start SHA-256");
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), std::streamsize(buf.size()));
        if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), size_t(in.gcount()));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    static const char digits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned i = 0; i < len; ++i) hex += {digits[md[i] >> 4], digits[md[i] & 15]};
    return hex;
}

std::string torch_version() {
#ifdef TORCH_VERSION
    return TORCH_VERSION;
#else
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
#endif
}

}  // namespace simbi::nn
