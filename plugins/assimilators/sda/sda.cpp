// simbi.sda: score-based data assimilation (Rozet & Louppe 2023, "Score-based Data
// Assimilation"), an assimilator plugin (simbi/ext/assimilator.h).
//
// A score network learns windows of 2k + 1 consecutive states of the simulator's trajectories by
// denoising score matching; composed over a whole trajectory it is the trajectory's score, and a
// predictor-corrector sampler guided by the observations' likelihood draws posterior
// trajectories (neural/sda.hpp). The host simulates the trajectories, gives the observation
// operator, and writes what the sampler draws.
#include <simbi/assimilator.hpp>

#include "neural/sda.hpp"

using namespace simbi::nn;

namespace {

class Sda final : public simbi::Assimilator {
public:
    using adapter = simbi::AssimilatorAdapter<Sda>;

    static simbi::Info info() {
        using simbi::Option;
        simbi::Info i("simbi.sda", "Score-based data assimilation", SIMBI_KIND_ASSIMILATOR);
        i.version("1.0.0").vendor("simbi").description(
            "A score network on windows of 2k + 1 states, composed into a trajectory's score; posterior trajectories by guided diffusion.");
        const SdaSettings d;
        i.option("k", Option::integer(d.k).minimum(1).maximum(64).doc("the window: 2k + 1 consecutive states"))
            .option("network",
                    Option::choice({"mlp", "residual"}, d.network)
                        .doc("the noise network: mlp (ELU layers of widths hidden) | residual (blocks of width hidden[0], one per entry)"))
            .option("hidden", Option::integers({256, 256, 256}).items_between(1, 65536).length_between(1, 64).doc("hidden widths"))
            .option("time_sampling", Option::choice({"mixed", "log_snr", "uniform"}, d.time_sampling)
                                         .doc("training times: even in log signal-to-noise ratio, even in t, or half each"))
            .option("sampler", Option::choice({"sde", "ddim"}, d.sampler)
                                   .sampling()
                                   .doc("sde (reverse SDE, Euler-Maruyama) | ddim (exponential integrator, DPM-Solver++(2M))"))
            .option("steps", Option::integer(d.steps).minimum(1).maximum(100000).sampling().doc("predictor steps from t = 1 to t_eps"))
            .option("corrections",
                    Option::integer(d.corrections).minimum(0).maximum(1000).sampling().doc("Langevin corrector steps after each"))
            .option("guidance", Option::choice({"sda", "dps"}, d.guidance)
                                    .sampling()
                                    .doc("the likelihood's score: sda (Gaussian, eq. 14) | dps (Chung et al. 2023)"))
            .option("gamma",
                    Option::number(d.gamma).minimum(0).sampling().doc("sda guidance: Gamma = gamma I in Sigma_y + s^2 / m^2 Gamma"))
            .option("tau", Option::number(d.tau).above(0).sampling().doc("ddim's corrector step"))
            .option("snr", Option::number(d.snr).above(0).sampling().doc("sde's corrector signal-to-noise ratio"))
            .option("eta", Option::number(d.eta).minimum(0).maximum(1).sampling().doc(
                               "ddim's stochasticity: 0 the probability-flow ODE, 1 the reverse SDE"))
            .option("zeta", Option::number(d.zeta).above(0).sampling().doc("dps guidance: the step zeta / ||y - A(x0)||"));
        i.training_option("epochs", Option::integer(40).minimum(1).maximum(100000).doc("passes over the windows"))
            .training_option("batch", Option::integer(1024).minimum(1).maximum(1 << 20).doc("windows per step"))
            .training_option("learning_rate", Option::number(1e-3).above(0).doc("Adam's step size"))
            .training_option("linear_decay", Option::boolean(false).doc("the learning rate decays linearly to 0 over training"))
            .training_option("weight_decay", Option::number(0).minimum(0).doc("Adam's L2 term"));
        return i;
    }

    Sda(const simbi::Config& c, const simbi_host*) {
        s_.k = c.integer("k");
        s_.network = c.string("network");
        s_.hidden.clear();
        for (double w : c.numbers("hidden")) s_.hidden.push_back(int64_t(w));
        s_.time_sampling = c.string("time_sampling");
        s_.sampler = c.string("sampler");
        s_.steps = c.integer("steps");
        s_.corrections = c.integer("corrections");
        s_.guidance = c.string("guidance");
        s_.gamma = c.number("gamma");
        s_.tau = c.number("tau");
        s_.snr = c.number("snr");
        s_.eta = c.number("eta");
        s_.zeta = c.number("zeta");
    }

    void train(const simbi_assimilation_context& ctx, const simbi::Config& training) override {
        const int64_t d = int64_t(ctx.state_dim), steps = int64_t(ctx.steps), w = 2 * s_.k + 1;
        if (steps < w)
            throw std::invalid_argument("k = " + std::to_string(s_.k) + " needs trajectories of at least " + std::to_string(w) +
                                        " states; the simulator gives " + std::to_string(steps));
        s_.weight_decay = training.number("weight_decay");
        s_.linear_decay = training.boolean("linear_decay");
        score_ = std::make_unique<TrajectoryScore>(d, s_);
        const double loss = score_->train(windows(*ctx.data, d, steps), training.integer("epochs"), training.integer("batch"),
                                          training.number("learning_rate"), ctx.seed);
        if (ctx.host && ctx.host->metric) ctx.host->metric(ctx.host, "training_loss", 0, loss);
        state_dim_ = d;
    }

    void sample(const simbi_observation_operator& op, uint64_t n, uint64_t seed, double* out) override {
        if (!score_) throw std::logic_error("the assimilator is not trained or loaded");
        if (int64_t(op.state_dim) != state_dim_)
            throw std::invalid_argument("the observation's states have " + std::to_string(op.state_dim) + " components; the score's " +
                                        std::to_string(state_dim_));
        Observation obs;
        obs.sigma = op.sigma;
        obs.index.assign(op.index, op.index + op.observed);
        obs.y = torch::tensor(std::vector<float>(op.y, op.y + op.observed));
        const Tensor x = score_->sample(int64_t(n), int64_t(op.length), op.observed ? &obs : nullptr, seed).contiguous();
        if (!torch::isfinite(x).all().item<bool>()) throw std::runtime_error("the sampler diverged (non-finite states)");
        from_tensor(x.to(torch::kFloat64), out);
    }

    void save(const std::string& dir) override {
        if (!score_) throw std::logic_error("the assimilator is not trained");
        score_->save(dir, json::object());
    }

    void load(const std::string& dir) override {
        const json j = read_json(dir + "/score.json");
        state_dim_ = j.at("state_dim").get<int64_t>();
        auto score = std::make_unique<TrajectoryScore>(state_dim_, s_);
        score->load(dir);
        score_ = std::move(score);
    }

private:
    // Every window [N, 2k + 1, D] of the trajectories, each row's x being D series of T states.
    Tensor windows(const simbi_batch_reader& data, int64_t d, int64_t steps) const {
        const int64_t rows = int64_t(data.rows), w = 2 * s_.k + 1;
        if (rows == 0) throw std::invalid_argument("no trajectories to train on");
        std::vector<double> theta(size_t(rows) * data.theta_dim), x(size_t(rows) * data.x_dim);
        char msg[512] = {0};
        simbi_error err{sizeof(simbi_error), SIMBI_OK, 0, msg, sizeof msg};
        if (data.read(&data, 0, data.rows, theta.data(), x.data(), &err) != SIMBI_OK)
            throw std::runtime_error(std::string("reading the trajectories: ") + msg);
        const Tensor states = torch::from_blob(x.data(), {rows, d, steps}, torch::kFloat64).transpose(1, 2);  // [rows, T, D]
        return states.unfold(1, w, 1).permute({0, 1, 3, 2}).reshape({-1, w, d}).contiguous();
    }

    SdaSettings s_;
    std::unique_ptr<TrajectoryScore> score_;
    int64_t state_dim_ = 0;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(Sda)
