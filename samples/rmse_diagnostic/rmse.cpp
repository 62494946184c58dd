// sample.rmse: how far the posterior mean lies from the true parameters, as a diagnostic written
// outside simbi. For N held-out pairs (theta*, x*) it draws L posterior samples at each x*, and
// reports the root mean squared error of the mean of the first l draws, in prior standard
// deviations, for l = 1, 2, 4, ..., L: a curve that falls and levels off at the posterior's own
// spread. Its report (ctx.report()) gives the headline and two figures, which simbi's report draws
// like those of its own diagnostics.
#include <simbi/diagnostic.hpp>

#include <cmath>
#include <cstdio>

namespace {

class Rmse final : public simbi::Diagnostic {
public:
    using adapter = simbi::DiagnosticAdapter<Rmse>;

    static simbi::Info info() {
        simbi::Info i("sample.rmse", "Posterior-mean error", SIMBI_KIND_DIAGNOSTIC);
        i.version("1.0.0")
            .vendor("simbi samples")
            .description("RMSE of the posterior mean against held-out parameters, by the number of draws.");
        i.option("pairs", simbi::Option::integer(100).minimum(1).maximum(100000).doc("held-out pairs (theta*, x*)"))
            .option("samples", simbi::Option::integer(256).minimum(1).maximum(100000).doc("posterior draws per pair"));
        return i;
    }

    Rmse(const simbi::Config& c, const simbi_host*) {
        pairs_ = c.integer("pairs");
        samples_ = c.integer("samples");
    }

    void run(const simbi::DiagnosticContext& ctx) override {
        const simbi::Pairs pairs = ctx.held_out_pairs(uint64_t(pairs_), ctx.seed());
        if (pairs.n == 0) throw std::runtime_error("no usable held-out pair");
        const uint64_t d = pairs.theta_dim, L = uint64_t(samples_);
        const std::vector<double> scale = ctx.prior_std(4096, ctx.seed() + 1);
        const std::vector<double> draws = ctx.sample_batch(pairs.x.data(), pairs.n, L, ctx.seed() + 2);
        std::vector<double> ls, rmse;
        std::vector<double> truth0, mean0;
        for (uint64_t l = 1;; l = std::min(L, 2 * l)) {
            double sq = 0;
            for (uint64_t i = 0; i < pairs.n; ++i)
                for (uint64_t p = 0; p < d; ++p) {
                    double mean = 0;
                    for (uint64_t j = 0; j < l; ++j) mean += draws[(i * L + j) * d + p] / double(l);
                    const double e = (mean - pairs.theta_row(i)[p]) / scale[p];
                    sq += e * e;
                    if (l == L && p == 0) {
                        truth0.push_back(pairs.theta_row(i)[0]);
                        mean0.push_back(mean);
                    }
                }
            ls.push_back(double(l));
            rmse.push_back(std::sqrt(sq / double(pairs.n * d)));
            if (l == L) break;
        }
        ctx.put("draws", ls);
        ctx.put("rmse", rmse);
        ctx.put("pairs", double(pairs.n));
        char caption[160];
        std::snprintf(caption, sizeof caption, "RMSE of the posterior mean of l draws on %llu held-out pairs, in prior standard deviations",
                      (unsigned long long)pairs.n);
        ctx.report()
            .verdict(rmse.back() < 1 ? "informative" : "no better than the prior")
            .number("rmse", rmse.back())
            .number("pairs", double(pairs.n))
            .figure(simbi::Figure::curve(ls, rmse)
                        .title("posterior-mean error")
                        .labels("posterior draws l", "RMSE / prior std")
                        .caption(caption))
            .figure(simbi::Figure::points(truth0, mean0)
                        .title("parameter 1")
                        .labels("true value", "posterior mean")
                        .caption("Each held-out pair's posterior mean against its true value"));
    }

private:
    long long pairs_, samples_;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(Rmse)
