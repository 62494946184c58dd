// The Lorenz-63 system (Lorenz 1963, "Deterministic Nonperiodic Flow"), stepped as in score-based
// data assimilation (Rozet & Louppe 2023): one classical Runge-Kutta step of length dt, then
// Gaussian process noise,
//   dx/dt = sigma (y - x),  dy/dt = x (rho - z) - y,  dz/dt = x y - beta z,
//   s_{i+1} = RK4(s_i, dt) + noise * N(0, I_3).
// Header-only and torch-free: the simulator plugin, the SDA sample and the particle-filter
// reference in bench/ step the same system.
#pragma once
#include <array>

namespace simbi::lorenz63 {

using State = std::array<double, 3>;

struct Parameters {
    double sigma = 10.0, rho = 28.0, beta = 8.0 / 3.0, dt = 0.025;
};

inline State derivative(const State& s, const Parameters& p) {
    return {p.sigma * (s[1] - s[0]), s[0] * (p.rho - s[2]) - s[1], s[0] * s[1] - p.beta * s[2]};
}

// One deterministic Runge-Kutta 4 step; the caller adds the process noise.
inline State rk4_step(const State& s, const Parameters& p) {
    auto add = [](const State& a, const State& b, double h) { return State{a[0] + h * b[0], a[1] + h * b[1], a[2] + h * b[2]}; };
    const double h = p.dt;
    const State k1 = derivative(s, p), k2 = derivative(add(s, k1, h / 2), p), k3 = derivative(add(s, k2, h / 2), p),
                k4 = derivative(add(s, k3, h), p);
    State out;
    for (int i = 0; i < 3; ++i) out[i] = s[i] + h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    return out;
}

}  // namespace simbi::lorenz63
