// The projectile simulator with simbi's C++ layer: a class and one macro.
#include <simbi/simbi.hpp>
#include <cmath>

struct Projectile {
    static simbi::Info info() {
        return simbi::Info("sample.projectile_cpp", "Projectile (C++ sample)")
            .description("Landing distance of a throw.")
            .params({"v", "alpha"})
            .outputs(1)
            .prior(R"({"type": "box_uniform", "low": [10, 0.1], "high": [40, 1.4]})");
    }
    explicit Projectile(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        double vx = theta[0] * std::cos(theta[1]), vy = theta[0] * std::sin(theta[1]);
        double px = 0, py = 1.1 + 0.3 * rng.normal(), dt = 0.001;
        while (py > 0) {
            vy -= dt * 9.81;
            px += dt * vx;
            py += dt * vy;
        }
        x[0] = px + 0.25 * rng.normal();
        return true;
    }
};
SIMBI_EXPORT_PLUGINS(Projectile)
