// The monotonic rational-quadratic spline (Durkan et al. 2019, "Neural Spline Flows", eqs. 4-6;
// appendix A for the inverse) as one fused autograd function: the normalization of the raw
// parameters, the bin search, the spline and its log-derivative in one loop per element, and the
// hand-derived gradient in another. This replaces some forty small tensor operations per
// transform, which dominate a training step for small flows.
//
// Per element, with K bins on [-B, B]:
//   w = m + (1 - m K) softmax(raw widths), h likewise, slopes d_0 = d_K = 1 and
//   d_j = m + softplus(raw slope j), knots x_j = -B + 2B sum_{l<j} w_l (heights likewise).
//   In bin k, with W = 2B w_k, H = 2B h_k, s = H / W, t = (x - x_k) / W, tau = t (1 - t):
//     den = s + (d_{k+1} + d_k - 2 s) tau
//     y   = y_k + H (s t^2 + d_k tau) / den
//     log dy/dx = 2 log s + log(d_{k+1} t^2 + 2 s tau + d_k (1 - t)^2) - 2 log den
//   Outside [-B, B] the map is the identity.
#include <cmath>

#include "networks.hpp"

namespace simbi::nn {
namespace {

constexpr double kMin = 1e-3;  // minimum bin width, height and slope

// The normalized spline of one element. Only the two slopes of the bin in use are computed.
struct Knots {
    static constexpr int kMax = 64;
    int K;
    double B;
    double pw[kMax], ph[kMax];          // softmax probabilities of widths and heights
    double xs[kMax + 1], ys[kMax + 1];  // knots

    // From the raw parameters; `probabilities` (2K values: pw then ph), when given, were saved by
    // the forward pass and spare the exponentials.
    void build(const float* raw, int K_, double B_, const float* probabilities = nullptr) {
        K = K_;
        B = B_;
        if (probabilities) {
            for (int j = 0; j < K; ++j) {
                pw[j] = probabilities[j];
                ph[j] = probabilities[K + j];
            }
        } else {
            softmax(raw, pw);
            softmax(raw + K, ph);
        }
        const double scale = 1.0 - kMin * K;
        xs[0] = ys[0] = -B;
        for (int j = 0; j < K; ++j) {
            xs[j + 1] = xs[j] + 2 * B * (kMin + scale * pw[j]);
            ys[j + 1] = ys[j] + 2 * B * (kMin + scale * ph[j]);
        }
        xs[K] = ys[K] = B;
    }
    void softmax(const float* r, double* p) const {
        double mx = r[0], sum = 0;
        for (int j = 1; j < K; ++j) mx = std::max(mx, double(r[j]));
        for (int j = 0; j < K; ++j) sum += (p[j] = std::exp(double(r[j]) - mx));
        for (int j = 0; j < K; ++j) p[j] /= sum;
    }
    int bin(double v, const double* knots) const {
        int k = 0;
        while (k < K - 1 && v >= knots[k + 1]) ++k;
        return k;
    }
    // Slope at knot j: 1 at both ends, m + softplus(raw) inside; `sig` gets d slope / d raw.
    static double slope(const float* raw, int K, int j, double* sig = nullptr) {
        if (j == 0 || j == K) {
            if (sig) *sig = 0;
            return 1.0;
        }
        double r = raw[2 * K + j - 1];
        if (sig) *sig = 1.0 / (1.0 + std::exp(-r));
        return kMin + (r > 20 ? r : std::log1p(std::exp(r)));
    }
};

// probabilities: [n, 2K], filled for the backward pass (rows outside [-B, B] stay unset).
void spline_forward(const Tensor& x, const Tensor& p, int64_t K, double B, Tensor& y, Tensor& logdet, Tensor* probabilities) {
    const int64_t n = x.numel(), P = 3 * K - 1;
    y = torch::empty_like(x);
    logdet = torch::zeros_like(x);
    const float* xp = x.data_ptr<float>();
    const float* pp = p.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    float* lp = logdet.data_ptr<float>();
    float* prob = nullptr;
    if (probabilities) {
        *probabilities = torch::empty({n, 2 * K});
        prob = probabilities->data_ptr<float>();
    }
    Knots kn;
    for (int64_t e = 0; e < n; ++e) {
        double v = xp[e];
        if (!(v >= -B && v <= B)) {
            yp[e] = float(v);
            continue;
        }
        const float* raw = pp + e * P;
        kn.build(raw, int(K), B);
        if (prob)
            for (int j = 0; j < K; ++j) {
                prob[e * 2 * K + j] = float(kn.pw[j]);
                prob[e * 2 * K + K + j] = float(kn.ph[j]);
            }
        int k = kn.bin(v, kn.xs);
        double W = kn.xs[k + 1] - kn.xs[k], H = kn.ys[k + 1] - kn.ys[k], s = H / W;
        double t = (v - kn.xs[k]) / W, tau = t * (1 - t), d0 = Knots::slope(raw, int(K), k), d1 = Knots::slope(raw, int(K), k + 1);
        double den = s + (d1 + d0 - 2 * s) * tau;
        yp[e] = float(kn.ys[k] + H * (s * t * t + d0 * tau) / den);
        double M = d1 * t * t + 2 * s * tau + d0 * (1 - t) * (1 - t);
        lp[e] = float(2 * std::log(s) + std::log(M) - 2 * std::log(den));
    }
}

void spline_backward(const Tensor& x, const Tensor& p, const Tensor& probabilities, int64_t K, double B, const Tensor& gy_in,
                     const Tensor& gl_in, Tensor& gx, Tensor& gp) {
    const int64_t n = x.numel(), P = 3 * K - 1;
    Tensor gy = gy_in.defined() ? gy_in.contiguous() : torch::zeros_like(x);
    Tensor gl = gl_in.defined() ? gl_in.contiguous() : torch::zeros_like(x);
    gx = torch::empty_like(x);
    gp = torch::zeros_like(p);
    const float *xp = x.data_ptr<float>(), *pp = p.data_ptr<float>(), *gyp = gy.data_ptr<float>(), *glp = gl.data_ptr<float>();
    float *gxp = gx.data_ptr<float>(), *gpp = gp.data_ptr<float>();
    const float* prob = probabilities.data_ptr<float>();
    Knots kn;
    double gw[Knots::kMax], gh[Knots::kMax];
    for (int64_t e = 0; e < n; ++e) {
        double v = xp[e];
        if (!(v >= -B && v <= B)) {
            gxp[e] = gyp[e];
            continue;
        }
        const float* raw = pp + e * P;
        kn.build(raw, int(K), B, prob + e * 2 * K);
        int k = kn.bin(v, kn.xs);
        double sig0, sig1;
        double W = kn.xs[k + 1] - kn.xs[k], H = kn.ys[k + 1] - kn.ys[k], s = H / W;
        double t = (v - kn.xs[k]) / W, tau = t * (1 - t), d0 = Knots::slope(raw, int(K), k, &sig0),
               d1 = Knots::slope(raw, int(K), k + 1, &sig1);
        double c = d1 + d0 - 2 * s, den = s + c * tau, N = s * t * t + d0 * tau;
        double M = d1 * t * t + 2 * s * tau + d0 * (1 - t) * (1 - t);
        double g_y = gyp[e], g_l = glp[e];
        // Partial derivatives in the local variables (t, s, H, d0, d1, y_k).
        double den_t = c * (1 - 2 * t), N_t = 2 * s * t + d0 * (1 - 2 * t), M_t = 2 * d1 * t + 2 * s * (1 - 2 * t) - 2 * d0 * (1 - t);
        double den_s = 1 - 2 * tau;
        double g_t = g_y * H * (N_t * den - N * den_t) / (den * den) + g_l * (M_t / M - 2 * den_t / den);
        double g_s = g_y * H * (t * t * den - N * den_s) / (den * den) + g_l * (2 / s + 2 * tau / M - 2 * den_s / den);
        double g_d0 = g_y * H * tau * (den - N) / (den * den) + g_l * ((1 - t) * (1 - t) / M - 2 * tau / den);
        double g_d1 = -g_y * H * N * tau / (den * den) + g_l * (t * t / M - 2 * tau / den);
        double g_H = g_y * N / den + g_s / W;
        double g_yk = g_y;
        // t = (x - x_k) / W and s = H / W.
        gxp[e] = float(g_t / W);
        double g_xk = -g_t / W, g_W = -g_t * t / W - g_s * s / W;
        // Knots from the normalized widths: x_k = -B + 2B sum_{l<k} w_l, W = 2B w_k (heights alike).
        const double scale = 1.0 - kMin * double(K);
        for (int l = 0; l < K; ++l) {
            gw[l] = 2 * B * scale * ((l < k ? g_xk : 0.0) + (l == k ? g_W : 0.0));
            gh[l] = 2 * B * scale * ((l < k ? g_yk : 0.0) + (l == k ? g_H : 0.0));
        }
        // Through the softmaxes: g_raw_j = p_j (g_j - sum_l p_l g_l).
        double dw = 0, dh = 0;
        for (int l = 0; l < K; ++l) {
            dw += kn.pw[l] * gw[l];
            dh += kn.ph[l] * gh[l];
        }
        float* g = gpp + e * P;
        for (int l = 0; l < K; ++l) {
            g[l] = float(kn.pw[l] * (gw[l] - dw));
            g[K + l] = float(kn.ph[l] * (gh[l] - dh));
        }
        // Through the softplus of the inner slopes.
        if (k >= 1) g[2 * K + k - 1] += float(g_d0 * sig0);
        if (k + 1 <= K - 1) g[2 * K + k] += float(g_d1 * sig1);
    }
}

struct SplineFunction : torch::autograd::Function<SplineFunction> {
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const Tensor& x, const Tensor& p, int64_t K,
                                                  double B) {
        Tensor xc = x.contiguous(), pc = p.contiguous(), y, ld, prob;
        spline_forward(xc, pc, K, B, y, ld, &prob);
        ctx->save_for_backward({xc, pc, prob});
        ctx->saved_data["K"] = K;
        ctx->saved_data["B"] = B;
        return {y, ld};
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
        auto saved = ctx->get_saved_variables();
        Tensor gx, gp;
        spline_backward(saved[0], saved[1], saved[2], ctx->saved_data["K"].toInt(), ctx->saved_data["B"].toDouble(), grads[0], grads[1], gx,
                        gp);
        return {gx, gp, Tensor(), Tensor()};
    }
};

}  // namespace

std::pair<Tensor, Tensor> spline_transform(const Tensor& x, const Tensor& params, int64_t K, double B) {
    if (K > Knots::kMax) throw std::invalid_argument("at most 64 spline bins");
    if (x.scalar_type() != torch::kFloat32) throw std::invalid_argument("the fused spline takes float32");
    auto out = SplineFunction::apply(x, params, K, B);
    return {out[0], out[1]};
}

Tensor spline_inverse(const Tensor& y_in, const Tensor& params, int64_t K, double B) {
    // Appendix A: solve the quadratic a t^2 + b t + c = 0 for t in [0, 1].
    Tensor y = y_in.contiguous(), p = params.contiguous(), x = torch::empty_like(y);
    const int64_t n = y.numel(), P = 3 * K - 1;
    const float *yp = y.data_ptr<float>(), *pp = p.data_ptr<float>();
    float* xp = x.data_ptr<float>();
    Knots kn;
    for (int64_t e = 0; e < n; ++e) {
        double v = yp[e];
        if (!(v >= -B && v <= B)) {
            xp[e] = float(v);
            continue;
        }
        const float* raw = pp + e * P;
        kn.build(raw, int(K), B);
        int k = kn.bin(v, kn.ys);
        double W = kn.xs[k + 1] - kn.xs[k], H = kn.ys[k + 1] - kn.ys[k], s = H / W;
        double d0 = Knots::slope(raw, int(K), k), d1 = Knots::slope(raw, int(K), k + 1);
        double dy = v - kn.ys[k], c2 = d1 + d0 - 2 * s;
        double a = H * (s - d0) + dy * c2, b = H * d0 - dy * c2, c = -s * dy;
        double disc = std::max(0.0, b * b - 4 * a * c);
        double t = (2 * c) / (-b - std::sqrt(disc));
        xp[e] = float(t * W + kn.xs[k]);
    }
    return x;
}

}  // namespace simbi::nn
