// Each simulator's moments at fixed parameters, against values derived independently: analytically
// where the model allows, else by integrating the ODE in the test with classical RK4. Tolerances
// are five standard errors of the estimate (plus the stated discretization allowance).
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>

#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"

using namespace simbi::host;

namespace {
// n draws of x at one theta: returns x [n, k].
std::vector<double> draws(const std::string& id, const std::vector<double>& theta, uint64_t n) {
    static PluginRegistry reg([] {
        RegistryOptions o;
        o.first_paths = {SIMBI_TEST_PLUGIN_DIR};
        return o;
    }());
    const PluginInfo& p = reg.find(id);
    HostServices host;
    SimulatorInstances sims(p, "{}", host, 1);
    std::vector<double> t;
    for (uint64_t i = 0; i < n; ++i) t.insert(t.end(), theta.begin(), theta.end());
    std::vector<double> x(n * p.output_dim);
    std::vector<uint8_t> valid(n);
    ErrorBuffer eb;
    simbi_simulator* s = sims.for_thread(0);
    REQUIRE(s->simulate(s, n, t.data(), 77, 0, x.data(), valid.data(), eb.get()) == SIMBI_OK);
    for (auto v : valid) REQUIRE(v == 1);
    return x;
}

struct Moments {
    std::vector<double> mean, var;
};
Moments column_moments(
    const std::vector<double>& x, size_t k, const std::function<double(double)>& f = [](double v) { return v; }) {
    size_t n = x.size() / k;
    Moments m{std::vector<double>(k, 0), std::vector<double>(k, 0)};
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < k; ++j) m.mean[j] += f(x[i * k + j]) / double(n);
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < k; ++j) m.var[j] += std::pow(f(x[i * k + j]) - m.mean[j], 2) / double(n - 1);
    return m;
}

template <size_t D, class F>
std::array<double, D> rk4(std::array<double, D> s, double t_end, double dt, F rhs) {
    int steps = int(std::round(t_end / dt));
    for (int i = 0; i < steps; ++i) {
        std::array<double, D> k1 = rhs(s), a, k2, k3, k4;
        for (size_t j = 0; j < D; ++j) a[j] = s[j] + 0.5 * dt * k1[j];
        k2 = rhs(a);
        for (size_t j = 0; j < D; ++j) a[j] = s[j] + 0.5 * dt * k2[j];
        k3 = rhs(a);
        for (size_t j = 0; j < D; ++j) a[j] = s[j] + dt * k3[j];
        k4 = rhs(a);
        for (size_t j = 0; j < D; ++j) s[j] += dt / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
    }
    return s;
}
}  // namespace

TEST_CASE("projectile: landing distance matches the continuous trajectory", "[plugins][statistics]") {
    const double v = 25, a = 0.6, G = 9.81;
    const uint64_t n = 20000;
    auto x = draws("simbi.projectile", {v, a}, n);
    // A launch height below ground (y0 < 0, probability Phi(-1.1/0.3)) lands at 0: count those
    // apart, and compare the rest with the trajectory.
    std::vector<double> flying;
    for (double d : x)
        if (d > 10) flying.push_back(d);
    double p0 = 0.5 * std::erfc(1.1 / 0.3 / std::sqrt(2.0)), grounded = double(n - flying.size()) / double(n);
    CHECK(std::fabs(grounded - p0) < 5 * std::sqrt(p0 * (1 - p0) / double(n)) + 1.0 / double(n));
    Moments m = column_moments(flying, 1);
    // E and Var over y0 ~ N(1.1, 0.3^2) given y0 > 0, by quadrature, plus the 0.25 noise.
    double vx = v * std::cos(a), vy = v * std::sin(a), e1 = 0, e2 = 0, wsum = 0;
    for (int i = -4000; i <= 4000; ++i) {
        double z = i / 500.0, w = std::exp(-0.5 * z * z), y0 = 1.1 + 0.3 * z;
        if (y0 <= 0) continue;
        double d = vx * (vy + std::sqrt(vy * vy + 2 * G * y0)) / G;
        e1 += w * d;
        e2 += w * d * d;
        wsum += w;
    }
    e1 /= wsum;
    double var = e2 / wsum - e1 * e1 + 0.0625, nf = double(flying.size());
    // Euler with dt = 1e-3 shifts the landing by about vx * dt; allow 0.05 m.
    CHECK(std::fabs(m.mean[0] - e1) < 5 * std::sqrt(var / nf) + 0.05);
    CHECK(std::fabs(m.var[0] - var) < 5 * var * std::sqrt(2.0 / nf) + 0.01);
}

TEST_CASE("gaussian_linear: x ~ N(theta, 0.1 I)", "[plugins][statistics]") {
    std::vector<double> theta{0.1, -0.2, 0.3, 0.0, 0.5, -0.5, 0.25, 0.05, -0.1, 0.4};
    const double n = 20000;
    Moments m = column_moments(draws("sbibm.gaussian_linear", theta, uint64_t(n)), 10);
    for (int j = 0; j < 10; ++j) {
        CHECK(std::fabs(m.mean[j] - theta[j]) < 5 * std::sqrt(0.1 / n));
        CHECK(std::fabs(m.var[j] - 0.1) < 5 * 0.1 * std::sqrt(2 / n));
    }
}

TEST_CASE("two_moons: the crescent's moments", "[plugins][statistics]") {
    const double t1 = 0.3, t2 = -0.1, n = 40000, pi = M_PI;
    Moments m = column_moments(draws("sbibm.two_moons", {t1, t2}, uint64_t(n)), 2);
    // E[r cos a] = 0.1 * 2/pi; E[r^2] = 0.01 + 1e-4; E[cos^2 a] = E[sin^2 a] = 1/2.
    double mean0 = 0.2 / pi + 0.25 - std::fabs(t1 + t2) / std::sqrt(2.0), mean1 = (t2 - t1) / std::sqrt(2.0);
    double var0 = 0.0101 * 0.5 - std::pow(0.2 / pi, 2), var1 = 0.0101 * 0.5;
    CHECK(std::fabs(m.mean[0] - mean0) < 5 * std::sqrt(var0 / n));
    CHECK(std::fabs(m.mean[1] - mean1) < 5 * std::sqrt(var1 / n));
    CHECK(std::fabs(m.var[1] - var1) < 5 * var1 * std::sqrt(2 / n) * 1.5);
}

TEST_CASE("slcp: four draws from the 2-D Gaussian", "[plugins][statistics]") {
    const std::vector<double> th{0.7, -2.9, -1.0, -0.9, 0.6};
    const double n = 20000, s1 = 1.0, s2 = 0.81, rho = std::tanh(0.6);
    auto x = draws("sbibm.slcp", th, uint64_t(n));
    Moments m = column_moments(x, 8);
    for (int j = 0; j < 4; ++j) {
        CHECK(std::fabs(m.mean[2 * j] - th[0]) < 5 * std::sqrt(s1 * s1 / n));
        CHECK(std::fabs(m.mean[2 * j + 1] - th[1]) < 5 * std::sqrt(s2 * s2 / n));
        CHECK(std::fabs(m.var[2 * j] - s1 * s1) < 5 * s1 * s1 * std::sqrt(2 / n));
        CHECK(std::fabs(m.var[2 * j + 1] - s2 * s2) < 5 * s2 * s2 * std::sqrt(2 / n));
    }
    double cov = 0;
    for (size_t i = 0; i < size_t(n); ++i) cov += (x[i * 8] - m.mean[0]) * (x[i * 8 + 1] - m.mean[1]) / (n - 1);
    CHECK(std::fabs(cov - rho * s1 * s2) < 5 * std::sqrt((s1 * s1 * s2 * s2 + std::pow(rho * s1 * s2, 2)) / n));
}

TEST_CASE("gaussian_mixture: mean theta, variance (1 + 0.01) / 2", "[plugins][statistics]") {
    const double n = 40000;
    auto x = draws("sbibm.gaussian_mixture", {1.0, -2.0}, uint64_t(n));
    Moments m = column_moments(x, 2);
    CHECK(std::fabs(m.mean[0] - 1.0) < 5 * std::sqrt(0.505 / n));
    CHECK(std::fabs(m.mean[1] + 2.0) < 5 * std::sqrt(0.505 / n));
    // Var of the sample variance: (mu4 - sigma^4) / n, mu4 = 0.5 * 3 * (1 + 1e-4).
    CHECK(std::fabs(m.var[0] - 0.505) < 5 * std::sqrt((1.5 * 1.0001 - 0.505 * 0.505) / n));
    // One component for both coordinates: |x - theta| is small in both or in neither, mostly.
    int both_narrow = 0;
    for (size_t i = 0; i < size_t(n); ++i) both_narrow += std::fabs(x[2 * i] - 1) < 0.3 && std::fabs(x[2 * i + 1] + 2) < 0.3;
    // P = 0.5 * P(|z|<3)^2 + 0.5 * P(|z| < 0.3)^2 = 0.5 * 0.9946 + 0.5 * 0.0555.
    double p = 0.5 * std::pow(0.9973, 2) + 0.5 * std::pow(0.2358, 2);
    CHECK(std::fabs(both_narrow / n - p) < 5 * std::sqrt(p * (1 - p) / n));
}

TEST_CASE("bernoulli_glm: with a zero filter the spike count is Binomial(100, sigmoid(beta0))", "[plugins][statistics]") {
    const double n = 5000, p = 1.0 / (1.0 + std::exp(0.5));
    auto x = draws("sbibm.bernoulli_glm", {-0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint64_t(n));
    Moments m = column_moments(x, 10);
    double var = 100 * p * (1 - p);
    CHECK(std::fabs(m.mean[0] - 100 * p) < 5 * std::sqrt(var / n));
    CHECK(std::fabs(m.var[0] - var) < 5 * var * std::sqrt(2 / n) * 1.2);
}

TEST_CASE("sir: binomial counts around the infected fraction from RK4", "[plugins][statistics]") {
    const double beta = 0.61479264, gamma = 0.19172086, N = 1e6, n = 2000;  // sbibm observation 1's parameters
    Moments m = column_moments(draws("sbibm.sir", {beta, gamma}, uint64_t(n)), 10);
    std::array<double, 3> s{N - 1, 1, 0};
    double t = 0;
    auto rhs = [&](const std::array<double, 3>& y) {
        double inf = beta * y[0] * y[1] / N;
        return std::array<double, 3>{-inf, inf - gamma * y[1], gamma * y[1]};
    };
    for (int i = 0; i < 10; ++i) {
        if (i > 0) {
            s = rk4(s, 17.0, 1e-3, rhs);
            t += 17;
        }
        double p = std::min(1.0, std::max(0.0, s[1] / N));
        INFO("t = " << t);
        CHECK(std::fabs(m.mean[i] - 1000 * p) < 5 * std::sqrt(1000 * p * (1 - p) / n) + 1e-3);
    }
}

TEST_CASE("lotka_volterra: log x is normal around the RK4 trajectory", "[plugins][statistics]") {
    const double a = 0.6859157, b = 0.10761319, g = 0.88789904, d = 0.116794825, n = 2000;  // sbibm observation 1
    Moments m = column_moments(draws("sbibm.lotka_volterra", {a, b, g, d}, uint64_t(n)), 20, [](double v) { return std::log(v); });
    std::array<double, 2> s{30, 1};
    auto rhs = [&](const std::array<double, 2>& y) {
        return std::array<double, 2>{a * y[0] - b * y[0] * y[1], -g * y[1] + d * y[0] * y[1]};
    };
    for (int i = 0; i < 10; ++i) {
        if (i > 0) s = rk4(s, 2.1, 1e-4, rhs);
        INFO("i = " << i);
        CHECK(std::fabs(m.mean[i] - std::log(s[0])) < 5 * 0.1 / std::sqrt(n));
        CHECK(std::fabs(m.mean[10 + i] - std::log(s[1])) < 5 * 0.1 / std::sqrt(n));
        CHECK(std::fabs(m.var[i] - 0.01) < 5 * 0.01 * std::sqrt(2 / n));
    }
}
