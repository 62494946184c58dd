// sbibm.sir: the SIR epidemic model (Kermack & McKendrick 1927; sbibm "SIR").
//   dS/dt = -beta S I / N, dI/dt = beta S I / N - gamma I, dR/dt = gamma I
//   N = 1e6, (S, I, R)(0) = (N - 1, 1, 0); solved by Dormand-Prince 5(4), tolerances 1e-8.
//   x_i ~ Binomial(1000, I(t_i) / N) at t_i = 0, 17, ..., 153 (10 values).
// Prior: beta ~ LogNormal(log 0.4, 0.5), gamma ~ LogNormal(log 0.125, 0.2).
#include <simbi/simbi.hpp>

#include <array>
#include <boost/numeric/odeint.hpp>
#include <cmath>
#include <vector>

class Sir {
public:
    static simbi::Info info() {
        return simbi::Info("sbibm.sir", "SIR epidemic (sbibm)")
            .vendor("simbi")
            .description("SIR epidemic ODE observed as binomial counts of infected out of 1000 at 10 times (sbibm).")
            .params({"beta", "gamma"})
            .outputs(10)
            .prior(R"({"type": "log_normal", "loc": [-0.916290731874155, -2.0794415416798357], "scale": [0.5, 0.2]})");
    }

    explicit Sir(const simbi::Config&) {}

    // Binomial(n, p) by inversion of the CDF; mirrored for p > 1/2 so (1-p)^n never underflows.
    static double binomial(simbi::Rng& rng, int n, double p) {
        if (p > 0.5) return n - binomial(rng, n, 1.0 - p);
        if (p <= 0.0) return 0.0;
        double q = 1.0 - p, ratio = p / q, pmf = std::pow(q, n), cdf = pmf, u = rng.uniform();
        int k = 0;
        while (u >= cdf && k < n) {
            pmf *= ratio * double(n - k) / double(k + 1);
            cdf += pmf;
            ++k;
        }
        return k;
    }

    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        namespace ode = boost::numeric::odeint;
        using State = std::array<double, 3>;
        const double N = 1e6, beta = theta[0], gamma = theta[1];
        auto rhs = [&](const State& s, State& ds, double) {
            double infection = beta * s[0] * s[1] / N;
            ds[0] = -infection;
            ds[1] = infection - gamma * s[1];
            ds[2] = gamma * s[1];
        };
        State s{N - 1.0, 1.0, 0.0};
        std::vector<double> times;
        for (int i = 0; i < 10; ++i) times.push_back(17.0 * i);
        double infected[10];
        int idx = 0;
        try {
            ode::integrate_times(ode::make_dense_output(1e-8, 1e-8, ode::runge_kutta_dopri5<State>()), rhs, s, times.begin(), times.end(),
                                 0.1, [&](const State& st, double) { infected[idx++] = st[1]; });
        } catch (const std::exception&) {
            return false;  // a failed solve is an invalid row, as in sbibm
        }
        for (int i = 0; i < 10; ++i) {
            double p = infected[i] / N;
            if (!std::isfinite(p)) return false;
            x[i] = binomial(rng, 1000, std::min(1.0, std::max(0.0, p)));
        }
        return true;
    }
};

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Sir)
#endif
