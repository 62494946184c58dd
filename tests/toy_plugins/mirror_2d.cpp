// A 2-D toy whose posterior is a two-component mixture, for the score and flow tests:
// theta ~ N(0, 2^2 I), x = (|theta_1|, theta_2) + N(0, 0.5^2 I). At x = (2, 0.5), with
// v = 4 * 0.25 / 4.25 and m = x v / 0.25, theta_1 | x is an even mixture of N(+-m_1, v) (each side
// truncated at 0, a mass of 5e-5 here) and theta_2 | x is N(m_2, v).
#include <cmath>
#include <simbi/simbi.hpp>

struct Mirror2d {
    static simbi::Info info() {
        return simbi::Info("test.mirror_2d", "2-D mirror toy")
            .description("x = (|theta_1|, theta_2) + N(0, 0.25 I) with theta ~ N(0, 4 I): a bimodal posterior in theta_1.")
            .params({"theta_1", "theta_2"})
            .outputs(2)
            .prior(R"({"type": "normal", "mean": [0, 0], "std": [2, 2]})");
    }
    explicit Mirror2d(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        x[0] = std::fabs(theta[0]) + 0.5 * rng.normal();
        x[1] = theta[1] + 0.5 * rng.normal();
        return true;
    }
};
SIMBI_EXPORT_PLUGINS(Mirror2d)
