// Score-based data assimilation (sda.hpp).
#include "sda.hpp"

#include <filesystem>

#include "diffusion.hpp"
#include "time_mlp.hpp"
#include "training.hpp"

namespace simbi::nn {

namespace {
// The window's noise network that SdaSettings::network names, on `in` = (2k + 1) D inputs.
struct NoiseNetwork {
    TimeMlp mlp{nullptr};
    TimeResMlp residual{nullptr};

    NoiseNetwork() = default;
    NoiseNetwork(const SdaSettings& s, int64_t in) {
        if (s.network == "residual")
            residual = TimeResMlp(in, s.hidden.at(0), int64_t(s.hidden.size()));
        else
            mlp = TimeMlp(in, 0, s.hidden);
    }
    explicit operator bool() const { return mlp || residual; }
    torch::nn::Module& module() const { return mlp ? static_cast<torch::nn::Module&>(*mlp.ptr()) : *residual.ptr(); }
    // e(t, windows [B, (2k+1) D]): the predicted noise.
    Tensor operator()(const Tensor& t, const Tensor& w) const {
        return mlp ? mlp.ptr()->forward(t, w, torch::zeros({w.size(0), 0})) : residual.ptr()->forward(t, w);
    }
};
}  // namespace

struct TrajectoryScore::Impl {
    int64_t d, k;
    SdaSettings settings;
    Diffusion diffusion;  // VP
    NoiseNetwork noise;
    Tensor mean, std;  // per component [D]
};

TrajectoryScore::TrajectoryScore(int64_t state_dim, const SdaSettings& settings) : impl_(std::make_unique<Impl>()) {
    impl_->d = state_dim;
    impl_->k = settings.k;
    impl_->settings = settings;
    Diffusion::check_time_sampling(settings.time_sampling);
    if (settings.network != "mlp" && settings.network != "residual")
        throw std::invalid_argument("network must be mlp or residual, not '" + settings.network + "'");
    if (settings.hidden.empty()) throw std::invalid_argument("hidden needs at least one width");
}

TrajectoryScore::~TrajectoryScore() = default;

SdaSettings& TrajectoryScore::settings() { return impl_->settings; }

double TrajectoryScore::train(const Tensor& windows, int64_t epochs, int64_t batch, double learning_rate, uint64_t seed) {
    Impl& m = *impl_;
    const int64_t n = windows.size(0), w = 2 * m.k + 1;
    m.mean = windows.reshape({-1, m.d}).mean(0).to(torch::kFloat32);
    m.std = windows.reshape({-1, m.d}).std(0).clamp_min(1e-8).to(torch::kFloat32);
    const Tensor data = ((windows.to(torch::kFloat32) - m.mean) / m.std).reshape({n, w * m.d});
    torch::manual_seed(seed);
    m.noise = NoiseNetwork(m.settings, w * m.d);
    FlatAdam opt(m.noise.module().parameters(), learning_rate, 0.9, 0.999, 1e-8, m.settings.weight_decay);
    const int64_t steps_per_epoch = (n + batch - 1) / batch, total_steps = epochs * steps_per_epoch;
    int64_t step = 0;
    opt.set_average(0.999);
    double last = 0;
    for (int64_t e = 0; e < epochs; ++e) {
        const Tensor order = torch::randperm(n);
        double total = 0;
        int64_t count = 0;
        for (int64_t start = 0; start < n; start += batch) {
            const Tensor x0 = data.index({order.narrow(0, start, std::min(batch, n - start))});
            const Tensor t = m.diffusion.training_times(x0.size(0), m.settings.time_sampling);
            const auto [mt, st] = m.diffusion.mean_std(t);
            const Tensor eps = torch::randn_like(x0);
            opt.zero_grad();
            Tensor loss = (m.noise(t, mt * x0 + st * eps) - eps).pow(2).sum(1).mean();
            loss.backward();
            opt.clip_grad_norm(5.0);
            if (m.settings.linear_decay) opt.set_learning_rate(learning_rate * (1 - double(step) / double(total_steps)));
            opt.step();
            ++step;
            total += loss.item<double>() * double(x0.size(0));
            count += x0.size(0);
        }
        last = total / double(count);
    }
    opt.swap_average();  // keep the averaged weights
    return last;
}

namespace {
constexpr const char* kScoreFormat = "simbi.sda.score";
constexpr int kScoreVersion = 1;
}  // namespace

void TrajectoryScore::save(const std::string& dir, const json& provenance) const {
    const Impl& m = *impl_;
    if (!m.noise) throw std::logic_error("the trajectory score is not trained");
    namespace fs = std::filesystem;
    fs::create_directories(dir);
    auto as_list = [](const Tensor& t) { return std::vector<double>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel()); };
    save_module(m.noise.module(), dir + "/weights.pt.tmp");
    // The weights' hash ties the two files: a save interrupted between the renames leaves a pair
    // that load() refuses rather than one that describes other weights.
    const json j = {{"format", kScoreFormat},
                    {"version", kScoreVersion},
                    {"state_dim", m.d},
                    {"k", m.k},
                    {"network", m.settings.network},
                    {"hidden", m.settings.hidden},
                    {"mean", as_list(m.mean)},
                    {"std", as_list(m.std)},
                    {"weights_sha256", sha256_file(dir + "/weights.pt.tmp")},
                    {"provenance", provenance}};
    fs::rename(dir + "/weights.pt.tmp", dir + "/weights.pt");
    write_json(dir + "/score.json.tmp", j);
    fs::rename(dir + "/score.json.tmp", dir + "/score.json");
}

json TrajectoryScore::load(const std::string& dir) {
    Impl& m = *impl_;
    const json j = read_json(dir + "/score.json");
    if (j.value("format", "") != kScoreFormat) throw std::invalid_argument(dir + "/score.json is not a saved SDA score");
    if (j.value("version", 0) != kScoreVersion)
        throw std::invalid_argument(dir + "/score.json is version " + j.value("version", json(0)).dump() + "; this build reads version 1");
    auto expect = [&](const char* key, const json& want) {
        if (j.at(key) != want)
            throw std::invalid_argument(dir + "/score.json: " + key + " is " + j.at(key).dump() + ", the settings say " + want.dump());
    };
    expect("state_dim", m.d);
    expect("k", m.k);
    expect("network", m.settings.network);
    expect("hidden", m.settings.hidden);
    if (sha256_file(dir + "/weights.pt") != j.value("weights_sha256", ""))
        throw std::invalid_argument(dir + "/weights.pt is not the file score.json describes (an interrupted save, or a copied file)");
    const Tensor mean = torch::tensor(j.at("mean").get<std::vector<double>>(), torch::kFloat32);
    const Tensor std = torch::tensor(j.at("std").get<std::vector<double>>(), torch::kFloat32);
    if (mean.numel() != m.d || std.numel() != m.d)
        throw std::invalid_argument(dir + "/score.json: mean and std need one value per component");
    // Into a new network first, so that a failed load leaves this object as it was.
    NoiseNetwork noise(m.settings, (2 * m.k + 1) * m.d);
    load_module(noise.module(), dir + "/weights.pt");
    m.noise = noise;
    m.mean = mean;
    m.std = std;
    return j.at("provenance");
}

Tensor TrajectoryScore::score(double t, const Tensor& x) {
    Impl& m = *impl_;
    const int64_t b = x.size(0), length = x.size(1), w = 2 * m.k + 1, nw = length - 2 * m.k;
    // Windows [B, nw, w, D] -> rows [B nw, w D]; the network's noise -> the windows' scores.
    const Tensor windows = x.unfold(1, w, 1).permute({0, 1, 3, 2}).reshape({b * nw, w * m.d});
    const Tensor s = (-m.noise(torch::full({b * nw, 1}, t), windows) / m.diffusion.std(t)).reshape({b, nw, w, m.d});
    // Centre of every window, then the first window's first k and the last window's last k.
    const Tensor centre = s.select(2, m.k);
    const Tensor head = s.select(1, 0).narrow(1, 0, m.k), tail = s.select(1, nw - 1).narrow(1, m.k + 1, m.k);
    return torch::cat({head, centre, tail}, 1);
}

Tensor TrajectoryScore::sample(int64_t n, int64_t length, const Observation* obs, uint64_t seed, const std::string& guidance_override) {
    Impl& m = *impl_;
    if (!m.noise) throw std::logic_error("the trajectory score is not trained");
    if (length < 2 * m.k + 1) throw std::invalid_argument("a trajectory needs at least 2k + 1 states");
    torch::NoGradGuard no_grad;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const Diffusion& dif = m.diffusion;
    SdaSettings st = m.settings;
    if (!guidance_override.empty()) st.guidance = guidance_override;
    if (st.guidance != "sda" && st.guidance != "dps") throw std::invalid_argument("guidance must be sda or dps, not '" + st.guidance + "'");
    if (st.sampler != "sde" && st.sampler != "ddim") throw std::invalid_argument("sampler must be sde or ddim, not '" + st.sampler + "'");
    const Tensor idx = obs ? torch::tensor(obs->index, torch::kLong) : Tensor();
    // Each observed entry's variance in the data's units, for Gamma = gamma I in standardized ones.
    const Tensor obs_scale2 = obs ? m.std.pow(2).index_select(0, idx.remainder(m.d)) : Tensor();
    // The residual y - A x0 of the denoised mean x0 = (x + s^2 score) / m, in the data's units,
    // given the score s at x (standardized); differentiable in x through s.
    auto residual = [&](double t, const Tensor& x, const Tensor& s) {
        const Tensor x0 = (x + std::pow(dif.std(t), 2) * s) / dif.mean(t) * m.std + m.mean;
        return obs->y.unsqueeze(0) - x0.reshape({x.size(0), -1}).index_select(1, idx);
    };
    // The prior score plus the likelihood's: SDA's grad log N(y | A x0, Sigma_y + s^2 / m^2 Gamma),
    // Gamma = gamma I in standardized units (eq. 14), or DPS's -2 zeta grad ||y - A x0||, which is
    // the step zeta / ||r|| grad ||r||^2 of Chung et al. 2023 (Algorithm 1) as a score.
    auto guided_score = [&](double t, const Tensor& x) {
        if (!obs) return score(t, x);
        torch::AutoGradMode grad(true);
        Tensor xg = x.detach().requires_grad_(true);
        const Tensor s = score(t, xg);
        const Tensor r2 = residual(t, xg, s).pow(2);
        Tensor log_like;
        if (st.guidance == "sda") {
            const Tensor var = obs->sigma * obs->sigma + std::pow(dif.std(t) / dif.mean(t), 2) * st.gamma * obs_scale2;
            log_like = -0.5 * (r2 / var).sum();
        } else {
            log_like = -2 * st.zeta * r2.sum(1).clamp_min(1e-12).sqrt().sum();
        }
        return (s + torch::autograd::grad({log_like}, {xg})[0]).detach();
    };
    Tensor x = torch::randn({n, length, m.d}, gen, torch::kFloat32);
    if (st.sampler == "ddim")
        x = reverse_exponential(dif, x, guided_score, st.steps, st.corrections, st.tau, normal_noise(gen), st.eta);
    else
        x = reverse_sde(dif, dif.end_std() * x, guided_score, st.steps, st.corrections, st.snr, normal_noise(gen));
    return x * m.std + m.mean;
}

}  // namespace simbi::nn
