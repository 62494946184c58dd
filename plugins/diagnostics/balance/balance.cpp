// simbi.balance: the balance condition of a classifier (Delaunoy et al. 2022, "Towards Reliable
// Simulation-Based Inference with Balanced Neural Ratio Estimation", eq. 5):
//     E_p(theta, x)[d(theta, x)] + E_p(theta)p(x)[d(theta, x)] = 1,
// with d = sigmoid(log r) and log r(theta, x) = log q(theta | x) - log p(theta), on held-out joint
// pairs and on marginal pairs (each x with another pair's theta). A balanced classifier is
// conservative; the sum is about 1 for BNRE. It applies to ratio estimators (NRE, BNRE) and to
// posterior estimators (NPE), whose q / p is a ratio too, not to likelihood estimators.
#include <simbi/diagnostic.hpp>

namespace {

class Balance final : public simbi::Diagnostic {
public:
    using adapter = simbi::DiagnosticAdapter<Balance>;

    static simbi::Info info() {
        simbi::Info i("simbi.balance", "Balance", SIMBI_KIND_DIAGNOSTIC);
        i.version("1.0.0").vendor("simbi").description(
            "E_joint[d] + E_marginal[d] of the classifier d = sigmoid(log q - log p) on held-out pairs: about 1 for a balanced estimator.");
        i.option("pairs", simbi::Option::integer(2000).minimum(2).maximum(10000000).doc("held-out pairs"));
        return i;
    }

    Balance(const simbi::Config& c, const simbi_host*) { pairs_ = c.integer("pairs"); }

    void run(const simbi::DiagnosticContext& ctx) override {
        const simbi::Pairs p = ctx.held_out_pairs(uint64_t(pairs_), ctx.seed());
        if (p.n < 2) throw std::runtime_error("fewer than 2 usable held-out pairs");
        const uint64_t d = p.theta_dim;
        // Marginal pairs: x_i with theta_{i+1}, a pairing independent of the joint one.
        std::vector<double> shifted(p.theta.size());
        for (uint64_t i = 0; i < p.n; ++i)
            std::copy(p.theta_row((i + 1) % p.n), p.theta_row((i + 1) % p.n) + d, shifted.begin() + long(i * d));
        const std::vector<double> joint = ctx.log_prob(p.theta.data(), p.x.data(), p.n);
        const std::vector<double> marginal = ctx.log_prob(shifted.data(), p.x.data(), p.n);
        const std::vector<double> prior_joint = ctx.prior_log_prob(p.theta.data(), p.n);
        const std::vector<double> prior_marginal = ctx.prior_log_prob(shifted.data(), p.n);
        auto sigmoid = [](double v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); };
        double sj = 0, sm = 0, sj2 = 0, sm2 = 0;
        uint64_t n = 0, skipped = 0;
        for (uint64_t i = 0; i < p.n; ++i) {
            const double a = sigmoid(joint[i] - prior_joint[i]), b = sigmoid(marginal[i] - prior_marginal[i]);
            if (std::isnan(a) || std::isnan(b)) {
                ++skipped;
                continue;
            }
            sj += a, sm += b, sj2 += a * a, sm2 += b * b;
            ++n;
        }
        if (n < 2) throw std::runtime_error("fewer than 2 held-out pairs with finite densities");
        const double ej = sj / double(n), em = sm / double(n);
        const double se = std::sqrt(((sj2 / double(n) - ej * ej) + (sm2 / double(n) - em * em)) / double(n - 1));
        ctx.put("joint_mean", ej);
        ctx.put("marginal_mean", em);
        ctx.put("balance", ej + em);
        ctx.put("standard_error", se);
        ctx.put("pairs", double(n));
        ctx.put("invalid_rows", double(p.invalid));
        ctx.put("skipped_pairs", double(skipped));
        char line[160];
        std::snprintf(line, sizeof line, "balance: E_joint[d] + E_marginal[d] = %.3f +- %.3f (1 when balanced)", ej + em, se);
        ctx.log(SIMBI_LOG_INFO, line);
        ctx.report()
            .verdict(std::fabs(ej + em - 1) <= 3 * se ? "balanced" : "not balanced")
            .number("balance", ej + em)
            .number("standard error", se)
            .number("pairs", double(n));
    }

private:
    long long pairs_;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(Balance)
