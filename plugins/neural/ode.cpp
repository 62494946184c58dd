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

}  // namespace simbi::nn
