// Ordinary differential equations over batches of states: the integrator and the divergence that
// flow-matching and score-based estimators share.
#pragma once
#include <functional>

#include "support.hpp"
#include "util.hpp"

namespace simbi::nn {

// dy/dt = f(t, y) from t0 to t1 (either direction) in `steps` classical Runge-Kutta steps.
Tensor integrate_rk4(const std::function<Tensor(double, const Tensor&)>& f, Tensor y, double t0, double t1, int64_t steps);

// dy/dt = f(t, y) from t0 to t1 (either direction) by the Dormand-Prince 5(4) pair (Dormand &
// Prince 1980; Hairer, Norsett & Wanner, Solving ODEs I, table 5.2), each row with its own step
// size, kept where its local error, RMS over its components of err / (atol + rtol |y|), is at
// most 1. f(rows, t, y) evaluates the field at the rows (indices into y0, long) with their own
// times t [r, 1]. Rows that are done drop out of the batch, so a row's path depends on its own
// values only. Returns y(t1) and the number of network passes made
// (batched calls of f); throws when max_passes is reached first.
struct AdaptiveResult {
    Tensor y;
    int64_t passes = 0;
    double evaluations_per_row = 0;  // the field's evaluations per row, on average: the work done
};
AdaptiveResult integrate_dopri5(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& f, const Tensor& y0, double t0,
                                double t1, double rtol, double atol, int64_t max_passes = 10000);

// The divergence sum_i d v_i / d y_i of a field v: R^{B x d} -> R^{B x d} at y, [B]: exact (d
// backward passes) for d <= exact_up_to, else Hutchinson's estimate E[e^T (dv/dy) e] with one
// Rademacher vector e per row drawn from gen (Hutchinson 1989). Gradients are enabled inside.
Tensor divergence(const std::function<Tensor(const Tensor&)>& v, const Tensor& y, int64_t exact_up_to, at::Generator& gen);

// Integrates dy/dt = v(t, y) from t0 to t1 with the divergence of v along the way (the
// instantaneous change of variables, Chen et al. 2018): returns y(t1) and int_t0^t1 div v dt, so
// that log p_t0(y0) = log p_t1(y(t1)) + the integral.
std::pair<Tensor, Tensor> integrate_with_divergence(const std::function<Tensor(double, const Tensor&)>& v, const Tensor& y0, double t0,
                                                    double t1, int64_t steps, int64_t exact_up_to, at::Generator& gen);

// n parameters [n, d] (float64) inside the prior's support: batches of draw(m) (m rows,
// standardized float32) mapped to parameters by to_theta, those outside the support rejected.
// Throws when fewer than 1 in 1000 draws fall inside.
Tensor draw_inside_support(int64_t n, const std::function<Tensor(int64_t)>& draw, const std::function<Tensor(const Tensor&)>& to_theta,
                           const TorchPrior& prior);

// sample_batch for estimators that map random inputs to parameters (flows, ODEs, diffusions): L
// draws [L, d] for each of n_x observations into theta[n_x, L, d], inside the prior's support
// (every draw kept when prior is null). Observation i's randomness comes from its own generator,
// make_generator(mix(seed, i), stream): inputs(m, gen) draws m rows' worth (noise, a mixture's
// members), and the noise that to_theta is handed draws, for a tensor of the round's rows, each
// row's values from its own observation's generator (a stochastic sampler's steps). Blocks of
// observations of about 8,192 rows go through to_theta(obs, inputs, noise) in one call (obs: each
// row's observation index), and those short of L draws inside the support draw again from their
// own generators, in rounds of one call for all of them; so observation i's draws depend on the
// seed, i and x_i only.
void draw_for_observations(int64_t n_x, int64_t L, int64_t d, uint64_t seed, uint64_t stream, const TorchPrior* prior,
                           const std::function<std::vector<Tensor>(int64_t m, at::Generator& gen)>& inputs,
                           const std::function<Tensor(const Tensor& obs, const std::vector<Tensor>& inputs, const Noise& noise)>& to_theta,
                           double* theta);

}  // namespace simbi::nn
