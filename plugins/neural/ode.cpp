// The shared ODE pieces (ode.hpp).
#include "ode.hpp"

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

}  // namespace simbi::nn
