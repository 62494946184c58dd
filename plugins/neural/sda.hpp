// Score-based data assimilation (Rozet & Louppe 2023, "Score-based Data Assimilation"): a score
// network trained on short windows of 2k + 1 consecutive states of a Markov chain, composed into
// the score of a whole trajectory, and posterior trajectories given observations y = A(x) + noise
// by a predictor-corrector sampler with a Gaussian approximation of the likelihood's score.
#pragma once
#include <memory>
#include <string>

#include "util.hpp"

namespace simbi::nn {

// y = x[index] + N(0, sigma^2) for the observed entries of a trajectory x [L, D], flattened
// row-major (index = time * D + component): a linear selection, as in SDA's experiments.
struct Observation {
    std::vector<int64_t> index;
    Tensor y;  // [index.size()], float32
    double sigma = 1;
};

struct SdaSettings {
    int64_t k = 2;  // the window: 2k + 1 states
    std::vector<int64_t> hidden = {256, 256, 256};
    // "mlp": an ELU MLP of widths `hidden` (TimeMlp); "residual": residual blocks of width
    // hidden[0], one per entry of hidden, with a learned time embedding (TimeResMlp), as the paper.
    std::string network = "mlp";
    double weight_decay = 0;    // Adam's L2 term
    bool linear_decay = false;  // the learning rate decays linearly to 0 over training
    // Training times (Diffusion::training_times): a chain's one-step noise is a small fraction of
    // its states' spread, a scale that times even in t seldom reach.
    std::string time_sampling = "mixed";
    // "sde": the reverse SDE (Euler-Maruyama), Langevin steps sized by the signal-to-noise ratio
    // `snr`; "ddim": the exponential integrator (DPM-Solver++(2M)), Langevin steps tau / mean(s^2)
    // (SDA's Algorithm 4). Both in neural/diffusion.hpp.
    std::string sampler = "sde";
    int64_t steps = 256;           // predictor steps from t = 1 to t_eps
    int64_t corrections = 1;       // Langevin corrector steps after each
    double snr = 0.1;              // sde's corrector
    double tau = 0.25;             // ddim's corrector
    double eta = 0;                // ddim's stochasticity: 0 the probability-flow ODE, 1 the reverse SDE
    std::string guidance = "sda";  // "sda": Gaussian likelihood score; "dps": Chung et al. 2023
    // sda: Gamma = gamma I (standardized units) in Sigma_y + s^2 / m^2 Gamma (eq. 14). Of 0.01,
    // 0.1 and 1, 0.1 came closest to the Kalman smoother on the linear-Gaussian test.
    double gamma = 0.1;
    double zeta = 1.0;  // dps: the step zeta / ||y - A(x0)||
};

class TrajectoryScore {
public:
    TrajectoryScore(int64_t state_dim, const SdaSettings& settings);
    ~TrajectoryScore();
    // Denoising score matching on windows [N, 2k + 1, D] of the chain (standardized per component
    // over them), by Adam at batch `batch` for `epochs` passes; returns the last epoch's loss.
    double train(const Tensor& windows, int64_t epochs, int64_t batch, double learning_rate, uint64_t seed);
    // n posterior trajectories [n, L, D] given the observation (none: prior trajectories), with
    // the settings' guidance or another ("sda", "dps").
    Tensor sample(int64_t n, int64_t length, const Observation* observation, uint64_t seed, const std::string& guidance = "");
    // The sampling settings (steps, corrections, tau, guidance, gamma, zeta), changeable after
    // training; k, network and hidden are fixed by then.
    SdaSettings& settings();
    // The trained score in `dir` (created if needed): score.json (format "simbi.sda.score",
    // version 1: the state dimension, k, network, hidden, standardization, and `provenance`, the
    // caller's record of what it was trained on, and the weights' SHA-256) and weights.pt. Each
    // file is written whole, through a temporary file and a rename.
    void save(const std::string& dir, const json& provenance) const;
    // Loads a score saved by save() into this object, whose state dimension, k, network and hidden
    // must match, and whose weights file must be the one score.json names by its SHA-256
    // (std::invalid_argument naming the difference otherwise; the object is then unchanged);
    // returns its provenance.
    json load(const std::string& dir);
    // The composed score of trajectories [B, L, D] in standardized units at time t (eq. 10-11):
    // state i takes its score from the window centred on it, the first and last k states from
    // the first and last windows.
    Tensor score(double t, const Tensor& x_std);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace simbi::nn
