// One training step at batch 256 on one thread, at the baseline's architectures
// (../shared/targets.md, section 3): NPE = NSF with 5 transforms, MADE hidden [64, 64], 8 bins on
// [-5, 5]; NRE = MLP [64, 64, 64] on (theta, x). Prints milliseconds per step.
//
// usage: bench_step_speed [steps, default 300]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "neural/neural.hpp"

using namespace simbi::nn;
using Clock = std::chrono::steady_clock;

namespace {
template <class F>
double time_steps(int steps, F step) {
    for (int i = 0; i < 20; ++i) step();  // warm-up
    auto t0 = Clock::now();
    for (int i = 0; i < steps; ++i) step();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / steps;
}

double npe_step(int64_t d, int64_t k, int steps) {
    torch::manual_seed(0);
    json spec = {{"flow", "nsf"}, {"transforms", 5}, {"hidden", {64, 64}}, {"bins", 8}, {"bound", 5.0}};
    ConditionalFlow flow(spec, d, k);
    FlatAdam opt(flow->parameters(), 1e-3);
    Tensor theta = torch::randn({256, d}), x = torch::randn({256, k});
    return time_steps(steps, [&] {
        opt.zero_grad();
        Tensor l = -flow->log_prob(theta, x).mean();
        l.backward();
        opt.clip_grad_norm(5.0);
        opt.step();
    });
}

double nre_step(int64_t d, int64_t k, int steps) {
    torch::manual_seed(0);
    auto net = make_mlp(d + k, {64, 64, 64}, 1);
    FlatAdam opt(net->parameters(), 1e-3);
    Tensor theta = torch::randn({256, d}), x = torch::randn({256, k});
    return time_steps(steps, [&] {
        opt.zero_grad();
        // As simbi.nre: joint and marginal pairs in one batch.
        Tensor both = net->forward(torch::cat({torch::cat({theta, x}, 1), torch::cat({theta.roll(1, 0), x}, 1)}, 0)).squeeze(1);
        Tensor l = 0.5 * (torch::softplus(-both.narrow(0, 0, 256)).mean() + torch::softplus(both.narrow(0, 256, 256)).mean());
        l.backward();
        opt.clip_grad_norm(5.0);
        opt.step();
    });
}
}  // namespace

int main(int argc, char** argv) {
    int steps = argc > 1 ? std::atoi(argv[1]) : 300;
    ThreadScope one(1);
    // Baseline figures: lampe/zuko on torch 1.13.1, one thread (../shared/targets.md).
    std::printf("%-10s %-5s %10s %12s %8s\n", "task", "step", "simbi ms", "baseline ms", "ratio");
    struct Row {
        const char* task;
        int64_t d, k;
        double npe, nre;
    };
    for (Row r : {Row{"two_moons", 2, 2, 19.0, 3.0}, Row{"slcp", 5, 8, 32.0, 3.2}}) {
        double a = npe_step(r.d, r.k, steps), b = nre_step(r.d, r.k, steps);
        std::printf("%-10s %-5s %10.2f %12.1f %8.3f\n", r.task, "NPE", a, r.npe, a / r.npe);
        std::printf("%-10s %-5s %10.2f %12.1f %8.3f\n", r.task, "NRE", b, r.nre, b / r.nre);
    }
    return 0;
}
