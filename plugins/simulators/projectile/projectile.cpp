// simbi.projectile: the landing distance of a ball thrown from about head height.
//
// theta = (v launch speed [m/s], alpha launch angle [rad]); x = landing distance [m].
// Physics and noise: start at height 1.1 + 0.3 N(0,1), then explicit Euler steps (dt = 0.001 s)
// under gravity G = 9.81 m/s^2 while y > 0; observe x + 0.25 N(0,1).
// Default prior: v ~ U(10, 40) m/s, alpha ~ U(0.1, 1.4) rad (about 6 to 80 degrees): every
// throw a person or a small launcher makes, landing between about 2 and 170 m.
#include <simbi/simbi.hpp>

#include <cmath>
#include <stdexcept>

class Projectile {
public:
    static simbi::Info info() {
        return simbi::Info("simbi.projectile", "Projectile")
            .vendor("simbi")
            .description(
                "Landing distance of a projectile launched at speed v and angle alpha, with a noisy launch height and a noisy measurement.")
            .params({"v", "alpha"})
            .outputs(1)
            .prior(R"({"type": "box_uniform", "low": [10.0, 0.1], "high": [40.0, 1.4]})")
            .option("dt", simbi::Option::number(0.001).above(0).maximum(0.1).doc("Euler time step [s]"))
            .option("g", simbi::Option::number(9.81).above(0).doc("gravitational acceleration [m/s^2]"));
    }

    explicit Projectile(const simbi::Config& config) : dt_(config.number("dt")), g_(config.number("g")) {}

    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        double vx = theta[0] * std::cos(theta[1]), vy = theta[0] * std::sin(theta[1]);
        double px = 0.0, py = 1.1 + 0.3 * rng.normal();
        while (py > 0.0) {
            vy -= dt_ * g_;
            px += dt_ * vx;
            py += dt_ * vy;
        }
        x[0] = px + 0.25 * rng.normal();
        return true;
    }

private:
    double dt_, g_;
};

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Projectile)
#endif
