// simbi.mode_convergence: does the posterior concentrate on the truth as observations accrue?
//
// At a true theta*, N = 1, 2, 4, ..., max_n i.i.d. observations x_1..x_N, and the MAP of
//     log p(theta | x_1..x_N) = sum_i log q(theta | x_i) - (N - 1) log p(theta) + const,
// which is log p(theta) + sum_i log r(x_i | theta) for a ratio estimator and
// log p(theta) + sum_i log q(x_i | theta) for a likelihood estimator (each estimator's log_prob
// is its posterior up to a constant in x). Its distance to theta*, in units of the prior's
// standard deviation, should shrink as N grows. The MAP is searched among draws of the
// single-observation posteriors and the prior, then refined by a (1 + lambda) evolution strategy
// with a shrinking step.
#include <algorithm>
#include <simbi/diagnostic.hpp>

namespace {

class ModeConvergence final : public simbi::Diagnostic {
public:
    using adapter = simbi::DiagnosticAdapter<ModeConvergence>;

    static simbi::Info info() {
        simbi::Info i("simbi.mode_convergence", "Mode convergence", SIMBI_KIND_DIAGNOSTIC);
        i.version("1.0.0").vendor("simbi").description(
            "Distance of the MAP given N = 1, 2, 4, ... i.i.d. observations at a true theta* to theta*: it should shrink with N.");
        i.option("theta", simbi::Option::numbers({}).unset().doc("the true parameters; unset: a draw from the prior"))
            .option("max_n", simbi::Option::integer(64).minimum(1).maximum(4096).doc("the largest number of observations, a power of two"))
            .option("candidates", simbi::Option::integer(2048).minimum(16).maximum(1000000).doc("starting points of the MAP search"));
        return i;
    }

    ModeConvergence(const simbi::Config& c, const simbi_host*) {
        theta_ = c.numbers("theta", {});
        max_n_ = c.integer("max_n");
        candidates_ = c.integer("candidates");
        if (max_n_ & (max_n_ - 1)) throw std::invalid_argument("max_n must be a power of two");
    }

    void run(const simbi::DiagnosticContext& ctx) override {
        const uint64_t d = ctx.theta_dim(), k = ctx.x_dim(), K = uint64_t(candidates_);
        std::vector<double> truth = theta_.empty() ? ctx.prior_sample(1, simbi_rng_mix(ctx.seed(), 1)) : theta_;
        if (truth.size() != d)
            throw std::invalid_argument("theta has " + std::to_string(truth.size()) + " values; the posterior has " + std::to_string(d));
        if (!std::isfinite(ctx.prior_log_prob(truth.data(), 1)[0])) throw std::invalid_argument("theta is outside the prior's support");
        // Observations at theta*: invalid simulations are drawn again, up to 4 times as many.
        std::vector<double> xs;
        uint64_t have = 0, invalid = 0;
        for (int attempt = 0; attempt < 4 && have < uint64_t(max_n_); ++attempt) {
            std::vector<double> rep;
            for (long long i = 0; i < max_n_; ++i) rep.insert(rep.end(), truth.begin(), truth.end());
            const simbi::Pairs sims = ctx.simulate(rep, simbi_rng_mix(ctx.seed(), 10 + uint64_t(attempt)));
            invalid += sims.invalid;
            for (uint64_t i = 0; i < sims.n && have < uint64_t(max_n_); ++i, ++have) xs.insert(xs.end(), sims.x_row(i), sims.x_row(i) + k);
        }
        if (have < uint64_t(max_n_))
            throw std::runtime_error("too few valid simulations at theta* (" + std::to_string(invalid) + " invalid)");
        const std::vector<double> scale = ctx.prior_std(10000, simbi_rng_mix(ctx.seed(), 3));

        std::vector<double> ns, distances, maps;
        for (uint64_t n = 1; n <= uint64_t(max_n_); n *= 2) {
            auto objective = [&](const std::vector<double>& theta) {
                const uint64_t m = theta.size() / d;
                std::vector<double> total = ctx.prior_log_prob(theta.data(), m), th, x;
                for (double& v : total) v *= -double(n - 1);
                th.reserve(m * n * d);
                x.reserve(m * n * k);
                for (uint64_t j = 0; j < n; ++j)
                    for (uint64_t i = 0; i < m; ++i) {
                        th.insert(th.end(), theta.begin() + long(i * d), theta.begin() + long((i + 1) * d));
                        x.insert(x.end(), xs.begin() + long(j * k), xs.begin() + long((j + 1) * k));
                    }
                const std::vector<double> lp = ctx.log_prob(th.data(), x.data(), m * n);
                for (uint64_t j = 0; j < n; ++j)
                    for (uint64_t i = 0; i < m; ++i) total[i] += lp[j * m + i];
                for (double& v : total)
                    if (std::isnan(v)) v = -INFINITY;
                return total;
            };
            // Candidates: draws of each single-observation posterior, and the prior.
            std::vector<double> cand = ctx.prior_sample(K / 4, simbi_rng_mix(ctx.seed(), 100 + n));
            const uint64_t per = std::max<uint64_t>(1, (K - K / 4) / n);
            for (uint64_t j = 0; j < n; ++j) {
                const std::vector<double> s = ctx.sample(xs.data() + j * k, 1, per, simbi_rng_mix(ctx.seed(), 1000 * n + j));
                cand.insert(cand.end(), s.begin(), s.end());
            }
            std::vector<double> f = objective(cand);
            uint64_t best = uint64_t(std::max_element(f.begin(), f.end()) - f.begin());
            std::vector<double> x_best(cand.begin() + long(best * d), cand.begin() + long((best + 1) * d));
            double f_best = f[best];
            // (1 + lambda)-ES: 64 Gaussian steps around the best point, the step shrinking when
            // none improves; deterministic from the seed.
            simbi_rng rng;
            simbi_rng_init(&rng, simbi_rng_mix(ctx.seed(), 7), n);
            double step = 0.1;
            for (int it = 0; it < 40; ++it) {
                std::vector<double> props(64 * d);
                for (uint64_t i = 0; i < 64; ++i)
                    for (uint64_t p = 0; p < d; ++p) props[i * d + p] = x_best[p] + step * scale[p] * simbi_rng_normal(&rng);
                const std::vector<double> fp = objective(props);
                const uint64_t b = uint64_t(std::max_element(fp.begin(), fp.end()) - fp.begin());
                if (fp[b] > f_best) {
                    f_best = fp[b];
                    std::copy(props.begin() + long(b * d), props.begin() + long((b + 1) * d), x_best.begin());
                } else {
                    step *= 0.6;
                }
            }
            double dist = 0;
            for (uint64_t p = 0; p < d; ++p) dist += (x_best[p] - truth[p]) * (x_best[p] - truth[p]) / (scale[p] * scale[p]);
            ns.push_back(double(n));
            distances.push_back(std::sqrt(dist));
            maps.insert(maps.end(), x_best.begin(), x_best.end());
        }
        ctx.put("n", ns);
        ctx.put("distance", distances);
        ctx.put("map", maps, {uint64_t(ns.size()), d});
        ctx.put("theta", truth);
        ctx.put_flag("shrinks", distances.back() < distances.front());
        ctx.put("invalid_rows", double(invalid));
        char line[200];
        std::snprintf(line, sizeof line, "mode_convergence: the MAP is %.3f prior std from theta* with 1 observation, %.3f with %lld",
                      distances.front(), distances.back(), max_n_);
        ctx.log(SIMBI_LOG_INFO, line);
        std::vector<double> log2n;
        for (double v : ns) log2n.push_back(std::log2(v));
        ctx.report()
            .verdict(distances.back() < distances.front() ? "the mode converges" : "the mode does not converge")
            .number("distance with 1 observation", distances.front())
            .number("distance with all", distances.back())
            .figure(simbi::Figure::curve(log2n, distances)
                        .title("mode convergence")
                        .labels("log2 N (i.i.d. observations)", "|MAP - theta*| / prior std")
                        .caption("Distance of the MAP to the true parameters as i.i.d. observations accrue"));
    }

private:
    std::vector<double> theta_;
    long long max_n_, candidates_;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(ModeConvergence)
