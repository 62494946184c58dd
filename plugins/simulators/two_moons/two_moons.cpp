// sbibm.two_moons: a crescent-shaped, bimodal posterior (Greenberg et al. 2019; sbibm "Two Moons").
//   a ~ U(-pi/2, pi/2), r ~ N(0.1, 0.01^2), p = (r cos a + 0.25, r sin a)
//   x = p + (-|theta1 + theta2| / sqrt 2, (theta2 - theta1) / sqrt 2)
// Prior: theta_i ~ U(-1, 1).
#include <simbi/simbi.hpp>

#include <cmath>

class TwoMoons {
public:
    static simbi::Info info() {
        return simbi::Info("sbibm.two_moons", "Two moons (sbibm)")
            .vendor("simbi")
            .description("Two-moons task of sbibm: a bimodal, crescent-shaped posterior in 2-D.")
            .params({"theta_1", "theta_2"})
            .outputs(2)
            .prior(R"({"type": "box_uniform", "low": [-1.0, -1.0], "high": [1.0, 1.0]})");
    }

    explicit TwoMoons(const simbi::Config&) {}

    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        const double pi = 3.14159265358979323846, s = 0.70710678118654752440;
        double a = rng.uniform(-pi / 2, pi / 2);
        double r = rng.normal(0.1, 0.01);
        x[0] = r * std::cos(a) + 0.25 - std::fabs((theta[0] + theta[1]) * s);
        x[1] = r * std::sin(a) + (theta[1] - theta[0]) * s;
        return true;
    }
};

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(TwoMoons)
#endif
