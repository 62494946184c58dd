// sbibm.lotka_volterra: predator-prey dynamics (Lotka 1925, Volterra 1926; sbibm "Lotka-Volterra").
//   dX/dt = alpha X - beta X Y, dY/dt = -gamma Y + delta X Y, (X, Y)(0) = (30, 1)
//   solved by Dormand-Prince 5(4), tolerances 1e-8; observed at t = 0, 2.1, ..., 18.9
//   x = (X at 10 times, Y at 10 times), each ~ LogNormal(log clamp(u, 1e-10, 1e4), 0.1).
// Prior: independent LogNormal, loc (-0.125, -3, -0.125, -3), scale 0.5.
#include <simbi/simbi.hpp>

#include <algorithm>
#include <array>
#include <boost/numeric/odeint.hpp>
#include <cmath>
#include <vector>

class LotkaVolterra {
public:
    static simbi::Info info() {
        return simbi::Info("sbibm.lotka_volterra", "Lotka-Volterra (sbibm)")
            .vendor("simbi")
            .description("Predator-prey ODE observed with log-normal noise at 10 times (sbibm).")
            .params({"alpha", "beta", "gamma", "delta"})
            .outputs(20)
            .shape({2, 10})
            .prior(R"({"type": "log_normal", "loc": [-0.125, -3.0, -0.125, -3.0], "scale": [0.5, 0.5, 0.5, 0.5]})");
    }

    explicit LotkaVolterra(const simbi::Config&) {}

    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        namespace ode = boost::numeric::odeint;
        using State = std::array<double, 2>;
        const double a = theta[0], b = theta[1], g = theta[2], d = theta[3];
        auto rhs = [&](const State& s, State& ds, double) {
            ds[0] = a * s[0] - b * s[0] * s[1];
            ds[1] = -g * s[1] + d * s[0] * s[1];
        };
        State s{30.0, 1.0};
        std::vector<double> times;
        for (int i = 0; i < 10; ++i) times.push_back(2.1 * i);
        double u[20];
        int idx = 0;
        try {
            ode::integrate_times(
                ode::make_dense_output(1e-8, 1e-8, ode::runge_kutta_dopri5<State>()), rhs, s, times.begin(), times.end(), 0.01,
                [&](const State& st, double) {
                    u[idx] = st[0];
                    u[10 + idx] = st[1];
                    ++idx;
                },
                ode::max_step_checker(100000));
        } catch (const std::exception&) {
            return false;  // a failed solve is an invalid row, as in sbibm
        }
        for (int i = 0; i < 20; ++i) {
            if (!std::isfinite(u[i])) return false;
            x[i] = std::exp(std::log(std::clamp(u[i], 1e-10, 1e4)) + 0.1 * rng.normal());
        }
        return true;
    }
};

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(LotkaVolterra)
#endif
