// Vectorized posterior samplers for ratio and likelihood estimators: many chains advance at once,
// so each step is one batched network evaluation.
#include <cmath>

#include "estimator.hpp"

namespace simbi::nn {

// A saved artifact's sampler settings, checked as the declarations check a config.
static SamplerConfig checked(SamplerConfig s) {
    find_kind(sampler_kinds(), s.method, "sampler");
    if (s.chains < 1 || s.warmup < 0 || s.thin < 0 || s.sir_factor < 1)
        throw std::invalid_argument("chains >= 1, warmup >= 0, thin >= 0 and sir_factor >= 1 are required");
    return s;
}

void SamplerConfig::declare(simbi::Info& info) {
    info.option("sampler", kind_option(sampler_kinds(), "mh").doc("posterior sampler: " + kind_choices(sampler_kinds())))
        .option("chains", simbi::Option::integer(1000).minimum(1).maximum(1 << 20).doc("parallel MCMC chains"))
        .option("warmup", simbi::Option::integer(0).minimum(0).doc("warm-up steps (sweeps for slice); 0: max(100, 50 d) for d parameters"))
        .option("thin", simbi::Option::integer(0).minimum(0).doc("keep every thin-th step; 0: max(5, d)"))
        .option("sir_factor", simbi::Option::integer(20).minimum(1).doc("prior draws per kept state in sampling-importance-resampling"));
}

SamplerConfig SamplerConfig::from_config(const simbi::Config& c) {
    SamplerConfig s;
    s.method = c.string("sampler");
    s.chains = c.integer("chains");
    s.warmup = c.integer("warmup");
    s.thin = c.integer("thin");
    s.sir_factor = c.integer("sir_factor");
    return s;
}

json SamplerConfig::to_json() const {
    return {{"sampler", method}, {"chains", chains}, {"warmup", warmup}, {"thin", thin}, {"sir_factor", sir_factor}};
}

SamplerConfig SamplerConfig::from_json(const json& j) {
    SamplerConfig s;
    s.method = j.value("sampler", s.method);
    s.chains = j.value("chains", s.chains);
    s.warmup = j.value("warmup", s.warmup);
    s.thin = j.value("thin", s.thin);
    s.sir_factor = j.value("sir_factor", s.sir_factor);
    return checked(s);
}

namespace {

// Per-group covariance of x [G, C, d] under row weights w [G, C] (summing to 1 per group), plus
// `floor` [d] on the diagonal so that collapsed chains still propose moves.
Tensor covariance(const Tensor& x, const Tensor& w, const Tensor& floor) {
    Tensor mean = (w.unsqueeze(2) * x).sum(1, true);
    Tensor c = (x - mean) * w.unsqueeze(2).sqrt();
    Tensor cov = torch::matmul(c.transpose(1, 2), c);
    return cov + torch::diag_embed(floor).unsqueeze(0);
}

Tensor uniform_weights(const Tensor& x) { return torch::full({x.size(0), x.size(1)}, 1.0 / double(x.size(1)), x.options()); }

struct Start {
    Tensor x;    // [G, k, d] the chains' initial states
    Tensor cov;  // [G, d, d] the importance-weighted covariance of the proposals
};

// Sampling-importance-resampling per group: m prior draws weighted by target / prior, k resampled.
Start sir(const GroupedLogTarget& log_target, const TorchPrior& prior, int64_t groups, int64_t m, int64_t k, const Tensor& floor,
          at::Generator& gen) {
    const int64_t d = prior.dim();
    Tensor proposals = prior.sample(groups * m, gen);
    Tensor logw = log_target(proposals.view({groups, m, d})) - prior.log_prob(proposals).view({groups, m});
    proposals = proposals.view({groups, m, d});
    logw = torch::where(torch::isnan(logw), torch::full_like(logw, -INFINITY), logw);
    Tensor alive = torch::isfinite(logw).any(1);
    if (!alive.all().item<bool>()) {
        const int64_t g = torch::nonzero(~alive)[0][0].item<int64_t>();
        throw std::runtime_error(groups == 1 ? std::string("every prior draw has zero posterior density")
                                             : "observation " + std::to_string(g) + ": every prior draw has zero posterior density");
    }
    Tensor w = torch::softmax(logw, 1);
    Tensor idx = torch::multinomial(w, k, true, gen);
    Tensor x = proposals.gather(1, idx.unsqueeze(2).expand({groups, k, d}));
    return {x, covariance(proposals, w, floor)};
}

// Adaptive random-walk Metropolis-Hastings (Haario et al. 2001): a Gaussian proposal with the
// chains' covariance scaled by 2.38^2 / d (Roberts et al. 1997), each group's scale tuned towards
// 30% acceptance during warm-up. x [G, C, d] -> [G, n, d].
Tensor metropolis(const GroupedLogTarget& log_target, Start start, int64_t n, const SamplerConfig& cfg, const Tensor& floor,
                  at::Generator& gen) {
    Tensor x = start.x;
    const int64_t g = x.size(0), c = x.size(1), d = x.size(2);
    const double optimal = 2.38 * 2.38 / double(d);
    Tensor lp = log_target(x);
    Tensor chol = torch::linalg_cholesky(start.cov * optimal);
    Tensor scale = torch::ones({g, 1, 1}, x.options());
    Tensor accepted = torch::zeros({g}, x.options());
    std::vector<Tensor> out;
    int64_t kept = 0, tried = 0;
    const int64_t steps = cfg.warmup + ((n + c - 1) / c) * cfg.thin;
    for (int64_t s = 0; s < steps && kept < n; ++s) {
        Tensor prop = x + scale * torch::matmul(torch::randn({g, c, d}, gen, x.options()), chol.transpose(1, 2));
        Tensor lp_prop = log_target(prop);
        Tensor u = torch::rand({g, c}, gen, x.options());
        Tensor accept = torch::log(u) < (lp_prop - lp);
        x = torch::where(accept.unsqueeze(2), prop, x);
        lp = torch::where(accept, lp_prop, lp);
        if (s < cfg.warmup) {
            accepted += accept.to(x.scalar_type()).sum(1);
            tried += c;
            if ((s + 1) % 20 == 0) {
                scale = scale * torch::exp(accepted / double(tried) - 0.3).view({g, 1, 1});
                chol = torch::linalg_cholesky(covariance(x, uniform_weights(x), floor) * optimal);
                accepted.zero_();
                tried = 0;
            }
        } else if ((s - cfg.warmup + 1) % cfg.thin == 0) {
            out.push_back(x.clone());
            kept += c;
        }
    }
    return torch::cat(out, 1).narrow(1, 0, n);
}

// Slice sampling, one coordinate at a time, with stepping out and shrinkage (Neal 2003, figs. 3
// and 5), for all chains at once. Each group's widths come from its chains' spread.
Tensor slice(const GroupedLogTarget& log_target, Tensor x, int64_t n, const SamplerConfig& cfg, const Tensor& floor, at::Generator& gen) {
    const int64_t g = x.size(0), c = x.size(1), d = x.size(2);
    Tensor lp = log_target(x);
    // A lone chain has no spread: it starts from the prior's scale (floor is 1e-6 of its variance).
    auto spread = [&] {
        Tensor w = c > 1 ? torch::std(x, {1}, true, true) * 2 : (floor * 1e6).sqrt().view({1, 1, d}).expand({g, 1, d});
        return w.clamp_min(1e-6).expand({g, c, d});
    };
    Tensor width = spread();
    std::vector<Tensor> out;
    int64_t kept = 0;
    const int64_t sweeps = cfg.warmup + ((n + c - 1) / c) * cfg.thin;
    auto with = [](const Tensor& base, int64_t j, const Tensor& v) {
        Tensor y = base.clone();
        y.select(2, j).copy_(v);
        return y;
    };
    for (int64_t s = 0; s < sweeps && kept < n; ++s) {
        for (int64_t j = 0; j < d; ++j) {
            Tensor level = lp + torch::log(torch::rand({g, c}, gen, x.options()));
            Tensor w = width.select(2, j);
            Tensor left = x.select(2, j) - w * torch::rand({g, c}, gen, x.options()), right = left + w;
            for (int it = 0; it < 10; ++it) {  // stepping out
                Tensor grow_l = log_target(with(x, j, left)) > level, grow_r = log_target(with(x, j, right)) > level;
                if (!(grow_l.any().item<bool>() || grow_r.any().item<bool>())) break;
                left = torch::where(grow_l, left - w, left);
                right = torch::where(grow_r, right + w, right);
            }
            Tensor done = torch::zeros({g, c}, torch::kBool), xj = x.select(2, j).clone(), new_lp = lp.clone();
            for (int it = 0; it < 60 && !done.all().item<bool>(); ++it) {  // shrinkage
                Tensor cand = left + (right - left) * torch::rand({g, c}, gen, x.options());
                Tensor lp_c = log_target(with(x, j, cand));
                Tensor ok = (lp_c > level) & ~done;
                xj = torch::where(ok, cand, xj);
                new_lp = torch::where(ok, lp_c, new_lp);
                done = done | ok;
                Tensor below = cand < x.select(2, j);
                left = torch::where(~done & below, cand, left);
                right = torch::where(~done & ~below, cand, right);
            }
            x = with(x, j, xj);
            lp = new_lp;
        }
        if (s < cfg.warmup)
            width = spread();
        else if ((s - cfg.warmup + 1) % cfg.thin == 0) {
            out.push_back(x.clone());
            kept += c;
        }
    }
    return torch::cat(out, 1).narrow(1, 0, n);
}

// MCMC from SIR's initial states: chains of each group, interleaved so that neighbouring rows
// are not from one chain. chain(): metropolis or slice.
template <Tensor (*chain)(const GroupedLogTarget&, const Start&, int64_t, const SamplerConfig&, const Tensor&, at::Generator&)>
Tensor run_chains(const GroupedLogTarget& log_target, const TorchPrior& prior, int64_t groups, int64_t n, const SamplerConfig& cfg,
                  const Tensor& floor, at::Generator& gen) {
    const int64_t d = prior.dim();
    SamplerConfig c = cfg;
    if (c.warmup == 0) c.warmup = std::max<int64_t>(100, 50 * d);
    if (c.thin == 0) c.thin = std::max<int64_t>(5, d);
    const int64_t chains = std::min(n, std::max((c.chains + groups - 1) / groups, kMinChainsPerGroup));
    Start start = sir(log_target, prior, groups, chains * c.sir_factor, chains, floor, gen);
    Tensor samples = chain(log_target, start, n, c, floor, gen);
    Tensor order = std::get<1>(torch::rand({groups, n}, gen, samples.options()).sort(1));
    return samples.gather(1, order.unsqueeze(2).expand({groups, n, d}));
}

Tensor slice_chains(const GroupedLogTarget& log_target, const Start& start, int64_t n, const SamplerConfig& c, const Tensor& floor,
                    at::Generator& gen) {
    return slice(log_target, start.x, n, c, floor, gen);
}
Tensor metropolis_chains(const GroupedLogTarget& log_target, const Start& start, int64_t n, const SamplerConfig& c, const Tensor& floor,
                         at::Generator& gen) {
    return metropolis(log_target, start, n, c, floor, gen);
}

}  // namespace

const std::vector<SamplerKind>& sampler_kinds() {
    static const std::vector<SamplerKind> kinds = {
        {"mh", "adaptive Metropolis-Hastings (Haario et al. 2001) from SIR's initial states", &run_chains<&metropolis_chains>},
        {"slice", "slice sampling (Neal 2003) from SIR's initial states", &run_chains<&slice_chains>},
        {"sir", "sampling-importance-resampling from the prior alone",
         [](const GroupedLogTarget& log_target, const TorchPrior& prior, int64_t groups, int64_t n, const SamplerConfig& cfg,
            const Tensor& floor, at::Generator& gen) { return sir(log_target, prior, groups, n * cfg.sir_factor, n, floor, gen).x; }},
    };
    return kinds;
}

Tensor sample_posterior(const GroupedLogTarget& log_target, const TorchPrior& prior, int64_t groups, int64_t n, const SamplerConfig& cfg,
                        at::Generator& gen) {
    torch::NoGradGuard no_grad;
    const int64_t d = prior.dim();
    if (n == 0 || groups == 0) return torch::zeros({groups, n, d}, torch::kFloat64);
    // A millionth of the prior's variance on the proposal's diagonal: chains that SIR started at
    // one point still move, and adaptation takes over from there.
    Tensor floor = 1e-6 * prior.sample(1000, gen).var(0).clamp_min(1e-12);
    return find_kind(sampler_kinds(), cfg.method, "sampler").draw(log_target, prior, groups, n, cfg, floor, gen);
}

McmcEstimator::McmcEstimator(std::string id, std::string version, const simbi::Config& c, const simbi_host* host, uint64_t stream)
    : NeuralEstimator(std::move(id), std::move(version), c, host), sampler_(SamplerConfig::from_config(c)), stream_(stream) {}

// log p(theta) + sum_j term(theta, x_gj) for theta [G, m, d] float64 and group g's observations
// x_std[g] ([G, n_obs, k]): [G, m]. In blocks of groups, to bound the network's activations.
Tensor McmcEstimator::log_target(const Tensor& theta, const Tensor& x_std) {
    const int64_t groups = theta.size(0), m = theta.size(1), d = theta.size(2), k = x_std.size(2);
    const int64_t block = std::max<int64_t>(1, kRowsPerPass / std::max<int64_t>(1, m));
    std::vector<Tensor> parts;
    for (int64_t g0 = 0; g0 < groups; g0 += block) {
        const int64_t nb = std::min(block, groups - g0);
        Tensor flat = theta.narrow(0, g0, nb).reshape({nb * m, d});
        Tensor t = theta_.apply(flat.to(torch::kFloat32));
        Tensor total = prior_.log_prob(flat);
        for (int64_t j = 0; j < x_std.size(1); ++j) {
            Tensor xj = x_std.narrow(0, g0, nb).select(1, j).unsqueeze(1).expand({nb, m, k}).reshape({nb * m, k});
            total = total + log_term(t, xj).to(torch::kFloat64);
        }
        parts.push_back(total.view({nb, m}));
    }
    return torch::cat(parts, 0);
}

void McmcEstimator::do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) {
    Tensor xs = x_.apply(to_tensor(x_obs, int64_t(n_obs), x_.mean.size(0))).unsqueeze(0);
    at::Generator gen = make_generator(seed, stream_);
    from_tensor(sample_posterior([&](const Tensor& t) { return log_target(t, xs); }, prior_, 1, int64_t(n), sampler_, gen)[0], theta);
}

void McmcEstimator::sample_batch(uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta) {
    require_trained();
    if (n_x == 0 || n_per_x == 0) return;
    inference([&] {
        Tensor xs = x_.apply(to_tensor(x, int64_t(n_x), x_.mean.size(0))).unsqueeze(1);
        at::Generator gen = make_generator(seed, stream_);
        Tensor draws =
            sample_posterior([&](const Tensor& t) { return log_target(t, xs); }, prior_, int64_t(n_x), int64_t(n_per_x), sampler_, gen);
        from_tensor(draws.reshape({int64_t(n_x * n_per_x), draws.size(2)}), theta);
    });
}

void McmcEstimator::do_log_prob(uint64_t n, const double* theta, const double* x, double* out) {
    Tensor t = torch::from_blob(const_cast<double*>(theta), {int64_t(n), theta_.mean.size(0)}, torch::kFloat64);
    Tensor xs = x_.apply(to_tensor(x, int64_t(n), x_.mean.size(0)));
    from_tensor(log_term(theta_.apply(t.to(torch::kFloat32)), xs).to(torch::kFloat64) + prior_.log_prob(t), out);
}

}  // namespace simbi::nn
