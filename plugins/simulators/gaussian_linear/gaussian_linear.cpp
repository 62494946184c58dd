// sbibm.gaussian_linear: x ~ N(theta, 0.1 I) in 10 dimensions, prior theta ~ N(0, 0.1 I).
// Task definition: Lueckmann et al. 2021 (sbibm), "Gaussian Linear". The posterior is conjugate:
// N(x / 2, 0.05 I).
#include <simbi/simbi.hpp>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

class GaussianLinear {
public:
    static constexpr int dim = 10;

    static simbi::Info info() {
        std::vector<std::string> names;
        std::string zeros, stds;
        for (int i = 0; i < dim; ++i) {
            names.push_back("theta_" + std::to_string(i + 1));
            zeros += (i ? "," : "") + std::string("0.0");
            stds += (i ? "," : "") + std::string("0.31622776601683794");
        }
        return simbi::Info("sbibm.gaussian_linear", "Gaussian linear (sbibm)")
            .vendor("simbi")
            .description("x ~ N(theta, 0.1 I), theta ~ N(0, 0.1 I), 10 dimensions (Lueckmann et al. 2021).")
            .params(names)
            .outputs(dim)
            .prior(R"({"type": "normal", "mean": [)" + zeros + R"(], "std": [)" + stds + "]}")
            .option("noise_std", simbi::Option::number(std::sqrt(0.1)).above(0).doc("standard deviation of x given theta"));
    }

    explicit GaussianLinear(const simbi::Config& config) : std_(config.number("noise_std")) {}

    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        for (int i = 0; i < dim; ++i) x[i] = theta[i] + std_ * rng.normal();
        return true;
    }

private:
    double std_;
};

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(GaussianLinear)
#endif
