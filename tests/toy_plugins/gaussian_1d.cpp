// A 1-D Gaussian toy for the estimator tests: theta ~ N(0, 1), x ~ N(theta, 1), so that
// p(x) = N(0, 2), the posterior is N(x / 2, 1 / 2) and log r = log N(x; theta, 1) - log N(x; 0, 2).
#include <simbi/simbi.hpp>

struct Gaussian1d {
    static simbi::Info info() {
        return simbi::Info("test.gaussian_1d", "1-D Gaussian toy")
            .description("x ~ N(theta, 1) with theta ~ N(0, 1).")
            .params({"theta"})
            .outputs(1)
            .prior(R"({"type": "normal", "mean": [0], "std": [1]})");
    }
    explicit Gaussian1d(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        x[0] = theta[0] + rng.normal();
        return true;
    }
};
SIMBI_EXPORT_PLUGINS(Gaussian1d)
