// Vectorized posterior samplers for ratio and likelihood estimators: many chains advance at once,
// so each step is one batched network evaluation.
#include <cmath>

#include "estimator.hpp"

namespace simbi::nn {

// The same checks for a config and for a saved artifact.
static SamplerConfig checked(SamplerConfig s) {
    if (s.method != "mh" && s.method != "slice" && s.method != "sir") throw std::invalid_argument("sampler must be mh, slice or sir");
    if (s.chains < 1 || s.warmup < 0 || s.thin < 0 || s.sir_factor < 1)
        throw std::invalid_argument("chains >= 1, warmup >= 0, thin >= 0 and sir_factor >= 1 are required");
    return s;
}

SamplerConfig SamplerConfig::from_config(const simbi::Config& c) {
    SamplerConfig s;
    s.method = c.string("sampler", s.method);
    s.chains = c.integer("chains", s.chains);
    s.warmup = c.integer("warmup", s.warmup);
    s.thin = c.integer("thin", s.thin);
    s.sir_factor = c.integer("sir_factor", s.sir_factor);
    return checked(s);
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

// Sampling-importance-resampling: m prior draws weighted by target / prior, k resampled.
Tensor sir(const std::function<Tensor(const Tensor&)>& log_target, const TorchPrior& prior, int64_t m, int64_t k, at::Generator& gen) {
    Tensor proposals = prior.sample(m, gen);
    Tensor logw = log_target(proposals) - prior.log_prob(proposals);
    logw = torch::where(torch::isnan(logw), torch::full_like(logw, -INFINITY), logw);
    if (!torch::isfinite(logw).any().item<bool>()) throw std::runtime_error("every prior draw has zero posterior density");
    Tensor w = torch::softmax(logw, 0);
    Tensor idx = torch::multinomial(w, k, true, gen);
    return proposals.index_select(0, idx);
}

Tensor covariance(const Tensor& x) {
    Tensor c = x - x.mean(0);
    Tensor cov = torch::matmul(c.t(), c) / std::max<int64_t>(1, x.size(0) - 1);
    return cov + 1e-8 * torch::eye(x.size(1), x.options()) * (1 + cov.diagonal().mean());
}

// Adaptive random-walk Metropolis-Hastings (Haario et al. 2001): a Gaussian proposal with the
// chains' covariance scaled by 2.38^2 / d (Roberts et al. 1997), tuned towards 30% acceptance
// during warm-up.
Tensor metropolis(const std::function<Tensor(const Tensor&)>& log_target, Tensor x, int64_t n, const SamplerConfig& cfg, at::Generator& gen) {
    const int64_t c = x.size(0), d = x.size(1);
    Tensor lp = log_target(x);
    Tensor chol = torch::linalg_cholesky(covariance(x) * (2.38 * 2.38 / double(d)));
    double scale = 1.0;
    std::vector<Tensor> out;
    int64_t kept = 0, accepted = 0, tried = 0;
    const int64_t steps = cfg.warmup + ((n + c - 1) / c) * cfg.thin;
    for (int64_t s = 0; s < steps && kept < n; ++s) {
        Tensor prop = x + scale * torch::matmul(torch::randn({c, d}, gen, x.options()), chol.t());
        Tensor lp_prop = log_target(prop);
        Tensor u = torch::rand({c}, gen, x.options());
        Tensor accept = torch::log(u) < (lp_prop - lp);
        x = torch::where(accept.unsqueeze(1), prop, x);
        lp = torch::where(accept, lp_prop, lp);
        if (s < cfg.warmup) {
            accepted += accept.sum().item<int64_t>();
            tried += c;
            if ((s + 1) % 20 == 0) {
                double rate = double(accepted) / double(tried);
                scale *= std::exp(rate - 0.3);
                chol = torch::linalg_cholesky(covariance(x) * (2.38 * 2.38 / double(d)));
                accepted = tried = 0;
            }
        } else if ((s - cfg.warmup + 1) % cfg.thin == 0) {
            out.push_back(x.clone());
            kept += c;
        }
    }
    return torch::cat(out, 0).narrow(0, 0, n);
}

// Slice sampling, one coordinate at a time, with stepping out and shrinkage (Neal 2003, figs. 3
// and 5), for all chains at once. Initial widths come from the chains' spread.
Tensor slice(const std::function<Tensor(const Tensor&)>& log_target, Tensor x, int64_t n, const SamplerConfig& cfg, at::Generator& gen) {
    const int64_t c = x.size(0), d = x.size(1);
    Tensor lp = log_target(x);
    Tensor width = (x.std(0) * 2).clamp_min(1e-6);
    std::vector<Tensor> out;
    int64_t kept = 0;
    const int64_t sweeps = cfg.warmup + ((n + c - 1) / c) * cfg.thin;
    auto with = [](const Tensor& base, int64_t j, const Tensor& v) {
        Tensor y = base.clone();
        y.select(1, j).copy_(v);
        return y;
    };
    for (int64_t s = 0; s < sweeps && kept < n; ++s) {
        for (int64_t j = 0; j < d; ++j) {
            Tensor level = lp + torch::log(torch::rand({c}, gen, x.options()));
            Tensor w = width[j];
            Tensor left = x.select(1, j) - w * torch::rand({c}, gen, x.options()), right = left + w;
            for (int it = 0; it < 10; ++it) {  // stepping out
                Tensor grow_l = log_target(with(x, j, left)) > level, grow_r = log_target(with(x, j, right)) > level;
                if (!(grow_l.any().item<bool>() || grow_r.any().item<bool>())) break;
                left = torch::where(grow_l, left - w, left);
                right = torch::where(grow_r, right + w, right);
            }
            Tensor done = torch::zeros({c}, torch::kBool), xj = x.select(1, j).clone(), new_lp = lp.clone();
            for (int it = 0; it < 60 && !done.all().item<bool>(); ++it) {  // shrinkage
                Tensor cand = left + (right - left) * torch::rand({c}, gen, x.options());
                Tensor lp_c = log_target(with(x, j, cand));
                Tensor ok = (lp_c > level) & ~done;
                xj = torch::where(ok, cand, xj);
                new_lp = torch::where(ok, lp_c, new_lp);
                done = done | ok;
                Tensor below = cand < x.select(1, j);
                left = torch::where(~done & below, cand, left);
                right = torch::where(~done & ~below, cand, right);
            }
            x = with(x, j, xj);
            lp = new_lp;
        }
        if (s < cfg.warmup) width = (x.std(0) * 2).clamp_min(1e-6);
        else if ((s - cfg.warmup + 1) % cfg.thin == 0) {
            out.push_back(x.clone());
            kept += c;
        }
    }
    return torch::cat(out, 0).narrow(0, 0, n);
}

}  // namespace

Tensor sample_posterior(const std::function<Tensor(const Tensor&)>& log_target, const TorchPrior& prior, int64_t n, const SamplerConfig& cfg,
                        at::Generator& gen) {
    torch::NoGradGuard no_grad;
    if (n == 0) return torch::zeros({0, prior.dim()}, torch::kFloat64);
    if (cfg.method == "sir") return sir(log_target, prior, n * cfg.sir_factor, n, gen);
    SamplerConfig c = cfg;
    const int64_t d = prior.dim();
    if (c.warmup == 0) c.warmup = std::max<int64_t>(100, 50 * d);
    if (c.thin == 0) c.thin = std::max<int64_t>(5, d);
    int64_t chains = std::min(c.chains, n);
    Tensor init = sir(log_target, prior, chains * c.sir_factor, chains, gen);
    Tensor samples = c.method == "slice" ? slice(log_target, init, n, c, gen) : metropolis(log_target, init, n, c, gen);
    // Interleave the chains' draws so that neighbouring rows are not from one chain.
    return samples.index_select(0, torch::randperm(samples.size(0), gen));
}

McmcEstimator::McmcEstimator(std::string id, std::string version, const simbi::Config& c, const simbi_host* host, uint64_t stream)
    : NeuralEstimator(std::move(id), std::move(version), c, host), sampler_(SamplerConfig::from_config(c)), stream_(stream) {}

// sum_j term(theta, x_j) + log p(theta), for theta [B, d] in float64.
Tensor McmcEstimator::log_target(const Tensor& theta, const Tensor& x_std) {
    Tensor t = theta_.apply(theta.to(torch::kFloat32));
    Tensor total = prior_.log_prob(theta);
    for (int64_t j = 0; j < x_std.size(0); ++j) total = total + log_term(t, x_std[j].expand({t.size(0), x_std.size(1)})).to(torch::kFloat64);
    return total;
}

void McmcEstimator::do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) {
    Tensor xs = x_.apply(to_tensor(x_obs, int64_t(n_obs), x_.mean.size(0)));
    at::Generator gen = make_generator(seed, stream_);
    from_tensor(sample_posterior([&](const Tensor& t) { return log_target(t, xs); }, prior_, int64_t(n), sampler_, gen), theta);
}

void McmcEstimator::do_log_prob(uint64_t n, const double* theta, const double* x, double* out) {
    Tensor t = torch::from_blob(const_cast<double*>(theta), {int64_t(n), theta_.mean.size(0)}, torch::kFloat64);
    Tensor xs = x_.apply(to_tensor(x, int64_t(n), x_.mean.size(0)));
    from_tensor(log_term(theta_.apply(t.to(torch::kFloat32)), xs).to(torch::kFloat64) + prior_.log_prob(t), out);
}

}  // namespace simbi::nn
