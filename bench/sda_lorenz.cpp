// Score-based data assimilation on Lorenz-63 (Rozet & Louppe 2023, section 5.1): a score network
// over windows of 2k + 1 states (k = 2 unless set), trained on simulated trajectories, assimilates one trajectory
// of 1024 states from two kinds of observations of its first component,
//   sparse: every 8th state, noise sigma = 0.05;     dense: every state, sigma = 0.25,
// sigma in the paper's standardized units (its first component divided by 8), so 0.4 and 2.0 here,
// with SDA's likelihood score and with DPS's guidance (Chung et al. 2023). The reference is a
// bootstrap particle filter (Gordon et al. 1993) with 16,384 particles, its smoothing marginals
// from the particles' ancestral paths (Kitagawa 1996). Prints the RMSE of each posterior mean to
// the true trajectory and the 1-Wasserstein distance of per-time, per-component marginals to the
// particle filter's, averaged over times and components.
// Also prints, for each posterior, the RMSE per component, the mean posterior sd, and the RMS of
// the one-step residual s_{i+1} - RK4(s_i) (the process noise along true trajectories).
// usage: bench_sda [training_trajectories 256] [posterior_samples 8] [epochs 40] [steps 128]
//                  [samplers "sde:4,ddim:4", each name:corrections[:eta[:gamma]]]
//                  [time_sampling=mixed|log_snr|uniform] [dps=1|0] [process_noise=0.1] [k=2]
//                  [network=mlp|residual] [hidden=256x3] [batch=1024] [lr=0.001] [weight_decay=0] [linear_decay=0|1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "simulators/lorenz63/lorenz63.hpp"
#include "neural/sda.hpp"

using namespace simbi::nn;
using simbi::lorenz63::State;

namespace {

double process_noise = 0.1;  // per component and step; SDA's own chain uses sqrt(dt) = 0.158
constexpr int64_t kLength = 1024, kParticles = 16384;

struct Chain {
    simbi::lorenz63::Parameters p;
    std::mt19937_64 rng;
    std::normal_distribution<double> normal{0, 1};
    explicit Chain(uint64_t seed) : rng(seed) {}
    State start() {  // onto the attractor: 256 steps from near (1, 1, 25)
        State s{1 + normal(rng), 1 + normal(rng), 25 + normal(rng)};
        for (int i = 0; i < 256; ++i) s = step(s);
        return s;
    }
    State step(const State& s) {
        State n = simbi::lorenz63::rk4_step(s, p);
        for (double& v : n) v += process_noise * normal(rng);
        return n;
    }
    std::vector<State> trajectory(int64_t length) {
        std::vector<State> out{start()};
        while (int64_t(out.size()) < length) out.push_back(step(out.back()));
        return out;
    }
};

Tensor to_tensor(const std::vector<State>& states) {
    Tensor t = torch::empty({int64_t(states.size()), 3}, torch::kFloat64);
    auto a = t.accessor<double, 2>();
    for (size_t i = 0; i < states.size(); ++i)
        for (int j = 0; j < 3; ++j) a[int64_t(i)][j] = states[i][size_t(j)];
    return t;
}

struct Setting {
    const char* name;
    int64_t every;
    double sigma;
};

// Bootstrap particle filter; returns the particles' ancestral paths [P, L, 3] (equal weights
// after the last resampling) as the smoothing sample.
Tensor particle_filter(const std::vector<double>& y, const Setting& s, uint64_t seed) {
    Chain chain(seed);
    std::vector<std::vector<State>> paths(kParticles);
    std::vector<State> now(kParticles);
    for (auto& p : now) p = chain.start();
    std::vector<int32_t> ancestors(size_t(kParticles * kLength));
    std::vector<State> history(size_t(kParticles * kLength));
    std::vector<double> w(kParticles);
    std::uniform_real_distribution<double> uniform(0, 1);
    size_t obs = 0;
    for (int64_t t = 0; t < kLength; ++t) {
        if (t > 0)
            for (auto& p : now) p = chain.step(p);
        for (int64_t i = 0; i < kParticles; ++i) history[size_t(t * kParticles + i)] = now[size_t(i)];
        for (int64_t i = 0; i < kParticles; ++i) ancestors[size_t(t * kParticles + i)] = int32_t(i);
        if (t % s.every != 0) continue;
        double top = -1e300;
        for (int64_t i = 0; i < kParticles; ++i) {
            const double r = (y[obs] - now[size_t(i)][0]) / s.sigma;
            w[size_t(i)] = -0.5 * r * r;
            top = std::max(top, w[size_t(i)]);
        }
        double total = 0;
        for (double& v : w) total += (v = std::exp(v - top));
        // Systematic resampling.
        const double u = uniform(chain.rng) / double(kParticles);
        double cum = 0;
        int64_t j = 0;
        std::vector<State> next(kParticles);
        for (int64_t i = 0; i < kParticles; ++i) {
            const double target = u + double(i) / double(kParticles);
            while (j < kParticles - 1 && cum + w[size_t(j)] / total < target) cum += w[size_t(j++)] / total;
            next[size_t(i)] = now[size_t(j)];
            ancestors[size_t(t * kParticles + i)] = int32_t(j);
        }
        // The resampled particles replace the stored ones at this time.
        for (int64_t i = 0; i < kParticles; ++i) history[size_t(t * kParticles + i)] = next[size_t(i)];
        now = next;
        ++obs;
    }
    // Trace each final particle back through its ancestors.
    Tensor out = torch::empty({kParticles, kLength, 3}, torch::kFloat32);
    auto a = out.accessor<float, 3>();
    for (int64_t i = 0; i < kParticles; ++i) {
        int64_t k = i;
        for (int64_t t = kLength - 1; t >= 0; --t) {
            const State& st = history[size_t(t * kParticles + k)];
            for (int c = 0; c < 3; ++c) a[i][t][c] = float(st[size_t(c)]);
            k = ancestors[size_t(t * kParticles + k)];  // its parent among the particles kept at t - 1
        }
    }
    return out;
}

// The mean over times and components of W1 between two samples' marginals [N, L, 3] and [M, L, 3].
double mean_w1(const Tensor& a, const Tensor& b) {
    // W1 = int_0^1 |F_a^-1(q) - F_b^-1(q)| dq, on a grid of quantiles of the sorted samples.
    const int64_t grid = 256;
    auto quantiles = [&](const Tensor& x) {
        const Tensor at = ((torch::arange(grid, torch::kFloat64) + 0.5) / double(grid) * double(x.size(0))).floor().to(torch::kLong);
        return std::get<0>(x.sort(0)).index_select(0, at);
    };
    return (quantiles(a) - quantiles(b)).abs().mean().item<double>();
}

}  // namespace

int main(int argc, char** argv) {
    const int64_t trajectories = argc > 1 ? std::atol(argv[1]) : 256, samples = argc > 2 ? std::atol(argv[2]) : 8,
                  epochs = argc > 3 ? std::atol(argv[3]) : 40, steps = argc > 4 ? std::atol(argv[4]) : 128;
    // Samplers as "name:corrections[:eta[:gamma]],...": sde (reverse SDE) or ddim (exponential
    // integrator), with ddim's eta and the likelihood score's gamma (SdaSettings).
    struct Variant {
        std::string sampler;
        int64_t corrections;
        double eta, gamma;
    };
    std::vector<Variant> variants;
    {
        std::string list = argc > 5 ? argv[5] : "sde:4,ddim:4";
        for (size_t start = 0; start < list.size();) {
            const size_t comma = std::min(list.find(',', start), list.size()), colon = list.find(':', start);
            if (colon == std::string::npos || colon > comma) {
                std::fprintf(stderr, "bench_sda: a sampler is name:corrections, not '%s'\n", list.substr(start, comma - start).c_str());
                return 2;
            }
            std::vector<std::string> fields;
            const std::string rest = list.substr(colon + 1, comma - colon - 1);
            for (size_t f = 0; f <= rest.size();) {
                const size_t end = std::min(rest.find(':', f), rest.size());
                fields.push_back(rest.substr(f, end - f));
                f = end + 1;
            }
            variants.push_back({list.substr(start, colon - start), std::atol(fields[0].c_str()),
                                fields.size() > 1 ? std::atof(fields[1].c_str()) : 0.0,
                                fields.size() > 2 ? std::atof(fields[2].c_str()) : SdaSettings().gamma});
            start = comma + 1;
        }
    }
    torch::set_num_threads(2);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    using Clock = std::chrono::steady_clock;
    SdaSettings settings;
    settings.steps = steps;
    bool with_dps = true;
    int64_t batch = 1024;
    double learning_rate = 1e-3;
    for (int i = 6; i < argc; ++i) {  // key=value
        const std::string arg = argv[i];
        const size_t eq = arg.find('=');
        const std::string key = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
        if (key == "time_sampling")
            settings.time_sampling = value;
        else if (key == "dps")
            with_dps = value != "0";
        else if (key == "network")
            settings.network = value;
        else if (key == "k")
            settings.k = std::max<int64_t>(1, std::atol(value.c_str()));
        else if (key == "hidden") {  // widths as 256x3 (three of 256)
            const size_t x = value.find('x');
            settings.hidden.assign(x == std::string::npos ? 1 : size_t(std::atol(value.c_str() + x + 1)), std::atol(value.c_str()));
        } else if (key == "batch")
            batch = std::atol(value.c_str());
        else if (key == "lr")
            learning_rate = std::atof(value.c_str());
        else if (key == "weight_decay")
            settings.weight_decay = std::atof(value.c_str());
        else if (key == "linear_decay")
            settings.linear_decay = value != "0";
        else if (key == "process_noise") {
            process_noise = std::atof(value.c_str());
            if (!(process_noise >= 0)) {
                std::fprintf(stderr, "bench_sda: process_noise must be >= 0, not '%s'\n", value.c_str());
                return 2;
            }
        } else {
            std::fprintf(stderr,
                         "bench_sda: unknown option '%s' (time_sampling=, dps=0|1, process_noise=, k=2, network=mlp|residual, "
                         "hidden=256x3, batch=, lr=, weight_decay=, linear_decay=0|1)\n",
                         arg.c_str());
            return 2;
        }
    }
    Chain chain(1);
    // Training windows of 2k + 1 states from trajectories of the chain.
    std::vector<Tensor> windows;
    for (int64_t i = 0; i < trajectories; ++i)
        windows.push_back(to_tensor(chain.trajectory(kLength)).unfold(0, 2 * settings.k + 1, 1).permute({0, 2, 1}));
    const Tensor data = torch::cat(windows, 0);
    TrajectoryScore sda(3, settings);
    auto t0 = Clock::now();
    const double loss = sda.train(data, epochs, batch, learning_rate, 2);
    std::printf(
        "SDA on Lorenz-63: %lld windows of %lld states from %lld trajectories, %lld epochs (times %s, process noise %g; %s of %lld x %zu, "
        "batch %lld, lr %g%s, L2 %g), loss %.4f, %.0f s\n",
        (long long)data.size(0), (long long)(2 * settings.k + 1), (long long)trajectories, (long long)epochs,
        settings.time_sampling.c_str(), process_noise, settings.network.c_str(), (long long)settings.hidden[0], settings.hidden.size(),
        (long long)batch, learning_rate, settings.linear_decay ? " decaying linearly" : "", settings.weight_decay, loss,
        std::chrono::duration<double>(Clock::now() - t0).count());
    const Tensor truth = to_tensor(Chain(7).trajectory(kLength)).to(torch::kFloat32);
    std::printf("\n%-8s %-10s %10s %10s %10s\n", "setting", "method", "RMSE", "W1 to PF", "seconds");
    constexpr double kPaperScale = 8.0;  // SDA's preprocessing divides the first component by 8
    for (const Setting& s : {Setting{"sparse", 8, 0.05 * kPaperScale}, Setting{"dense", 1, 0.25 * kPaperScale}}) {
        std::mt19937_64 noise(11);
        std::normal_distribution<double> normal(0, 1);
        Observation obs;
        obs.sigma = s.sigma;
        std::vector<double> y;
        std::vector<float> yf;
        for (int64_t t = 0; t < kLength; t += s.every) {
            obs.index.push_back(t * 3);
            y.push_back(truth[t][0].item<double>() + s.sigma * normal(noise));
            yf.push_back(float(y.back()));
        }
        obs.y = torch::tensor(yf);
        const Tensor observed = torch::tensor(obs.index, torch::kLong).div(3, "floor");  // the observed states
        auto t1 = Clock::now();
        const Tensor pf = particle_filter(y, s, 5);
        const double pf_s = std::chrono::duration<double>(Clock::now() - t1).count();
        auto rmse = [&](const Tensor& x) { return (x.mean(0) - truth).pow(2).mean().sqrt().item<double>(); };
        // Each component's RMSE, the mean posterior sd, and the RMS of the samples' one-step
        // residual s_{i+1} - RK4(s_i) per component (the process noise for true paths).
        auto per_component = [&](const Tensor& x) {
            const Tensor e = (x.mean(0) - truth).pow(2).mean(0).sqrt();
            const Tensor x64 = x.to(torch::kFloat64).contiguous();
            auto a = x64.accessor<double, 3>();
            simbi::lorenz63::Parameters p;
            double r2 = 0;
            for (int64_t b = 0; b < x.size(0); ++b)
                for (int64_t i = 0; i + 1 < x.size(1); ++i) {
                    const State next = simbi::lorenz63::rk4_step(State{a[b][i][0], a[b][i][1], a[b][i][2]}, p);
                    for (int c = 0; c < 3; ++c) r2 += std::pow(a[b][i + 1][c] - next[size_t(c)], 2);
                }
            // The observed component at the observed states: its error to the truth beside the noise.
            const double at_obs = (x.mean(0).select(1, 0).index_select(0, observed) - truth.select(1, 0).index_select(0, observed))
                                      .pow(2)
                                      .mean()
                                      .sqrt()
                                      .item<double>();
            std::printf(
                "%-8s %-10s RMSE per component %.3f %.3f %.3f (x at observed states %.3f, noise %.2f), posterior sd %.3f, one-step "
                "residual %.3f\n",
                s.name, "", e[0].item<double>(), e[1].item<double>(), e[2].item<double>(), at_obs, s.sigma, x.std(0).mean().item<double>(),
                std::sqrt(r2 / double(3 * x.size(0) * (x.size(1) - 1))));
        };
        std::printf("%-8s %-10s %10.3f %10s %10.1f\n", s.name, "PF", rmse(pf), "0", pf_s);
        per_component(pf);
        // SDA with each sampler, then DPS's guidance with the first.
        for (size_t v = 0; v < variants.size() + (with_dps ? 1 : 0); ++v) {
            const bool dps = v == variants.size();
            const Variant& variant = variants[dps ? 0 : v];
            sda.settings().sampler = variant.sampler;
            sda.settings().corrections = variant.corrections;
            sda.settings().eta = variant.eta;
            sda.settings().gamma = variant.gamma;
            auto t2 = Clock::now();
            const Tensor x = sda.sample(samples, kLength, &obs, 3, dps ? "dps" : "sda");
            std::string name = std::string(dps ? "DPS" : "SDA") + " " + variant.sampler + "/" + std::to_string(variant.corrections);
            if (variant.eta > 0 || variant.gamma != SdaSettings().gamma) {
                char extra[64];
                std::snprintf(extra, sizeof extra, " eta %g gamma %g", variant.eta, variant.gamma);
                name += extra;
            }
            std::printf("%-8s %-10s %10.3f %10.3f %10.1f\n", s.name, name.c_str(), rmse(x), mean_w1(x, pf),
                        std::chrono::duration<double>(Clock::now() - t2).count());
            per_component(x);
        }
    }
    return 0;
}
