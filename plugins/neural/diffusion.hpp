// The diffusions of score-based models (Song et al. 2021, "Score-Based Generative Modeling through
// Stochastic Differential Equations"), shared by NPSE and SDA. Standardized data theta_0 diffuse
// by d theta = f(theta, t) dt + g(t) dW, t in [0, 1]:
//   VP: f = -beta(t) theta / 2, g^2 = beta(t), beta(t) = b_min + t (b_max - b_min),
//       theta_t | theta_0 ~ N(m(t) theta_0, s(t)^2), m = exp(-t^2 (b_max - b_min) / 4 - t b_min / 2),
//       s^2 = 1 - m^2                                                        (eq. 11, 29)
//   VE: f = 0, s(t) = s_min (s_max / s_min)^t, g^2 = d s^2 / dt, m = 1       (eq. 9, 30)
#pragma once
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "util.hpp"

namespace simbi::nn {

struct Diffusion {
    static constexpr double kBetaMin = 0.1, kBetaMax = 20.0;  // VP, as Song et al.
    static constexpr double kSigmaMin = 0.01;                 // VE; s_max is a setting
    bool vp = true;
    double sigma_max = 10.0;
    // The smallest time sampled and integrated to: s(t_eps) is about 0.01 for both.
    double t_eps() const { return vp ? 1e-3 : 1e-5; }
    double mean(double t) const { return vp ? std::exp(-0.25 * t * t * (kBetaMax - kBetaMin) - 0.5 * t * kBetaMin) : 1.0; }
    double std(double t) const {
        if (!vp) return kSigmaMin * std::pow(sigma_max / kSigmaMin, t);
        const double m = mean(t);
        return std::sqrt(std::max(1.0 - m * m, 1e-12));
    }
    double beta(double t) const { return kBetaMin + t * (kBetaMax - kBetaMin); }
    double g2(double t) const { return vp ? beta(t) : 2 * std::pow(std(t), 2) * std::log(sigma_max / kSigmaMin); }
    Tensor drift(double t, const Tensor& y) const { return vp ? -0.5 * beta(t) * y : torch::zeros_like(y); }
    // The marginal's scale at t = 1 for unit-variance data: where samplers start.
    double end_std() const { return std::sqrt(mean(1) * mean(1) + std(1) * std(1)); }
    // The log signal-to-noise ratio log(m^2 / s^2), decreasing in t.
    double log_snr(double t) const { return 2 * (std::log(mean(t)) - std::log(std(t))); }
    // Its inverse on a column of log SNRs [B, 1], in closed form, within [t_eps, 1]: VP solves
    // t^2 (b_max - b_min) / 2 + t b_min = -log m^2 = softplus(-lambda); VE, log s = -lambda / 2.
    Tensor time_at_log_snr(const Tensor& lambda) const {
        const double db = kBetaMax - kBetaMin;
        const Tensor t = vp ? (torch::sqrt(kBetaMin * kBetaMin + 2 * db * torch::softplus(-lambda)) - kBetaMin) / db
                            : (-0.5 * lambda - std::log(kSigmaMin)) / std::log(sigma_max / kSigmaMin);
        return t.clamp(t_eps(), 1.0);
    }
    double time_at_log_snr(double lambda) const { return time_at_log_snr(torch::full({1}, lambda, torch::kFloat64)).item<double>(); }
    // Times [rows, 1] for denoising score matching. "uniform" in t leaves few draws at small noise
    // (VP: s(t) < 0.1 for 3% of t), finer than a narrow posterior or a chain's one-step noise;
    // "log_snr", even in log SNR, trains every noise scale from s(1) down to s(t_eps) as often, but
    // gives the middle scales, where a wide distribution's shape is made, fewer draws; "mixed": half
    // of each.
    static void check_time_sampling(const std::string& mode) {
        if (mode != "mixed" && mode != "log_snr" && mode != "uniform")
            throw std::invalid_argument("time_sampling must be mixed, log_snr or uniform, not '" + mode + "'");
    }
    Tensor training_times(int64_t rows, const std::string& mode, const torch::TensorOptions& options = {}) const {
        check_time_sampling(mode);
        const Tensor u = torch::rand({rows, 1}, options);
        const Tensor even_t = t_eps() + (1 - t_eps()) * u;
        if (mode == "uniform") return even_t;
        const double l1 = log_snr(1.0), l0 = log_snr(t_eps());
        const Tensor even_snr = time_at_log_snr(l1 + (l0 - l1) * u);
        if (mode == "log_snr") return even_snr;
        return torch::where(torch::rand({rows, 1}, options) < 0.5, even_t, even_snr);
    }
    // m(t) and s(t) for a column of times [B, 1].
    std::pair<Tensor, Tensor> mean_std(const Tensor& t) const {
        if (vp) {
            const Tensor m = torch::exp(-0.25 * t.pow(2) * (kBetaMax - kBetaMin) - 0.5 * t * kBetaMin);
            return {m, torch::sqrt(torch::clamp_min(1 - m.pow(2), 1e-12))};
        }
        return {torch::ones_like(t), kSigmaMin * torch::pow(sigma_max / kSigmaMin, t)};
    }
};

// The reverse SDE d x = (f - g^2 score) dt + g dW from t = 1 to t_eps by Euler-Maruyama, each
// step followed by `corrections` Langevin steps at t - h whose size is set by the signal-to-noise
// ratio of the batch's mean norms (Song et al. 2021, Algorithms 2-5, as their implementation: one
// row's ratio is wild in low dimension); returns Tweedie's denoised mean at t_eps. x: [B, ...],
// score(t, x) of x's shape.
inline Tensor reverse_sde(const Diffusion& dif, Tensor x, const std::function<Tensor(double, const Tensor&)>& score, int64_t steps,
                          int64_t corrections, double snr, const Noise& noise) {
    const double h = (1.0 - dif.t_eps()) / double(steps);
    const int64_t b = x.size(0);
    for (int64_t i = 0; i < steps; ++i) {
        const double t = 1.0 - double(i) * h;
        x = x - h * (dif.drift(t, x) - dif.g2(t) * score(t, x)) + std::sqrt(dif.g2(t) * h) * noise(x);
        for (int64_t c = 0; c < corrections; ++c) {
            const Tensor s = score(t - h, x), z = noise(x);
            const double ratio = snr * z.reshape({b, -1}).norm(2, 1).mean().item<double>() /
                                 std::max(s.reshape({b, -1}).norm(2, 1).mean().item<double>(), 1e-12);
            const double step = 2 * ratio * ratio;
            x = x + step * s + std::sqrt(2 * step) * z;
        }
    }
    const double te = dif.t_eps();
    return (x + std::pow(dif.std(te), 2) * score(te, x)) / dif.mean(te);
}

// The probability-flow ODE by the exponential integrator in its data-prediction form, second-order
// multistep (DPM-Solver++(2M), Lu et al. 2022, "DPM-Solver++", Algorithm 2; its first step is
// DDIM's), from t = 1 to t_eps in `steps` steps evenly spaced in lambda = log(m / s), so that the
// ratio of successive steps is 1:
//   x <- (s' / s) x + (m' - m s' / s) D,   D = 3/2 x0 - 1/2 x0_prev,
// x0 = (x + s^2 score) / m Tweedie's denoised mean. With eta > 0 the step draws from the
// stochastic sampler's family between that ODE (eta = 0) and the reverse SDE (eta = 1, DDPM's
// ancestral step q(x' | x, x0); SDE-DPM-Solver++(2M), Lu et al. 2022, eq. 9), h = lambda' - lambda:
//   x <- (s' / s) e^{-eta h} x + m' (1 - e^{-(1 + eta) h}) D + s' sqrt(1 - e^{-2 eta h}) z.
// Each step is followed by `corrections` Langevin steps x <- x + d score + sqrt(2 d) z at the new
// time, d = tau / mean(score^2) over each row (Rozet & Louppe 2023, Algorithm 4: for rows of many
// entries, as trajectories; one entry's ratio is wild). Returns Tweedie's denoised mean at t_eps.
inline Tensor reverse_exponential(const Diffusion& dif, Tensor x, const std::function<Tensor(double, const Tensor&)>& score, int64_t steps,
                                  int64_t corrections, double tau, const Noise& noise, double eta = 0) {
    const int64_t b = x.size(0);
    std::vector<int64_t> row_shape(size_t(x.dim()), 1);
    row_shape[0] = b;
    auto denoised = [&](double t, const Tensor& y) { return (y + std::pow(dif.std(t), 2) * score(t, y)) / dif.mean(t); };
    const double l1 = dif.log_snr(1.0), l0 = dif.log_snr(dif.t_eps());
    double t = 1.0;
    Tensor x0_prev;
    for (int64_t i = 1; i <= steps; ++i) {
        const double next = i == steps ? dif.t_eps() : dif.time_at_log_snr(l1 + (l0 - l1) * double(i) / double(steps));
        const double h = 0.5 * (dif.log_snr(next) - dif.log_snr(t));
        const Tensor x0 = denoised(t, x);
        const Tensor d = x0_prev.defined() ? 1.5 * x0 - 0.5 * x0_prev : x0;
        x = dif.std(next) / dif.std(t) * std::exp(-eta * h) * x - dif.mean(next) * std::expm1(-(1 + eta) * h) * d;
        if (eta > 0) x = x + dif.std(next) * std::sqrt(-std::expm1(-2 * eta * h)) * noise(x);
        x0_prev = x0;
        t = next;
        for (int64_t c = 0; c < corrections; ++c) {
            const Tensor s = score(t, x), z = noise(x);
            const Tensor step = (tau / s.reshape({b, -1}).pow(2).mean(1).clamp_min(1e-12)).view(row_shape);
            x = x + step * s + torch::sqrt(2 * step) * z;
        }
    }
    return denoised(t, x);
}

}  // namespace simbi::nn
