// MCMC over many chains at once, for posteriors known up to a constant.
#pragma once
#include <functional>

#include "support.hpp"

namespace simbi::nn {

struct SamplerConfig {
    std::string method = "mh";  // a name of sampler_kinds()
    // warmup and thin 0: chosen from the dimension d, max(100, 50 d) and max(5, d), since chains
    // need longer to forget their start and to decorrelate in more dimensions.
    int64_t chains = 1000, warmup = 0, thin = 0, sir_factor = 20;
    static void declare(simbi::Info& info);  // the settings sampler, chains, warmup, thin, sir_factor
    static SamplerConfig from_config(const simbi::Config& c);
    json to_json() const;
    static SamplerConfig from_json(const json& j);
};

// The log density of G groups' targets up to a constant: theta [G, m, d] float64 -> [G, m], where
// group g's rows are scored against group g's target (e.g. its observation).
using GroupedLogTarget = std::function<Tensor(const Tensor&)>;

// Draws n samples from each of G targets exp(log_target) by a vectorized sampler: sampling-
// importance-resampling from the prior for the initial states, then adaptive Metropolis-Hastings
// (Haario et al. 2001) or slice sampling (Neal 2003), all groups' chains advancing together and
// each group adapting to its own target. Returns [G, n, d]. cfg.chains is the total over the
// groups, with at least kMinChainsPerGroup per group (or n, if fewer).
Tensor sample_posterior(const GroupedLogTarget& log_target, const TorchPrior& prior, int64_t groups, int64_t n, const SamplerConfig& cfg,
                        at::Generator& gen);

constexpr int64_t kMinChainsPerGroup = 64;

// The samplers, by name: each draws [G, n, d] from G targets, given the floor of its proposals'
// variances.
struct SamplerKind {
    std::string name, doc;
    Tensor (*draw)(const GroupedLogTarget& log_target, const TorchPrior& prior, int64_t groups, int64_t n, const SamplerConfig& cfg,
                   const Tensor& floor, at::Generator& gen);
};
const std::vector<SamplerKind>& sampler_kinds();

}  // namespace simbi::nn
