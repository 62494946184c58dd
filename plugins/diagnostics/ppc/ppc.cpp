// simbi.ppc: posterior predictive check (Gelman, Meng & Stern 1996; Gelman et al., "Bayesian Data
// Analysis", ch. 6).
//
// M draws theta_m ~ q(theta | x_obs), one simulation x_m at each, and for every output i: the
// fraction of x_m,i below x_obs,i (its predictive quantile), its z-score against the predictive
// mean and standard deviation, and whether it lies outside the central `level` predictive
// interval. An observation outside it in some output is flagged: the simulator may not describe
// the data (misspecification), or the posterior may be wrong.
#include <algorithm>
#include <simbi/diagnostic.hpp>

namespace {

class Ppc final : public simbi::Diagnostic {
public:
    using adapter = simbi::DiagnosticAdapter<Ppc>;

    static simbi::Info info() {
        simbi::Info i("simbi.ppc", "Posterior predictive check", SIMBI_KIND_DIAGNOSTIC);
        i.version("1.0.0").vendor("simbi").description(
            "Simulates at posterior draws and reports where the observation falls in each output's predictive distribution; flags "
            "outputs outside the central predictive interval.");
        i.option("draws", simbi::Option::integer(500).minimum(10).maximum(10000000).doc("posterior draws, one simulation each"))
            .option("level",
                    simbi::Option::number(0.99).above(0).below(1).doc("the central predictive interval an observed output should fall in"));
        return i;
    }

    Ppc(const simbi::Config& c, const simbi_host*) {
        draws_ = c.integer("draws");
        level_ = c.number("level");
    }

    void run(const simbi::DiagnosticContext& ctx) override {
        const auto obs = ctx.observation();
        if (obs.empty()) throw std::runtime_error("a posterior predictive check needs the run's observation");
        const uint64_t k = ctx.x_dim(), n_obs = obs.size();
        std::vector<double> x_obs;
        for (const auto& row : obs) x_obs.insert(x_obs.end(), row.begin(), row.end());
        const std::vector<double> theta = ctx.sample(x_obs.data(), n_obs, uint64_t(draws_), simbi_rng_mix(ctx.seed(), 1));
        const simbi::Pairs pred = ctx.simulate(theta, simbi_rng_mix(ctx.seed(), 2));
        if (pred.n < 10) throw std::runtime_error("only " + std::to_string(pred.n) + " predictive simulations were valid");
        const double tail = (1 - level_) / 2;
        const std::vector<double> probs{tail, 0.05, 0.25, 0.5, 0.75, 0.95, 1 - tail};
        std::vector<double> quantile_of_obs, z, low, high, bands, flagged_rows;
        uint64_t flagged = 0;
        for (uint64_t i = 0; i < k; ++i) {
            std::vector<double> col(pred.n);
            for (uint64_t m = 0; m < pred.n; ++m) col[m] = pred.x_row(m)[i];
            std::sort(col.begin(), col.end());
            double mean = 0, var = 0;
            for (double v : col) mean += v / double(pred.n);
            for (double v : col) var += (v - mean) * (v - mean) / double(pred.n - 1);
            auto q = [&](double p) { return col[std::min(pred.n - 1, uint64_t(p * double(pred.n - 1) + 0.5))]; };
            for (double p : probs) bands.push_back(q(p));
            const double lo = q(tail), hi = q(1 - tail);
            // Every i.i.d. observation row is checked; the first row's numbers are reported.
            bool out = false;
            for (uint64_t j = 0; j < n_obs; ++j) out = out || obs[j][i] < lo || obs[j][i] > hi;
            const double x = obs[0][i];
            const double below = double(std::lower_bound(col.begin(), col.end(), x) - col.begin());
            const double equal = double(std::upper_bound(col.begin(), col.end(), x) - std::lower_bound(col.begin(), col.end(), x));
            quantile_of_obs.push_back((below + 0.5 * equal) / double(pred.n));
            z.push_back(var > 0 ? (x - mean) / std::sqrt(var) : (x == mean ? 0.0 : INFINITY));
            low.push_back(lo);
            high.push_back(hi);
            flagged_rows.push_back(out ? 1 : 0);
            flagged += out;
        }
        ctx.put("quantile", quantile_of_obs);
        ctx.put("z", z);
        ctx.put("interval_low", low);
        ctx.put("interval_high", high);
        ctx.put("outside", flagged_rows);
        ctx.put("predictive_quantiles", bands, {k, uint64_t(probs.size())});
        ctx.put("predictive_probabilities", probs);
        ctx.put("observed", obs[0]);
        ctx.put("level", level_);
        ctx.put("flagged", double(flagged));
        ctx.put_flag("possible_misspecification", flagged);
        ctx.put("draws", double(pred.n));
        ctx.put("invalid_rows", double(pred.invalid));
        char line[200];
        std::snprintf(line, sizeof line, "ppc: %llu of %llu outputs outside their %.0f%% predictive interval%s",
                      (unsigned long long)flagged, (unsigned long long)k, 100 * level_, flagged ? " (possible misspecification)" : "");
        ctx.log(flagged ? SIMBI_LOG_WARNING : SIMBI_LOG_INFO, line);
        // Where the observation falls in each output's predictive distribution (at most 40 shown).
        const uint64_t shown = std::min<uint64_t>(k, 40);
        std::vector<double> rows;
        std::vector<std::string> labels;
        for (uint64_t i = 0; i < shown; ++i) {
            rows.push_back(double(shown - i));
            labels.push_back("x[" + std::to_string(i) + "]");
        }
        std::snprintf(line, sizeof line,
                      "%llu output(s) outside the central %.0f%% predictive interval (red), from %llu simulations at posterior draws",
                      (unsigned long long)flagged, 100 * level_, (unsigned long long)pred.n);
        ctx.report()
            .verdict(flagged ? "possible misspecification" : "consistent")
            .number("outputs outside", double(flagged))
            .number("draws", double(pred.n))
            .figure(simbi::Figure::points(std::vector<double>(quantile_of_obs.begin(), quantile_of_obs.begin() + long(shown)), rows)
                        .point_labels(labels)
                        .flagged(std::vector<double>(flagged_rows.begin(), flagged_rows.begin() + long(shown)))
                        .x_band((1 - level_) / 2, (1 + level_) / 2)
                        .x_line(0.5)
                        .title("posterior predictive check")
                        .labels("quantile of the observation in its posterior predictive distribution", "")
                        .caption(line));
    }

private:
    long long draws_;
    double level_;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(Ppc)
