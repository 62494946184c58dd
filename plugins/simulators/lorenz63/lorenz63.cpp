// simbi.lorenz63: the Lorenz-63 system with process noise (lorenz63.hpp), its parameters
// (sigma, rho, beta) to infer from a trajectory of 32 states.
//   start: (1, 1, 25) + N(0, I), then `burn_in` steps onto the attractor (not observed);
//   x: the next 32 states, as 3 series of 32 (x, y, z), plus N(0, obs_noise^2) each.
// Prior: sigma ~ U(5, 15), rho ~ U(20, 40), beta ~ U(1, 4).
#include <simbi/simbi.hpp>

#include <cmath>

#include "lorenz63.hpp"

namespace {

constexpr int kStates = 32;

class Lorenz63 {
public:
    static simbi::Info info() {
        return simbi::Info("simbi.lorenz63", "Lorenz-63")
            .vendor("simbi")
            .description("The Lorenz-63 system (RK4, dt = 0.025, Gaussian process noise): 32 states after a burn-in, as 3 series.")
            .params({"sigma", "rho", "beta"})
            .outputs(3 * kStates)
            .shape({3, kStates})
            .prior(R"({"type": "box_uniform", "low": [5, 20, 1], "high": [15, 40, 4]})")
            .option("dt", simbi::Option::number(0.025).above(0).maximum(0.1).doc("the Runge-Kutta step"))
            .option("process_noise", simbi::Option::number(0.1).minimum(0).below(10).doc(
                                         "standard deviation of the Gaussian noise added to each state after each step"))
            .option("obs_noise",
                    simbi::Option::number(0.5).minimum(0).below(100).doc("standard deviation of the Gaussian noise on each observed value"))
            .option("burn_in",
                    simbi::Option::integer(256).minimum(0).maximum(100000).doc("steps from the start before the first observed state"));
    }

    explicit Lorenz63(const simbi::Config& c)
        : dt_(c.number("dt")), process_(c.number("process_noise")), obs_(c.number("obs_noise")), burn_in_(c.integer("burn_in")) {}

    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        simbi::lorenz63::Parameters p{theta[0], theta[1], theta[2], dt_};
        simbi::lorenz63::State s{1 + rng.normal(), 1 + rng.normal(), 25 + rng.normal()};
        auto step = [&] {
            s = simbi::lorenz63::rk4_step(s, p);
            for (double& v : s) v += process_ * rng.normal();
        };
        for (int64_t i = 0; i < burn_in_; ++i) step();
        for (int i = 0; i < kStates; ++i) {
            step();
            for (int j = 0; j < 3; ++j) x[j * kStates + i] = s[size_t(j)] + obs_ * rng.normal();
        }
        for (int i = 0; i < 3 * kStates; ++i)
            if (!std::isfinite(x[i])) return false;
        return true;
    }

private:
    double dt_, process_, obs_;
    int64_t burn_in_;
};

}  // namespace

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Lorenz63)
#endif
