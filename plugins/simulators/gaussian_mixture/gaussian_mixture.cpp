// sbibm.gaussian_mixture: x ~ 0.5 N(theta, I) + 0.5 N(theta, 0.01 I) in 2-D (Sisson et al. 2007;
// sbibm "Gaussian Mixture"). One component is drawn for the whole vector. Prior: U(-10, 10)^2.
#include <simbi/simbi.hpp>

class GaussianMixture {
public:
    static simbi::Info info() {
        return simbi::Info("sbibm.gaussian_mixture", "Gaussian mixture (sbibm)")
            .vendor("simbi")
            .description("Mixture of a broad and a narrow Gaussian around theta (sbibm).")
            .params({"theta_1", "theta_2"})
            .outputs(2)
            .prior(R"({"type": "box_uniform", "low": [-10.0, -10.0], "high": [10.0, 10.0]})");
    }

    explicit GaussianMixture(const simbi::Config&) {}

    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        double std = rng.uniform() < 0.5 ? 1.0 : 0.1;
        x[0] = theta[0] + std * rng.normal();
        x[1] = theta[1] + std * rng.normal();
        return true;
    }
};

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(GaussianMixture)
#endif
