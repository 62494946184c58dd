// util.hpp: generators, thread scopes, tensors from and to host buffers, standardization, and the
// files of an artifact.
#include "util.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <dlfcn.h>
#include <simbi/rng.h>

#include <cmath>
#include <cstring>
#include <fstream>

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

std::vector<int64_t> int_list(const simbi::Config& c, const std::string& key) {
    std::vector<int64_t> out;
    for (double v : c.numbers(key)) out.push_back(int64_t(v));
    return out;
}

json Standardizer::to_json() const {
    auto list = [](const Tensor& t) {
        Tensor c = t.to(torch::kFloat64).contiguous();
        return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    };
    return {{"mean", list(mean)}, {"std", list(std)}};
}

Standardizer Standardizer::from_json(const json& j) {
    return {torch::tensor(j.at("mean").get<std::vector<double>>(), torch::kFloat32),
            torch::tensor(j.at("std").get<std::vector<double>>(), torch::kFloat32)};
}

RuntimeConfig RuntimeConfig::from_config(const simbi::Config& c) {
    RuntimeConfig r;
    r.threads = int(c.integer("threads"));
    r.memory_bytes = int64_t(c.integer("memory_mb")) << 20;
    return r;
}

json artifact_header(const std::string& id, const std::string& version) {
    return {{"estimator", id},
            {"estimator_version", version},
            {"format", 1},
            {"torch_version", torch_version()},
            {"simbi_abi", std::to_string(SIMBI_ABI_MAJOR) + "." + std::to_string(SIMBI_ABI_MINOR)}};
}

json read_artifact(const std::string& dir, const std::string& id) {
    json j = read_json(dir + "/estimator.json");
    if (j.value("estimator", "") != id)
        throw std::runtime_error(dir + " holds a '" + j.value("estimator", "?") + "' artifact, not '" + id + "'");
    if (j.value("format", 0) != 1) throw std::runtime_error(dir + ": unknown artifact format " + j.value("format", json(0)).dump());
    return j;
}

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

std::string torch_version() {
#ifdef TORCH_VERSION
    return TORCH_VERSION;
#else
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
#endif
}

}  // namespace simbi::nn
