// simbi.tarp: Tests of Accuracy with Random Points (Lemos et al. 2023, "Sampling-Based Accuracy
// Testing of Posterior Estimators for General Inference", algorithm 1).
//
// For N held-out pairs (theta*, x*): a random reference point theta_r from the prior, L draws
// theta_j ~ q(theta | x*), and f = #{j : |theta_j - theta_r| < |theta* - theta_r|} / L, distances
// taken after scaling each parameter by the prior's standard deviation. The expected coverage
// probability ECP(a) = #{pairs : f < a} / N equals a for every a exactly when the posterior is
// accurate. Reported: the ECP curve with the binomial band of N pairs, its largest distance to
// the diagonal, and the area between curve and diagonal above a = 0.5 (positive: conservative).
#include <simbi/diagnostic.hpp>

#include "calibration/calibration.hpp"

namespace {

class Tarp final : public simbi::Diagnostic {
public:
    using adapter = simbi::DiagnosticAdapter<Tarp>;

    static simbi::Info info() {
        simbi::Info i("simbi.tarp", "TARP", SIMBI_KIND_DIAGNOSTIC);
        i.version("1.0.0").vendor("simbi").description(
            "Expected coverage probability of balls around random reference points (Lemos et al. 2023): on the diagonal for an accurate "
            "posterior.");
        i.option("pairs", simbi::calibration::pairs_option(500))
            .option("samples", simbi::calibration::draws_option(500, "posterior draws per pair"))
            .option("points", simbi::Option::integer(50).minimum(2).maximum(10000).doc(
                                  "credibility levels a = 1/points, 2/points, ..., 1 - 1/points"))
            .option("band", simbi::calibration::band_option("at each level"));
        return i;
    }

    Tarp(const simbi::Config& c, const simbi_host*) {
        pairs_ = c.integer("pairs");
        samples_ = c.integer("samples");
        points_ = c.integer("points");
        band_ = c.number("band");
    }

    void run(const simbi::DiagnosticContext& ctx) override {
        const simbi::Pairs pairs = ctx.held_out_pairs(uint64_t(pairs_), ctx.seed());
        const uint64_t d = pairs.theta_dim, L = uint64_t(samples_);
        // The prior's scale per parameter, and one reference point per pair, from the prior.
        const std::vector<double> scale = ctx.prior_std(10000, simbi_rng_mix(ctx.seed(), 71));
        const std::vector<double> refs = ctx.prior_sample(pairs.n, simbi_rng_mix(ctx.seed(), 72));
        auto dist2 = [&](const double* a, const double* b) {
            double s = 0;
            for (uint64_t p = 0; p < d; ++p) s += (a[p] - b[p]) * (a[p] - b[p]) / (scale[p] * scale[p]);
            return s;
        };
        std::vector<double> f;
        uint64_t skipped = 0;
        const std::vector<double> all_draws = simbi::calibration::draws_for_pairs(ctx, pairs, L, ctx.seed());
        for (uint64_t i = 0; i < pairs.n; ++i) {
            const double* draws = all_draws.data() + i * L * d;
            const double* ref = refs.data() + i * d;
            const double r_true = dist2(pairs.theta_row(i), ref);
            uint64_t closer = 0, usable = 0;
            for (uint64_t j = 0; j < L; ++j) {
                const double r = dist2(draws + j * d, ref);
                if (std::isnan(r)) continue;
                ++usable;
                closer += r < r_true;
            }
            if (usable == 0) {
                ++skipped;
                continue;
            }
            f.push_back(double(closer) / double(usable));
        }
        if (f.empty()) throw std::runtime_error("no usable held-out pair");
        const uint64_t n = f.size();
        std::vector<double> alpha, ecp, low, high;
        double max_dev = 0, area = 0;
        bool inside = true;
        // Levels a / points for a < points: at 1 every curve is 1 but for draws tied with theta*.
        for (long long a = 1; a < points_; ++a) {
            const double level = double(a) / double(points_);
            double c = 0;
            for (double v : f) c += v < level;
            c /= double(n);
            const simbi::calibration::Band b = simbi::calibration::binomial_band(n, level, band_);
            alpha.push_back(level);
            ecp.push_back(c);
            low.push_back(b.low);
            high.push_back(b.high);
            inside = inside && c >= b.low && c <= b.high;
            max_dev = std::max(max_dev, std::fabs(c - level));
            if (level > 0.5) area += (c - level) / double(points_);  // the integral over (0.5, 1)
        }
        ctx.put("alpha", alpha);
        ctx.put("ecp", ecp);
        ctx.put("band_low", low);
        ctx.put("band_high", high);
        ctx.put("max_distance", max_dev);
        ctx.put("area_above_half", area);
        ctx.put_flag("on_diagonal", inside);
        ctx.put("pairs", double(n));
        ctx.put("invalid_rows", double(pairs.invalid));
        ctx.put("skipped_pairs", double(skipped));
        char line[160];
        std::snprintf(line, sizeof line, "tarp: largest distance to the diagonal %.3f on %llu pairs (%s the band)", max_dev,
                      (unsigned long long)n, inside ? "within" : "outside");
        ctx.log(SIMBI_LOG_INFO, line);
        std::snprintf(line, sizeof line, "TARP expected coverage probability on %llu pairs; largest distance to the diagonal %.3f",
                      (unsigned long long)n, max_dev);
        ctx.report()
            .verdict(inside ? "on the diagonal" : "off the diagonal")
            .number("largest distance", max_dev)
            .number("pairs", double(n))
            .figure(simbi::Figure::curve(alpha, ecp)
                        .band(low, high)
                        .diagonal()
                        .x_range(0, 1)
                        .y_range(0, 1)
                        .title("TARP")
                        .labels("credibility level", "expected coverage probability")
                        .caption(line));
    }

private:
    long long pairs_, samples_, points_;
    double band_;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(Tarp)
