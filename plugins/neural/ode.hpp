// Ordinary differential equations over batches of states: the integrator and the divergence that
// flow-matching and score-based estimators share.
#pragma once
#include <functional>

#include "util.hpp"

namespace simbi::nn {

// dy/dt = f(t, y) from t0 to t1 (either direction) in `steps` classical Runge-Kutta steps.
Tensor integrate_rk4(const std::function<Tensor(double, const Tensor&)>& f, Tensor y, double t0, double t1, int64_t steps);

// The divergence sum_i d v_i / d y_i of a field v: R^{B x d} -> R^{B x d} at y, [B]: exact (d
// backward passes) for d <= exact_up_to, else Hutchinson's estimate E[e^T (dv/dy) e] with one
// Rademacher vector e per row drawn from gen (Hutchinson 1989). Gradients are enabled inside.
Tensor divergence(const std::function<Tensor(const Tensor&)>& v, const Tensor& y, int64_t exact_up_to, at::Generator& gen);

}  // namespace simbi::nn
