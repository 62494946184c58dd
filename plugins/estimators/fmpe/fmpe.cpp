// simbi.fmpe: flow-matching posterior estimation (Dax et al. 2023, "Flow Matching for Scalable
// Simulation-Based Inference"; Lipman et al. 2023).
//
// A vector field v(t, theta_t, x) is regressed onto the conditional optimal-transport path from
// a standard normal theta_0 to the standardized parameters theta_1 of a simulated pair:
//     theta_t = (1 - (1 - s) t) theta_0 + t theta_1,   u = theta_1 - (1 - s) theta_0,
//     loss = E_{t ~ p(t)} || v(t, theta_t, x) - u ||^2,   s = sigma_min = 1e-4 (eq. 5-6),
// with p(t) proportional to t^alpha (Dax et al. 2023, sec. 3.3): alpha > 0 trains more where
// t is near 1, where the field resolves the posterior's fine structure.
// Samples integrate d theta / dt = v from t = 0 to 1 (classical Runge-Kutta, `steps` steps, or
// Dormand-Prince 5(4) with a per-draw step size held to `tolerance`);
// draws outside the prior's support are rejected, as for NPE. log q integrates the continuity
// equation back from t = 1 in `density_steps` steps: log q(theta_1) = log N(theta_0) -
// int_0^1 div v dt, with the exact divergence up to `exact_divergence_dim` parameters and
// Hutchinson's estimate above.
#include <limits>

#include "neural/neural.hpp"
#include "neural/streams.hpp"
#include "neural/time_field_options.hpp"
#include "neural/time_mlp.hpp"

using namespace simbi::nn;

namespace {

constexpr double kSigmaMin = 1e-4;

struct FmpeNetImpl : torch::nn::Module {
    FmpeNetImpl(const json& embedding, int64_t d, int64_t k, const std::vector<int64_t>& hidden) {
        embed = register_module("embedding", Embedding(embedding, k));
        field = register_module("field", TimeMlp(d, embed->features(), hidden));
    }
    Embedding embed{nullptr};
    TimeMlp field{nullptr};  // the vector field v(t, theta, c)
};
TORCH_MODULE(FmpeNet);

class Fmpe final : public NeuralEstimator {
public:
    using adapter = simbi::detail::EstimatorAdapter<Fmpe>;

    static simbi::Info info() {
        simbi::Info i("simbi.fmpe", "Flow-matching posterior estimation", SIMBI_KIND_ESTIMATOR);
        i.version("1.0.0").vendor("simbi").description(
            "A vector field v(t, theta, x) trained by conditional flow matching; posterior samples and densities by integrating its ODE.");
        TimeFieldOptions::declare(i, "vector field");
        i.option("steps", simbi::Option::integer(10).minimum(1).maximum(100000).sampling().doc(
                              "rk4: Runge-Kutta steps of the ODE from noise to the posterior, for sampling"))
            .option("solver", simbi::Option::choice({"rk4", "dopri5"}, "dopri5")
                                  .sampling()
                                  .doc("the ODE solver for sampling: rk4 (`steps` fixed steps) or dopri5 (adaptive, to `tolerance`)"))
            .option("tolerance", simbi::Option::number(3e-3).above(0).below(1).sampling().doc(
                                     "dopri5: each draw's local error tolerance, relative and absolute (standardized units)"))
            .option("density_steps", simbi::Option::integer(20).minimum(1).maximum(100000).doc(
                                         "Runge-Kutta steps of the ODE with its divergence, for log_prob"))
            .option("time_prior_exponent", simbi::Option::number(1).minimum(0).maximum(100).doc(
                                               "alpha: training times t are drawn with density proportional to t^alpha"));
        declare_runtime_options(i);
        TrainingConfig::declare(i, training_defaults());
        return i;
    }

    // The loss draws t and noise per row.
    static TrainingConfig training_defaults() { return TrainingConfig::for_noisy_loss(); }

    Fmpe(const simbi::Config& c, const simbi_host* host) : NeuralEstimator("simbi.fmpe", "1.0.0", c, host) {
        const TimeFieldOptions field = TimeFieldOptions::read(c);
        hidden_ = field.hidden;
        embedding_ = field.embedding;
        exact_dim_ = field.exact_divergence_dim;
        steps_ = c.integer("steps");
        steps_given_ = c.given("steps");
        density_steps_ = c.integer("density_steps");
        alpha_ = c.number("time_prior_exponent");
        solver_ = c.string("solver");
        tolerance_ = c.number("tolerance");
    }

protected:
    void do_train(const simbi_train_context& ctx) override {
        const int64_t d = int64_t(ctx.data->theta_dim), k = int64_t(ctx.data->x_dim);
        TrainingConfig config = training_defaults();
        auto data = prepare(
            ctx, [](const Tensor& t) { return t; }, config);
        net_ = FmpeNet(embedding_, d, k, hidden_);
        fit_network(ctx, *data, config, [&](const Tensor& theta, const Tensor& x) {
            const Tensor theta1 = theta_.apply(theta);
            const Tensor theta0 = torch::randn_like(theta1);
            const Tensor t = torch::rand({theta1.size(0), 1}, theta1.options()).pow(1 / (1 + alpha_));  // density (1 + alpha) t^alpha
            const Tensor theta_t = (1 - (1 - kSigmaMin) * t) * theta0 + t * theta1;
            const Tensor target = theta1 - (1 - kSigmaMin) * theta0;
            return (net_->field->forward(t, theta_t, net_->embed->forward(x_.apply(x))) - target).pow(2).sum(1).mean();
        });
    }

public:
    // Many observations in few integrations: every row carries its observation's embedding and
    // the adaptive solver steps each row alone, each observation with its own random stream (ode.hpp).
    void sample_batch(uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta) override {
        require_trained();
        if (n_x == 0 || n_per_x == 0) return;
        inference([&] {
            const int64_t d = theta_.mean.size(0);
            const Tensor embedded = net_->embed->forward(x_.apply(to_tensor(x, int64_t(n_x), x_.mean.size(0))));
            draw_for_observations(
                int64_t(n_x), int64_t(n_per_x), d, seed, streams::kFmpeSampling, &prior_,
                [&](int64_t m, at::Generator& gen) {
                    return std::vector<Tensor>{torch::randn({m, d}, gen, torch::kFloat32)};
                },
                [&](const Tensor& obs, const std::vector<Tensor>& in, const Noise&) {
                    return theta_.invert(integrate(embedded.index_select(0, obs), in[0]).y).to(torch::kFloat64);
                },
                theta);
        });
    }

protected:
    // The ODE from noise rows at t = 0 to t = 1, each row conditioned on its own embedding c, and
    // the work it took (passes: batched calls of the field; evaluations per row).
    AdaptiveResult integrate(const Tensor& c, const Tensor& noise) {
        if (solver_ == "dopri5") {
            auto v = [&](const Tensor& rows, const Tensor& t, const Tensor& y) {
                return net_->field->forward(t, y, c.index_select(0, rows));
            };
            return integrate_dopri5(v, noise, 0.0, 1.0, tolerance_, tolerance_);
        }
        auto v = [&](double t, const Tensor& y) { return net_->field->forward(torch::full({y.size(0), 1}, t), y, c); };
        AdaptiveResult r;
        r.y = integrate_rk4(v, noise, 0.0, 1.0, steps_);
        r.passes = 4 * steps_;
        r.evaluations_per_row = double(4 * steps_);
        return r;
    }

    void do_sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) override {
        if (n_obs != 1)
            throw std::invalid_argument("FMPE conditions on one observation; got " + std::to_string(n_obs) +
                                        " (for i.i.d. sets use simbi.nre or simbi.nle)");
        at::Generator gen = make_generator(seed, streams::kFmpeSampling);
        const int64_t d = theta_.mean.size(0);
        const Tensor c1 = net_->embed->forward(x_.apply(to_tensor(x_obs, 1, x_.mean.size(0))));
        int64_t passes = 0;
        double evaluations = 0;  // per draw
        auto draw = [&](int64_t m) {
            AdaptiveResult r = integrate(c1.expand({m, c1.size(1)}), torch::randn({m, d}, gen, torch::kFloat32));
            passes += r.passes;
            evaluations = r.evaluations_per_row;
            return r.y;
        };
        from_tensor(draw_inside_support(
                        int64_t(n), draw, [&](const Tensor& u) { return theta_.invert(u); }, prior_),
                    theta);
        log_debug(std::to_string(n) + " draws in " + std::to_string(passes) + " network passes, " + std::to_string(evaluations) +
                  " evaluations per draw (" + solver_ + ")");
    }

    void do_log_prob(uint64_t n, const double* theta, const double* x, double* out) override {
        const int64_t d = theta_.mean.size(0), k = x_.mean.size(0), rows = int64_t(n);
        at::Generator gen = make_generator(0, streams::kFmpeDivergence);
        const Tensor t64 = to_tensor(theta, rows, d).to(torch::kFloat64);
        const Tensor c = net_->embed->forward(x_.apply(to_tensor(x, rows, k)));
        // From t = 1 back to the base at t = 0: log q(theta_1) = log N(theta_0) + int_1^0 div v dt.
        auto v = [&](double t, const Tensor& y) { return net_->field->forward(torch::full({rows, 1}, t), y, c); };
        const auto [z, integral] =
            integrate_with_divergence(v, theta_.apply(t64.to(torch::kFloat32)), 1.0, 0.0, density_steps_, exact_dim_, gen);
        const Tensor log_base = (-0.5 * z.pow(2) - 0.5 * std::log(2 * M_PI)).sum(1);
        const Tensor lp = (log_base + integral - theta_.log_std_sum()).to(torch::kFloat64);
        const Tensor inside = torch::isfinite(prior_.log_prob(t64));
        from_tensor(torch::where(inside, lp, torch::full({rows}, -INFINITY, torch::kFloat64)), out);
    }

    bool trained() const override { return bool(net_); }
    torch::nn::Module& network() override { return *net_; }
    json config_json() const override {
        return {{"hidden", hidden_},
                {"embedding", embedding_},
                {"steps", steps_},
                {"density_steps", density_steps_},
                {"exact_divergence_dim", exact_dim_},
                {"time_prior_exponent", alpha_},
                {"threads", runtime_.threads}};
    }
    void rebuild(const json& j) override {
        const json& c = j.at("config");
        hidden_ = c.at("hidden").get<std::vector<int64_t>>();
        embedding_ = c.at("embedding");
        if (!steps_given_) steps_ = c.at("steps").get<int64_t>();                 // a manifest's sampler settings win
        density_steps_ = c.value("density_steps", c.at("steps").get<int64_t>());  // artifacts before it used one count for both
        exact_dim_ = c.at("exact_divergence_dim").get<int64_t>();
        alpha_ = c.value("time_prior_exponent", 0.0);
        net_ = FmpeNet(embedding_, j.at("theta_dim").get<int64_t>(), j.at("x_dim").get<int64_t>(), hidden_);
    }

private:
    std::vector<int64_t> hidden_;
    json embedding_;
    int64_t steps_ = 10, density_steps_ = 20, exact_dim_ = 10;
    double alpha_ = 0;
    bool steps_given_ = false;
    std::string solver_ = "dopri5";  // sampling only: never saved with the network, taken from the config at load
    double tolerance_ = 3e-3;
    FmpeNet net_{nullptr};
};

}  // namespace

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(Fmpe)
#endif
