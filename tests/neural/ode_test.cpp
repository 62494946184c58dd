// The ODE integrators (neural/ode.hpp) on a field whose solution is known in closed form, and the
// per-observation streams of batched sampling.
// LibTorch pulls in glog, whose CHECK macro would shadow Catch's: include torch first.
#include "neural/ode.hpp"
#undef CHECK
#include <catch2/catch.hpp>
#include <simbi/rng.h>

#include <algorithm>
#include <vector>

using namespace simbi::nn;

namespace {
// dy/dt = -a y cos(t), each row with its own rate a: y(t) = y0 exp(-a sin t).
const Tensor kRate = torch::linspace(0.1, 8.0, 200, torch::kFloat64).unsqueeze(1);
Tensor field(const Tensor& rows, const Tensor& t, const Tensor& y) { return -kRate.index_select(0, rows) * y * torch::cos(t); }
Tensor exact(const Tensor& y0, double t1) { return y0 * torch::exp(-kRate * std::sin(t1)); }
}  // namespace

TEST_CASE("Dormand-Prince meets its tolerance, each row at its own step size", "[neural][ode]") {
    const Tensor y0 = torch::ones({200, 2}, torch::kFloat64);
    for (double t1 : {2.0, -1.5}) {  // forward and backward in time
        int64_t passes_loose = 0;
        for (double tol : {1e-3, 1e-7}) {
            INFO("t1 " << t1 << ", tolerance " << tol);
            const AdaptiveResult r = integrate_dopri5(field, y0, 0.0, t1, tol, tol);
            // Local errors of tol per step add up over the steps: a few tens of tol at most.
            const double err = ((r.y - exact(y0, t1)).abs() / (tol + tol * exact(y0, t1).abs())).max().item<double>();
            CHECK(err < 50);
            CHECK(r.evaluations_per_row <= double(r.passes));
            if (tol == 1e-3) passes_loose = r.passes;
            if (tol < 1e-3) CHECK(r.passes > passes_loose);  // a tighter tolerance takes more steps
        }
        // A row's path does not depend on the rows beside it: alone it ends where it did in the batch.
        const Tensor all = integrate_dopri5(field, y0, 0.0, t1, 1e-4, 1e-4).y;
        const Tensor rows = torch::tensor({7, 150}, torch::kLong);
        const AdaptiveResult two =
            integrate_dopri5([&](const Tensor& r, const Tensor& t, const Tensor& y) { return field(rows.index_select(0, r), t, y); },
                             y0.index_select(0, rows), 0.0, t1, 1e-4, 1e-4);
        CHECK(torch::equal(two.y, all.index_select(0, rows)));
    }
}

TEST_CASE("Runge-Kutta 4 converges at fourth order", "[neural][ode]") {
    const Tensor y0 = torch::ones({200, 1}, torch::kFloat64);
    auto err = [&](int64_t steps) {
        const Tensor all = torch::arange(200, torch::kLong);
        auto f = [&](double t, const Tensor& y) { return field(all, torch::full({200, 1}, t, torch::kFloat64), y); };
        return (integrate_rk4(f, y0, 0.0, 2.0, steps) - exact(y0, 2.0)).abs().max().item<double>();
    };
    // Halving the step divides the error by about 2^4.
    CHECK(err(40) / err(80) == Approx(16).epsilon(0.25));
}

TEST_CASE("draw_for_observations: each observation's inputs, then its noise, come from its own stream", "[neural][ode][batch]") {
    const int64_t L = 30, d = 2;
    const uint64_t seed = 7, stream = 3;
    // theta = input + noise + i: a sampler with one stochastic step, observation i shifted by i.
    auto draw = [&](int64_t n_x) {
        std::vector<double> theta(size_t(n_x * L * d));
        draw_for_observations(
            n_x, L, d, seed, stream, nullptr,
            [&](int64_t m, at::Generator& gen) {
                return std::vector<Tensor>{torch::randn({m, d}, gen, torch::kFloat64)};
            },
            [&](const Tensor& obs, const std::vector<Tensor>& in, const Noise& noise) {
                return in[0] + noise(in[0]) + obs.to(torch::kFloat64).unsqueeze(1);
            },
            theta.data());
        return theta;
    };
    // 300 observations make two blocks of 8,192 / 30 = 273.
    const std::vector<double> many = draw(300), few = draw(5);
    for (int64_t i : {0, 4, 150, 299}) {
        at::Generator gen = make_generator(simbi_rng_mix(seed, uint64_t(i)), stream);
        const int64_t m = L + L / 10 + 8;  // the first round's rows
        const Tensor input = torch::randn({m, d}, gen, torch::kFloat64);
        const Tensor expected = (input + torch::randn({m, d}, gen, torch::kFloat64) + double(i)).narrow(0, 0, L).contiguous();
        const Tensor got = torch::from_blob(const_cast<double*>(many.data()) + i * L * d, {L, d}, torch::kFloat64);
        CHECK(torch::equal(got, expected));
        if (i < 5) CHECK(std::equal(few.begin() + i * L * d, few.begin() + (i + 1) * L * d, many.begin() + i * L * d));
    }
}
