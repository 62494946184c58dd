// simbi.npse: neural posterior score estimation (Geffner et al. 2023; Sharrock et al. 2024), on
// the score-based SDEs of Song et al. (2021, "Score-Based Generative Modeling through Stochastic
// Differential Equations").
//
// The standardized parameters diffuse by a VP or VE SDE (neural/diffusion.hpp).
// A network e(theta_t, t, x) predicts the noise of theta_t = m theta_0 + s eps, trained by
// denoising score matching, || e - eps ||^2 (the loss weighted by s^2, eq. 7); the score is
// grad log p_t(theta_t | x) = -e / s. Samples run from N(0, m(1)^2 + s(1)^2) at t = 1 to t_eps by
//   "ode": the probability-flow ODE d theta / dt = f - g^2 score / 2 (eq. 13), Runge-Kutta 4;
//   "sde": the reverse SDE d theta = (f - g^2 score) dt + g dW (eq. 6), Euler-Maruyama;
//   "pc":  the reverse SDE as predictor and one Langevin corrector step per step (Algorithms 2-5);
//   "ddim" (the default): the exponential integrator on steps even in log SNR, second-order
//          multistep, one network pass a step, then Tweedie's denoised mean (neural/diffusion.hpp);
//          eta = 1 (the default) takes the reverse SDE's ancestral steps, which forgive the score's
//          errors better than the ODE (eta = 0; docs/benchmarks.md).
// Half the training times are even in log SNR by default, so that noise scales as fine as a
// narrow posterior's width are trained often (Diffusion::training_times).
// log q integrates the probability-flow ODE with its divergence (exact up to
// exact_divergence_dim parameters, Hutchinson's estimate above), as FMPE does; it is the density
// at t_eps, where the diffusion blurs by s(t_eps), about 0.01 standardized units.
#include <limits>

#include <set>

#include "neural/neural.hpp"
#include "neural/diffusion.hpp"
#include "neural/ode.hpp"
#include "neural/streams.hpp"
#include "neural/time_field_options.hpp"
#include "neural/time_mlp.hpp"

using namespace simbi::nn;

namespace {

struct NpseNetImpl : torch::nn::Module {
    NpseNetImpl(const json& embedding, int64_t d, int64_t k, const std::vector<int64_t>& hidden) {
        embed = register_module("embedding", Embedding(embedding, k));
        noise = register_module("noise", TimeMlp(d, embed->features(), hidden));
    }
    Embedding embed{nullptr};
    TimeMlp noise{nullptr};  // e(t, theta_t, c), the predicted noise
};
TORCH_MODULE(NpseNet);

class Npse final : public NeuralEstimator {
public:
    using adapter = simbi::detail::EstimatorAdapter<Npse>;

    static simbi::Info info() {
        simbi::Info i("simbi.npse", "Neural posterior score estimation", SIMBI_KIND_ESTIMATOR);
        i.version("1.0.0").vendor("simbi").description(
            "A conditional score network trained by denoising score matching (VP or VE diffusion); samples by the probability-flow ODE "
            "(exponential integrator or Runge-Kutta), the reverse SDE or predictor-corrector, densities by the probability-flow ODE.");
        TimeFieldOptions::declare(i, "score network");
        using simbi::Option;
        i.option("schedule", Option::choice({"vp", "ve"}, "vp").doc("the diffusion: vp (variance preserving) or ve (variance exploding)"))
            .option(
                "sigma_max",
                Option::number(10).above(2 * Diffusion::kSigmaMin).below(1e6).doc("VE: the noise scale at t = 1, in standardized units"))
            .option("sampler",
                    Option::choice({"ode", "sde", "pc", "ddim"}, "ddim")
                        .sampling()
                        .doc("ode (probability flow, Runge-Kutta 4), sde (reverse SDE, Euler-Maruyama), pc (predictor-corrector) or ddim "
                             "(exponential integrator)"))
            .option(
                "steps",
                Option::integer(0).minimum(0).maximum(100000).sampling().doc(
                    "sampling steps from t = 1 to t_eps: integrator steps for ddim, Runge-Kutta steps for ode, Euler-Maruyama steps for "
                    "sde and pc; 0: 20 for ddim, 50 for ode, 200 for sde and pc"))
            .option("density_steps",
                    Option::integer(50).minimum(1).maximum(100000).doc("Runge-Kutta steps of the probability-flow ODE for log_prob"))
            .option("snr", Option::number(0.16).above(0).below(10).sampling().doc("pc: the corrector's signal-to-noise ratio"))
            .option("eta",
                    Option::number(1).minimum(0).maximum(1).sampling().doc(
                        "ddim: 0 integrates the probability-flow ODE, 1 draws the reverse SDE's ancestral steps, between them a mix"))
            .option("time_sampling",
                    Option::choice({"mixed", "log_snr", "uniform"}, "mixed")
                        .doc("training times: log_snr (even in log signal-to-noise ratio, as many at each noise scale), uniform "
                             "(even in t) or mixed (half each)"));
        declare_runtime_options(i);
        TrainingConfig::declare(i, training_defaults());
        return i;
    }

    // The loss draws t and noise per row.
    static TrainingConfig training_defaults() { return TrainingConfig::for_noisy_loss(); }

    Npse(const simbi::Config& c, const simbi_host* host) : NeuralEstimator("simbi.npse", "1.0.0", c, host) {
        const TimeFieldOptions field = TimeFieldOptions::read(c);
        hidden_ = field.hidden;
        embedding_ = field.embedding;
        exact_dim_ = field.exact_divergence_dim;
        schedule_name_ = c.string("schedule");
        sampler_ = c.string("sampler");
        sched_.sigma_max = c.number("sigma_max");
        steps_ = c.integer("steps");
        if (steps_ == 0) steps_ = sampler_ == "ddim" ? 20 : sampler_ == "ode" ? 50 : 200;
        density_steps_ = c.integer("density_steps");
        snr_ = c.number("snr");
        time_sampling_ = c.string("time_sampling");
        eta_ = c.number("eta");
        for (const char* key : {"sampler", "steps", "snr", "eta"})
            if (c.given(key)) given_.insert(key);
        set_schedule();
    }

protected:
    void do_train(const simbi_train_context& ctx) override {
        const int64_t d = int64_t(ctx.data->theta_dim), k = int64_t(ctx.data->x_dim);
        TrainingConfig config = training_defaults();
        auto data = prepare(
            ctx, [](const Tensor& t) { return t; }, config);
        net_ = NpseNet(embedding_, d, k, hidden_);
        fit_network(ctx, *data, config, [&](const Tensor& theta, const Tensor& x) {
            const Tensor theta0 = theta_.apply(theta);
            const Tensor t = sched_.training_times(theta0.size(0), time_sampling_, theta0.options());
            const auto [m, s] = sched_.mean_std(t);
            const Tensor eps = torch::randn_like(theta0);
            const Tensor predicted = net_->noise->forward(t, m * theta0 + s * eps, net_->embed->forward(x_.apply(x)));
            return (predicted - eps).pow(2).sum(1).mean();
        });
    }

public:
    // Many observations in few passes: every row carries its observation's embedding, and each
    // observation's starting noise and stochastic steps come from its own stream (ode.hpp). The
    // predictor-corrector sizes its Langevin steps by its whole batch's norms, which would tie one
    // observation's draws to the others', so it samples one observation at a time.
    void sample_batch(uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta) override {
        require_trained();
        if (n_x == 0 || n_per_x == 0) return;
        const int64_t d = theta_.mean.size(0), k = x_.mean.size(0);
        if (sampler_ == "pc") {
            for (uint64_t i = 0; i < n_x; ++i)
                sample(1, x + i * uint64_t(k), n_per_x, simbi_rng_mix(seed, i), theta + i * n_per_x * uint64_t(d));
            return;
        }
        inference([&] {
            const Tensor embedded = net_->embed->forward(x_.apply(to_tensor(x, int64_t(n_x), k)));
            int64_t passes = 0;
            draw_for_observations(
                int64_t(n_x), int64_t(n_per_x), d, seed, streams::kNpseSampling, &prior_,
                [&](int64_t m, at::Generator& gen) {
                    return std::vector<Tensor>{sched_.end_std() * torch::randn({m, d}, gen, torch::kFloat32)};
                },
                [&](const Tensor& obs, const std::vector<Tensor>& in, const Noise& noise) {
                    return theta_.invert(reverse(embedded.index_select(0, obs), in[0], noise, passes)).to(torch::kFloat64);
                },
                theta);
            log_debug(std::to_string(n_x * n_per_x) + " draws for " + std::to_string(n_x) + " observations in " + std::to_string(passes) +
                      " network passes (" + sampler_ + ")");
        });
    }

protected:
    void do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) override {
        if (n_obs != 1)
            throw std::invalid_argument("NPSE conditions on one observation; got " + std::to_string(n_obs) +
                                        " (for i.i.d. sets use simbi.nre or simbi.nle)");
        at::Generator gen = make_generator(seed, streams::kNpseSampling);
        const int64_t d = theta_.mean.size(0);
        const Tensor c1 = net_->embed->forward(x_.apply(to_tensor(x_obs, 1, x_.mean.size(0))));
        int64_t passes = 0;
        auto draw = [&](int64_t m) {
            const Tensor y = sched_.end_std() * torch::randn({m, d}, gen, torch::kFloat32);
            return reverse(c1.expand({m, c1.size(1)}), y, normal_noise(gen), passes);
        };
        from_tensor(draw_inside_support(
                        int64_t(n), draw, [&](const Tensor& u) { return theta_.invert(u); }, prior_),
                    theta);
        log_debug(std::to_string(n) + " draws in " + std::to_string(passes) + " network passes (" + sampler_ + ")");
    }

    void do_log_prob(uint64_t n, const double* theta, const double* x, double* out) override {
        const int64_t d = theta_.mean.size(0), k = x_.mean.size(0), rows = int64_t(n);
        at::Generator gen = make_generator(0, streams::kNpseDivergence);
        const Tensor t64 = to_tensor(theta, rows, d).to(torch::kFloat64);
        const Tensor c = net_->embed->forward(x_.apply(to_tensor(x, rows, k)));
        // log p_eps(theta) = log p_1(theta_1) + int_eps^1 div v dt (the continuity equation).
        auto v = [&](double t, const Tensor& y) { return flow(t, y, c); };
        const auto [z, integral] =
            integrate_with_divergence(v, theta_.apply(t64.to(torch::kFloat32)), sched_.t_eps(), 1.0, density_steps_, exact_dim_, gen);
        const double sd = sched_.end_std();
        const Tensor log_end = (-0.5 * (z / sd).pow(2) - 0.5 * std::log(2 * M_PI) - std::log(sd)).sum(1);
        const Tensor lp = (log_end + integral - theta_.log_std_sum()).to(torch::kFloat64);
        const Tensor inside = torch::isfinite(prior_.log_prob(t64));
        from_tensor(torch::where(inside, lp, torch::full({rows}, -INFINITY, torch::kFloat64)), out);
    }

    bool trained() const override { return bool(net_); }
    torch::nn::Module& network() override { return *net_; }
    json config_json() const override {
        return {{"hidden", hidden_},
                {"embedding", embedding_},
                {"schedule", schedule_name_},
                {"sigma_max", sched_.sigma_max},
                {"sampler", sampler_},
                {"steps", steps_},
                {"snr", snr_},
                {"exact_divergence_dim", exact_dim_},
                {"density_steps", density_steps_},
                {"time_sampling", time_sampling_},
                {"eta", eta_},
                {"threads", runtime_.threads}};
    }
    void rebuild(const json& j) override {
        const json& c = j.at("config");
        hidden_ = c.at("hidden").get<std::vector<int64_t>>();
        embedding_ = c.at("embedding");
        schedule_name_ = c.at("schedule").get<std::string>();
        sched_.sigma_max = c.at("sigma_max").get<double>();
        // The sampler the network was saved with, unless the manifest names another (sampling-only
        // settings: a changed sampler samples the same network).
        if (!given_.count("sampler")) sampler_ = c.at("sampler").get<std::string>();
        if (!given_.count("steps") && !given_.count("sampler")) steps_ = c.at("steps").get<int64_t>();
        density_steps_ = c.value("density_steps", c.at("steps").get<int64_t>());  // one count for both before density_steps
        if (!given_.count("snr")) snr_ = c.at("snr").get<double>();
        time_sampling_ = c.value("time_sampling", "uniform");  // uniform before the option existed
        if (!given_.count("eta")) eta_ = c.value("eta", 0.0);
        exact_dim_ = c.at("exact_divergence_dim").get<int64_t>();
        set_schedule();
        net_ = NpseNet(embedding_, j.at("theta_dim").get<int64_t>(), j.at("x_dim").get<int64_t>(), hidden_);
    }

private:
    void set_schedule() { sched_.vp = schedule_name_ == "vp"; }
    // From y at t = 1 to standardized parameters at t_eps by the chosen sampler, row r conditioned
    // on c[r]; counts the network passes.
    Tensor reverse(const Tensor& c, const Tensor& y, const Noise& noise, int64_t& passes) {
        auto score_c = [&](double t, const Tensor& yy) {
            ++passes;
            return score(t, yy, c);
        };
        if (sampler_ == "ode")
            return integrate_rk4(
                [&](double t, const Tensor& yy) {
                    ++passes;
                    return flow(t, yy, c);
                },
                y, 1.0, sched_.t_eps(), steps_);
        if (sampler_ == "ddim") return reverse_exponential(sched_, y, score_c, steps_, 0, 0.0, noise, eta_);
        return reverse_sde(sched_, y, score_c, steps_, sampler_ == "pc" ? 1 : 0, snr_, noise);
    }
    Tensor score(double t, const Tensor& y, const Tensor& c) {
        return -net_->noise->forward(torch::full({y.size(0), 1}, t), y, c) / sched_.std(t);
    }
    // The probability-flow ODE's field, f - g^2 score / 2.
    Tensor flow(double t, const Tensor& y, const Tensor& c) { return sched_.drift(t, y) - 0.5 * sched_.g2(t) * score(t, y, c); }

    std::vector<int64_t> hidden_;
    json embedding_;
    std::string schedule_name_ = "vp", sampler_ = "ddim", time_sampling_ = "mixed";
    std::set<std::string> given_;  // the sampling-only settings the manifest gave
    Diffusion sched_;
    int64_t steps_ = 20, density_steps_ = 50, exact_dim_ = 10;
    double snr_ = 0.16, eta_ = 1;
    NpseNet net_{nullptr};
};

}  // namespace

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Npse)
#endif
