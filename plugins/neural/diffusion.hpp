// The diffusions of score-based models (Song et al. 2021, "Score-Based Generative Modeling through
// Stochastic Differential Equations"), shared by NPSE and SDA. Standardized data theta_0 diffuse
// by d theta = f(theta, t) dt + g(t) dW, t in [0, 1]:
//   VP: f = -beta(t) theta / 2, g^2 = beta(t), beta(t) = b_min + t (b_max - b_min),
//       theta_t | theta_0 ~ N(m(t) theta_0, s(t)^2), m = exp(-t^2 (b_max - b_min) / 4 - t b_min / 2),
//       s^2 = 1 - m^2                                                        (eq. 11, 29)
//   VE: f = 0, s(t) = s_min (s_max / s_min)^t, g^2 = d s^2 / dt, m = 1       (eq. 9, 30)
#pragma once
#include <cmath>

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
    // m(t) and s(t) for a column of times [B, 1].
    std::pair<Tensor, Tensor> mean_std(const Tensor& t) const {
        if (vp) {
            const Tensor m = torch::exp(-0.25 * t.pow(2) * (kBetaMax - kBetaMin) - 0.5 * t * kBetaMin);
            return {m, torch::sqrt(torch::clamp_min(1 - m.pow(2), 1e-12))};
        }
        return {torch::ones_like(t), kSigmaMin * torch::pow(sigma_max / kSigmaMin, t)};
    }
};

}  // namespace simbi::nn
