// The shared ODE pieces (ode.hpp).
#include "ode.hpp"

#include <cmath>
#include <simbi/rng.h>
#include <string>

namespace simbi::nn {

Tensor integrate_rk4(const std::function<Tensor(double, const Tensor&)>& f, Tensor y, double t0, double t1, int64_t steps) {
    const double h = (t1 - t0) / double(steps);
    for (int64_t i = 0; i < steps; ++i) {
        const double t = t0 + double(i) * h;
        const Tensor k1 = f(t, y);
        const Tensor k2 = f(t + h / 2, y + (h / 2) * k1);
        const Tensor k3 = f(t + h / 2, y + (h / 2) * k2);
        const Tensor k4 = f(t + h, y + h * k3);
        y = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    return y;
}

AdaptiveResult integrate_dopri5(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& f, const Tensor& y0, double t0,
                                double t1, double rtol, double atol, int64_t max_passes) {
    // Butcher tableau of DOPRI5: nodes c, stages a, 5th-order weights b (the 7th stage is
    // y_{n+1}: first same as last), and e = b - b*, the 4th-order embedded pair's difference.
    static const double c[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
    static const double a[7][6] = {{},
                                   {1.0 / 5},
                                   {3.0 / 40, 9.0 / 40},
                                   {44.0 / 45, -56.0 / 15, 32.0 / 9},
                                   {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
                                   {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
                                   {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
    static const double e[7] = {71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40};
    const double span = std::fabs(t1 - t0), dir = t1 > t0 ? 1.0 : -1.0;
    const int64_t m = y0.size(0);
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    Tensor y = y0.clone();
    Tensor done = torch::zeros({m}, f64);          // |t - t0| reached by each row
    Tensor h = torch::full({m}, 0.1 * span, f64);  // each row's next step size
    AdaptiveResult r;
    Tensor active = torch::arange(m, torch::kLong);
    Tensor k1 = f(active, torch::full({m, 1}, t0, y0.options()), y);
    r.passes = 1;
    int64_t row_evaluations = m;
    while (active.numel() > 0) {
        if (r.passes + 6 > max_passes)
            throw std::runtime_error("the adaptive ODE solver needed more than " + std::to_string(max_passes) + " network passes");
        const Tensor ya = y.index_select(0, active), ka = k1.index_select(0, active);
        const Tensor da = done.index_select(0, active);
        const Tensor ha = torch::minimum(h.index_select(0, active), span - da);
        const Tensor t = (t0 + dir * da).unsqueeze(1).to(y.scalar_type());
        const Tensor hd = (dir * ha).unsqueeze(1).to(y.scalar_type());
        Tensor k[7];
        k[0] = ka;
        for (int s = 1; s < 7; ++s) {
            Tensor incr = a[s][0] * k[0];
            for (int j = 1; j < s; ++j)
                if (a[s][j] != 0) incr = incr + a[s][j] * k[j];
            k[s] = f(active, t + c[s] * hd, ya + hd * incr);
        }
        r.passes += 6;
        row_evaluations += 6 * active.numel();
        Tensor y5 = ya + hd * (a[6][0] * k[0] + a[6][2] * k[2] + a[6][3] * k[3] + a[6][4] * k[4] + a[6][5] * k[5]);
        Tensor err = e[0] * k[0];
        for (int s = 2; s < 7; ++s) err = err + e[s] * k[s];
        const Tensor scale = atol + rtol * torch::maximum(ya.abs(), y5.abs());
        const Tensor ratio = ((hd * err) / scale).pow(2).mean(1).sqrt().to(torch::kFloat64);  // [ma]
        const Tensor ok = ratio <= 1;
        const Tensor accepted = active.index({ok});
        y.index_copy_(0, accepted, y5.index({ok}));
        k1.index_copy_(0, accepted, k[6].index({ok}));
        done.index_copy_(0, accepted, (da + ha).index({ok}));
        // The standard controller: h * 0.9 ratio^(-1/5), within [0.2, 5] times the step.
        const Tensor factor = (0.9 * ratio.clamp_min(1e-10).pow(-0.2)).clamp(0.2, 5.0);
        h.index_copy_(0, active, ha * factor);
        const Tensor left = done.index_select(0, active) < span * (1 - 1e-12);
        active = active.index({left});
    }
    r.y = y;
    r.evaluations_per_row = double(row_evaluations) / double(std::max<int64_t>(m, 1));
    return r;
}

Tensor divergence(const std::function<Tensor(const Tensor&)>& v, const Tensor& y_in, int64_t exact_up_to, at::Generator& gen) {
    torch::AutoGradMode grad(true);
    Tensor y = y_in.detach().requires_grad_(true);
    Tensor out = v(y);
    const int64_t d = y.size(1);
    if (d <= exact_up_to) {
        Tensor div = torch::zeros({y.size(0)}, y.options().requires_grad(false));
        for (int64_t i = 0; i < d; ++i) {
            Tensor g = torch::autograd::grad({out.select(1, i).sum()}, {y}, {}, /*retain_graph=*/i + 1 < d)[0];
            div = div + g.select(1, i).detach();
        }
        return div;
    }
    const Tensor e = torch::randint(0, 2, y.sizes(), gen, y.options().requires_grad(false)) * 2 - 1;
    Tensor g = torch::autograd::grad({(out * e).sum()}, {y})[0];
    return (g * e).sum(1).detach();
}

std::pair<Tensor, Tensor> integrate_with_divergence(const std::function<Tensor(double, const Tensor&)>& v, const Tensor& y0, double t0,
                                                    double t1, int64_t steps, int64_t exact_up_to, at::Generator& gen) {
    const int64_t d = y0.size(1);
    auto f = [&](double t, const Tensor& state) {
        const Tensor y = state.narrow(1, 0, d);
        auto field = [&](const Tensor& yy) { return v(t, yy); };
        return torch::cat({field(y), divergence(field, y, exact_up_to, gen).unsqueeze(1)}, 1);
    };
    const Tensor state = integrate_rk4(f, torch::cat({y0, torch::zeros({y0.size(0), 1}, y0.options())}, 1), t0, t1, steps);
    return {state.narrow(1, 0, d), state.select(1, d)};
}

Tensor draw_inside_support(int64_t n, const std::function<Tensor(int64_t)>& draw, const std::function<Tensor(const Tensor&)>& to_theta,
                           const TorchPrior& prior) {
    std::vector<Tensor> kept;
    int64_t have = 0, drawn = 0;
    const int64_t budget = 1000 * n + 100000;
    while (have < n) {
        const int64_t m = std::min<int64_t>(65536, std::max<int64_t>(n - have, 1024));
        Tensor t = to_theta(draw(m)).to(torch::kFloat64);
        drawn += m;
        t = t.index({torch::isfinite(prior.log_prob(t))});
        kept.push_back(t);
        have += t.size(0);
        if (drawn > budget) throw std::runtime_error("fewer than 1 in 1000 draws fall inside the prior's support");
    }
    return torch::cat(kept, 0).narrow(0, 0, n);
}

void draw_for_observations(int64_t n_x, int64_t L, int64_t d, uint64_t seed, uint64_t stream, const TorchPrior* prior,
                           const std::function<std::vector<Tensor>(int64_t m, at::Generator& gen)>& inputs,
                           const std::function<Tensor(const Tensor& obs, const std::vector<Tensor>& inputs, const Noise& noise)>& to_theta,
                           double* theta) {
    const int64_t per_block = std::max<int64_t>(1, 8192 / L);
    for (int64_t first = 0; first < n_x; first += per_block) {
        const int64_t count = std::min<int64_t>(per_block, n_x - first);
        std::vector<at::Generator> gens;
        for (int64_t i = 0; i < count; ++i) gens.push_back(make_generator(simbi_rng_mix(seed, uint64_t(first + i)), stream));
        std::vector<std::vector<Tensor>> kept(static_cast<size_t>(count));
        std::vector<int64_t> have(static_cast<size_t>(count), 0), tried(static_cast<size_t>(count), 0);
        for (bool first_round = true;; first_round = false) {
            std::vector<int64_t> who, sizes;
            std::vector<std::vector<Tensor>> parts;  // per input, per observation drawing this round
            for (int64_t i = 0; i < count; ++i) {
                const int64_t missing = L - have[size_t(i)];
                if (missing <= 0) continue;
                if (tried[size_t(i)] > 1000 * L + 100000)
                    throw std::runtime_error("fewer than 1 in 1000 draws fall inside the prior's support");
                // A tenth more than needed, so that a few rejections rarely cost another round.
                const int64_t m = first_round ? L + L / 10 + 8 : std::max<int64_t>(2 * missing, 64);
                const std::vector<Tensor> drawn = inputs(m, gens[size_t(i)]);
                parts.resize(drawn.size());
                for (size_t j = 0; j < drawn.size(); ++j) parts[j].push_back(drawn[j]);
                who.push_back(first + i);
                sizes.push_back(m);
                tried[size_t(i)] += m;
            }
            if (who.empty()) break;
            std::vector<Tensor> joined;
            for (const auto& p : parts) joined.push_back(torch::cat(p));
            const Tensor obs = torch::tensor(who, torch::kLong).repeat_interleave(torch::tensor(sizes, torch::kLong));
            // Each observation's rows, in order, from that observation's generator.
            const Noise noise = [&](const Tensor& like) {
                if (like.size(0) != obs.size(0)) throw std::logic_error("draw_for_observations: noise for a batch of another size");
                std::vector<int64_t> shape(like.sizes().begin(), like.sizes().end());
                std::vector<Tensor> rows;
                for (size_t j = 0; j < who.size(); ++j) {
                    shape[0] = sizes[j];
                    rows.push_back(torch::randn(shape, gens[size_t(who[j] - first)], like.options()));
                }
                return torch::cat(rows);
            };
            const Tensor t = to_theta(obs, joined, noise);
            const Tensor inside = prior ? torch::isfinite(prior->log_prob(t)) : torch::ones({t.size(0)}, torch::kBool);
            int64_t offset = 0;
            for (size_t j = 0; j < who.size(); ++j) {
                const Tensor part = t.narrow(0, offset, sizes[j]).index({inside.narrow(0, offset, sizes[j])});
                offset += sizes[j];
                kept[size_t(who[j] - first)].push_back(part);
                have[size_t(who[j] - first)] += part.size(0);
            }
        }
        for (int64_t i = 0; i < count; ++i)
            from_tensor(torch::cat(kept[size_t(i)], 0).narrow(0, 0, L).contiguous(), theta + (first + i) * L * d);
    }
}

}  // namespace simbi::nn
