// simbi.coverage: expected coverage of highest-posterior-density regions (Hermans et al. 2022,
// "A Trust Crisis in Simulation-Based Inference?", eq. 2).
//
// For N held-out pairs (theta*, x*): L draws theta_j ~ q(theta | x*) and the fraction
// r = #{j : log q(theta_j | x*) > log q(theta* | x*)} / L. theta* lies in the level-c HPD region
// when r < c, and the expected coverage at c is the fraction of pairs with r < c. A calibrated
// posterior covers c of the pairs; a conservative one at least c (within the binomial band of N
// pairs at every level); an overconfident one less. For ratio and likelihood estimators log q is
// log r(x|theta) + log p(theta), which ranks draws the same way as the normalized posterior.
#include <chrono>
#include <simbi/diagnostic.hpp>

#include "calibration/calibration.hpp"

namespace {

class Coverage final : public simbi::Diagnostic {
public:
    using adapter = simbi::DiagnosticAdapter<Coverage>;

    static simbi::Info info() {
        simbi::Info i("simbi.coverage", "Expected coverage", SIMBI_KIND_DIAGNOSTIC);
        i.version("1.0.0").vendor("simbi").description(
            "Expected coverage of highest-posterior-density regions on held-out pairs, with a binomial band: calibrated, conservative or "
            "overconfident.");
        i.option("pairs", simbi::calibration::pairs_option(500))
            .option("samples", simbi::calibration::draws_option(1000, "posterior draws per pair"))
            .option("levels", simbi::Option::numbers(simbi::calibration::default_levels())
                                  .items_inside(0, 1)
                                  .length_between(1, 1000)
                                  .doc("credibility levels"))
            .option("band", simbi::calibration::band_option("around each level"));
        return i;
    }

    Coverage(const simbi::Config& c, const simbi_host*) {
        pairs_ = c.integer("pairs");
        samples_ = c.integer("samples");
        levels_ = simbi::calibration::checked_levels(c.numbers("levels"), "levels");
        band_ = c.number("band");
    }

    void run(const simbi::DiagnosticContext& ctx) override {
        const auto t0 = std::chrono::steady_clock::now();
        const simbi::Pairs pairs = ctx.held_out_pairs(uint64_t(pairs_), ctx.seed());
        const uint64_t d = pairs.theta_dim, k = pairs.x_dim, L = uint64_t(samples_);
        const std::vector<double> all_draws = simbi::calibration::draws_for_pairs(ctx, pairs, L, ctx.seed());
        std::vector<double> ranks;
        uint64_t skipped = 0;
        // Pairs in blocks: one log_prob call evaluates a block's draws and true values together.
        const uint64_t block = std::max<uint64_t>(1, 65536 / (L + 1));
        for (uint64_t b0 = 0; b0 < pairs.n; b0 += block) {
            const uint64_t b1 = std::min(pairs.n, b0 + block);
            std::vector<double> theta, x;
            theta.reserve((b1 - b0) * (L + 1) * d);
            x.reserve((b1 - b0) * (L + 1) * k);
            for (uint64_t i = b0; i < b1; ++i) {
                const double* draws = all_draws.data() + i * L * d;
                theta.insert(theta.end(), pairs.theta_row(i), pairs.theta_row(i) + d);
                theta.insert(theta.end(), draws, draws + L * d);
                for (uint64_t j = 0; j <= L; ++j) x.insert(x.end(), pairs.x_row(i), pairs.x_row(i) + k);
            }
            const std::vector<double> lp = ctx.log_prob(theta.data(), x.data(), (b1 - b0) * (L + 1));
            for (uint64_t i = 0; i < b1 - b0; ++i) {
                const double* row = lp.data() + i * (L + 1);
                if (std::isnan(row[0])) {
                    ++skipped;
                    continue;
                }
                uint64_t above = 0, usable = 0;
                for (uint64_t j = 1; j <= L; ++j) {
                    if (std::isnan(row[j])) continue;
                    ++usable;
                    above += row[j] > row[0];
                }
                if (usable == 0) {
                    ++skipped;
                    continue;
                }
                ranks.push_back(double(above) / double(usable));
            }
        }
        if (ranks.empty())
            throw std::runtime_error("no usable held-out pair (" + std::to_string(pairs.invalid) + " invalid, " + std::to_string(skipped) +
                                     " with NaN densities)");

        const uint64_t n = ranks.size();
        std::vector<double> coverage, low, high;
        bool conservative = true, calibrated = true;
        double worst_gap = INFINITY, worst_level = 0;
        for (double c : levels_) {
            double covered = 0;
            for (double r : ranks) covered += r < c;
            covered /= double(n);
            const simbi::calibration::Band band = simbi::calibration::binomial_band(n, c, band_);
            coverage.push_back(covered);
            low.push_back(band.low);
            high.push_back(band.high);
            conservative = conservative && covered >= band.low;
            calibrated = calibrated && covered >= band.low && covered <= band.high;
            if (covered - c < worst_gap) {
                worst_gap = covered - c;
                worst_level = c;
            }
        }
        ctx.put("levels", levels_);
        ctx.put("coverage", coverage);
        ctx.put("band_low", low);
        ctx.put("band_high", high);
        ctx.put("band", band_);
        ctx.put_flag("conservative", conservative);
        ctx.put_flag("calibrated", calibrated);
        ctx.put("worst_gap", worst_gap);
        ctx.put("worst_gap_level", worst_level);
        ctx.put("pairs", double(n));
        ctx.put("invalid_rows", double(pairs.invalid));
        ctx.put("skipped_pairs", double(skipped));
        ctx.put("samples_per_pair", double(L));
        ctx.put("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        const char* verdict = conservative ? (calibrated ? "calibrated" : "conservative") : "overconfident";
        char line[200];
        std::snprintf(line, sizeof line, "coverage: %s on %llu pairs; worst gap %+.3f at level %.2f", verdict, (unsigned long long)n,
                      worst_gap, worst_level);
        ctx.log(SIMBI_LOG_INFO, line);
        std::snprintf(line, sizeof line,
                      "Expected coverage of HPD regions on %llu held-out pairs; the band holds %.0f%% of a calibrated posterior's "
                      "curves at each level",
                      (unsigned long long)n, 100 * band_);
        ctx.report()
            .verdict(verdict)
            .number("worst gap", worst_gap)
            .number("at level", worst_level)
            .number("pairs", double(n))
            .figure(simbi::Figure::curve(levels_, coverage)
                        .band(low, high)
                        .diagonal()
                        .x_range(0, 1)
                        .y_range(0, 1)
                        .title("expected coverage")
                        .labels("credibility level", "empirical coverage")
                        .caption(line));
    }

private:
    long long pairs_, samples_;
    std::vector<double> levels_;
    double band_;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(Coverage)
