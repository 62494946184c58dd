// sbibm.slcp: simple likelihood, complex posterior (Papamakarios et al. 2019; sbibm "SLCP").
//   m = (theta1, theta2), s1 = theta3^2, s2 = theta4^2, rho = tanh(theta5)
//   Sigma = [[s1^2 + 1e-6, rho s1 s2], [rho s1 s2, s2^2 + 1e-6]]
//   x = four i.i.d. draws of N(m, Sigma), interleaved (y1_1, y1_2, y2_1, ...).
// Prior: theta_i ~ U(-3, 3).
#include <simbi/simbi.hpp>

#include <cmath>

class Slcp {
public:
    static simbi::Info info() {
        return simbi::Info("sbibm.slcp", "SLCP (sbibm)")
            .vendor("simbi")
            .description("Simple-likelihood complex-posterior task of sbibm: four 2-D Gaussian draws, a posterior with four modes.")
            .params({"theta_1", "theta_2", "theta_3", "theta_4", "theta_5"})
            .outputs(8)
            .shape({4, 2})
            .prior(R"({"type": "box_uniform", "low": [-3, -3, -3, -3, -3], "high": [3, 3, 3, 3, 3]})");
    }

    explicit Slcp(const simbi::Config&) {}

    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        double s1 = theta[2] * theta[2], s2 = theta[3] * theta[3], rho = std::tanh(theta[4]);
        // Cholesky factor of Sigma.
        double a = std::sqrt(s1 * s1 + 1e-6);
        double b = rho * s1 * s2 / a;
        double c = std::sqrt(s2 * s2 + 1e-6 - b * b);
        for (int j = 0; j < 4; ++j) {
            double z1 = rng.normal(), z2 = rng.normal();
            x[2 * j] = theta[0] + a * z1;
            x[2 * j + 1] = theta[1] + b * z1 + c * z2;
        }
        return true;
    }
};

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Slcp)
#endif
