// simbi.sbc: simulation-based calibration (Talts et al. 2018, "Validating Bayesian Inference
// Algorithms with Simulation-Based Calibration", algorithm 1).
//
// For N held-out pairs (theta*, x*) and L posterior draws given x*, the rank of theta*_i among
// the draws' i-th coordinates is uniform on {0, ..., L} for every parameter i when the posterior
// is calibrated. Ranks go into B equal bins, reported with the central band of Binomial(N, 1/B)
// that each bin's count falls in with probability `band`; Pearson's chi-square test of
// uniformity gives a p-value per parameter, and the ranks pass when every p-value exceeds
// `alpha` divided by the number of parameters (Bonferroni).
#include <simbi/diagnostic.hpp>

#include "calibration/calibration.hpp"

namespace {

class Sbc final : public simbi::Diagnostic {
public:
    using adapter = simbi::DiagnosticAdapter<Sbc>;

    static simbi::Info info() {
        simbi::Info i("simbi.sbc", "Simulation-based calibration", SIMBI_KIND_DIAGNOSTIC);
        i.version("1.0.0").vendor("simbi").description(
            "Rank statistics of held-out parameters among posterior draws, their histograms with the expected band, and a chi-square "
            "test of uniformity per parameter.");
        i.option("pairs", simbi::calibration::pairs_option(500))
            .option("samples", simbi::Option::integer(199).minimum(1).maximum(100000).doc(
                                   "posterior draws per pair, L; (L + 1) must be a multiple of bins"))
            .option("bins", simbi::Option::integer(20).minimum(2).maximum(100000).doc("histogram bins of the ranks"))
            .option("alpha", simbi::Option::number(0.01).above(0).below(1).doc("the test's level, over all parameters"))
            .option("band", simbi::calibration::band_option("of each bin's expected count"));
        return i;
    }

    Sbc(const simbi::Config& c, const simbi_host*) {
        pairs_ = c.integer("pairs");
        samples_ = c.integer("samples");
        bins_ = c.integer("bins");
        alpha_ = c.number("alpha");
        band_ = c.number("band");
        if (bins_ < 2 || (samples_ + 1) % bins_ != 0)
            throw std::invalid_argument("bins must be at least 2 and divide samples + 1 (" + std::to_string(samples_ + 1) + ")");
    }

    void run(const simbi::DiagnosticContext& ctx) override {
        const simbi::Pairs pairs = ctx.held_out_pairs(uint64_t(pairs_), ctx.seed());
        const uint64_t d = pairs.theta_dim, L = uint64_t(samples_), B = uint64_t(bins_);
        std::vector<double> ranks;  // [pairs used, d]
        uint64_t used = 0, skipped = 0;
        const std::vector<double> all_draws = simbi::calibration::draws_for_pairs(ctx, pairs, L, ctx.seed());
        for (uint64_t i = 0; i < pairs.n; ++i) {
            const double* draws = all_draws.data() + i * L * d;
            bool finite = true;
            for (uint64_t j = 0; j < L * d; ++j) finite = finite && std::isfinite(draws[j]);
            if (!finite) {
                ++skipped;
                continue;
            }
            for (uint64_t p = 0; p < d; ++p) {
                uint64_t below = 0;
                for (uint64_t j = 0; j < L; ++j) below += draws[j * d + p] < pairs.theta_row(i)[p];
                ranks.push_back(double(below));
            }
            ++used;
        }
        if (used == 0) throw std::runtime_error("no usable held-out pair");
        std::vector<double> hist(d * B, 0.0), p_values(d);
        const uint64_t per_bin = (L + 1) / B;
        for (uint64_t i = 0; i < used; ++i)
            for (uint64_t p = 0; p < d; ++p) hist[p * B + uint64_t(ranks[i * d + p]) / per_bin] += 1;
        bool uniform = true;
        double min_p = 1;
        for (uint64_t p = 0; p < d; ++p) {
            p_values[p] =
                simbi::calibration::chi_square_uniform_p(std::vector<double>(hist.begin() + long(p * B), hist.begin() + long((p + 1) * B)));
            min_p = std::min(min_p, p_values[p]);
            uniform = uniform && p_values[p] > alpha_ / double(d);
        }
        const simbi::calibration::Band band = simbi::calibration::binomial_band(used, 1.0 / double(B), band_);
        ctx.put("ranks", ranks, {used, d});
        ctx.put("histogram", hist, {d, B});
        ctx.put("expected_count", double(used) / double(B));
        ctx.put("band_low", band.low * double(used));
        ctx.put("band_high", band.high * double(used));
        ctx.put("p_values", p_values);
        ctx.put("min_p_value", min_p);
        ctx.put_flag("uniform", uniform);
        ctx.put("alpha", alpha_);
        ctx.put("pairs", double(used));
        ctx.put("invalid_rows", double(pairs.invalid));
        ctx.put("skipped_pairs", double(skipped));
        ctx.put("samples_per_pair", double(L));
        char line[160];
        std::snprintf(line, sizeof line, "sbc: ranks %s uniform on %llu pairs (smallest p-value %.3g)", uniform ? "look" : "are not",
                      (unsigned long long)used, min_p);
        ctx.log(SIMBI_LOG_INFO, line);
        ctx.report()
            .verdict(uniform ? "uniform ranks" : "ranks not uniform")
            .number("smallest p-value", min_p)
            .number("pairs", double(used));
        for (uint64_t p = 0; p < d; ++p) {
            std::snprintf(line, sizeof line, "parameter %llu (p = %.3g)", (unsigned long long)(p + 1), p_values[p]);
            ctx.report().figure(simbi::Figure::histogram(std::vector<double>(hist.begin() + long(p * B), hist.begin() + long((p + 1) * B)))
                                    .horizontal_band(band.low * double(used), band.high * double(used))
                                    .expected(double(used) / double(B))
                                    .title(line)
                                    .labels("rank bin", "pairs")
                                    .caption("SBC rank histogram with the band of a uniform one; the chi-square test says " +
                                             std::string(p_values[p] > alpha_ / double(d) ? "uniform" : "not uniform")));
        }
    }

private:
    long long pairs_, samples_, bins_;
    double alpha_, band_;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(Sbc)
