// Score-based data assimilation on a linear-Gaussian state-space model, whose smoothing posterior
// a Kalman (Rauch-Tung-Striebel) smoother gives exactly.
// LibTorch pulls in glog, whose CHECK macro would shadow Catch's: include torch first.
#include "neural/sda.hpp"
#undef CHECK
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <unistd.h>

using namespace simbi::nn;

namespace {

// x_{i+1} = a x_i + N(0, q) with a stationary start N(0, 1) (q = 1 - a^2); y at the observed
// times = x + N(0, r). Returns the smoother's means and variances.
std::pair<std::vector<double>, std::vector<double>> rts_smoother(int64_t length, double a, const std::vector<int64_t>& times,
                                                                 const std::vector<double>& y, double r) {
    const double q = 1 - a * a;
    const size_t len = size_t(length);
    std::vector<double> mf(len), pf(len), mp(len), pp(len);
    size_t next = 0;
    for (int64_t i = 0; i < length; ++i) {
        mp[size_t(i)] = i == 0 ? 0 : a * mf[size_t(i - 1)];
        pp[size_t(i)] = i == 0 ? 1 : a * a * pf[size_t(i - 1)] + q;
        double m = mp[size_t(i)], p = pp[size_t(i)];
        if (next < times.size() && times[next] == i) {
            const double gain = p / (p + r);
            m += gain * (y[next] - m);
            p *= 1 - gain;
            ++next;
        }
        mf[size_t(i)] = m;
        pf[size_t(i)] = p;
    }
    std::vector<double> ms = mf, ps = pf;
    for (int64_t i = length - 2; i >= 0; --i) {
        const double c = pf[size_t(i)] * a / pp[size_t(i + 1)];
        ms[size_t(i)] = mf[size_t(i)] + c * (ms[size_t(i + 1)] - mp[size_t(i + 1)]);
        ps[size_t(i)] = pf[size_t(i)] + c * c * (ps[size_t(i + 1)] - pp[size_t(i + 1)]);
    }
    return {ms, ps};
}

}  // namespace

namespace {

void check_against_smoother(const SdaSettings& network) {
    const double a = 0.9, r = 0.25;
    const int64_t length = 48, n = 128;
    torch::manual_seed(3);
    // Windows of 5 states of the stationary chain: all the training SDA needs (k = 2).
    const int64_t windows = 40000;
    Tensor w = torch::zeros({windows, 5, 1});
    w.select(1, 0).copy_(torch::randn({windows, 1}));
    for (int64_t i = 1; i < 5; ++i) w.select(1, i).copy_(a * w.select(1, i - 1) + std::sqrt(1 - a * a) * torch::randn({windows, 1}));
    SdaSettings settings = network;
    settings.steps = 128;
    TrajectoryScore sda(1, settings);
    sda.train(w, 30, 256, 1e-3, 5);
    // One true trajectory, observed every 4th state with noise r.
    std::vector<double> truth(static_cast<size_t>(length));
    truth[0] = torch::randn({1}).item<double>();
    for (int64_t i = 1; i < length; ++i)
        truth[size_t(i)] = a * truth[size_t(i - 1)] + std::sqrt(1 - a * a) * torch::randn({1}).item<double>();
    Observation obs;
    obs.sigma = std::sqrt(r);
    std::vector<double> y;
    std::vector<float> yf;
    for (int64_t i = 0; i < length; i += 4) {
        obs.index.push_back(i);
        y.push_back(truth[size_t(i)] + obs.sigma * torch::randn({1}).item<double>());
        yf.push_back(float(y.back()));
    }
    obs.y = torch::tensor(yf);
    const auto [mean, var] = rts_smoother(length, a, obs.index, y, r);
    double sd = 0;
    for (int64_t i = 0; i < length; ++i) sd += var[size_t(i)];
    const double post_sd = std::sqrt(sd / double(length));
    // Both samplers, one correction each.
    for (const std::string sampler : {"sde", "ddim"}) {
        sda.settings().sampler = sampler;
        sda.settings().corrections = 1;
        const Tensor samples = sda.sample(n, length, &obs, 9).squeeze(2);  // [n, L]
        const Tensor got = samples.mean(0);
        double se = 0;
        for (int64_t i = 0; i < length; ++i) se += std::pow(got[i].item<double>() - mean[size_t(i)], 2);
        const double rmse = std::sqrt(se / double(length));
        const double spread = samples.std(0).pow(2).mean().sqrt().item<double>();
        INFO(network.network << ", " << sampler << ": RMSE to the smoother's mean " << rmse << ", mean posterior sd " << post_sd
                             << ", spread " << spread);
        // The Monte Carlo error of a mean of 128 draws is post_sd / 11; the tolerance, 0.3 post_sd,
        // leaves room for the approximations (window score, Gaussian likelihood score).
        CHECK(rmse < 0.3 * post_sd);
        // The samples' spread matches the smoother's within 25%.
        CHECK(std::fabs(spread / post_sd - 1) < 0.25);
    }
}

}  // namespace

TEST_CASE("SDA's posterior mean on a linear-Gaussian chain is the Kalman smoother's", "[neural][sda]") {
    SdaSettings mlp;
    mlp.hidden = {128, 128};
    SECTION("ELU MLP") { check_against_smoother(mlp); }
    SdaSettings residual;
    residual.network = "residual";
    residual.hidden = {64, 64, 64};
    SECTION("residual MLP with a learned time embedding") { check_against_smoother(residual); }
}

TEST_CASE("SDA rejects an unknown time sampling when it is set up", "[neural][sda]") {
    SdaSettings settings;
    settings.time_sampling = "even";
    CHECK_THROWS_WITH(TrajectoryScore(1, settings), Catch::Contains("time_sampling"));
}

TEST_CASE("SDA rejects an unknown network and an empty hidden list", "[neural][sda]") {
    SdaSettings settings;
    settings.network = "transformer";
    CHECK_THROWS_WITH(TrajectoryScore(1, settings), Catch::Contains("network must be mlp or residual"));
    settings.network = "residual";
    settings.hidden.clear();
    CHECK_THROWS_WITH(TrajectoryScore(1, settings), Catch::Contains("hidden"));
}

TEST_CASE("a saved SDA score loads into matching settings and gives the same score", "[neural][sda]") {
    const std::string dir = (std::filesystem::temp_directory_path() / ("simbi_sda_score_" + std::to_string(::getpid()))).string();
    torch::manual_seed(1);
    const Tensor windows = torch::randn({512, 3, 2});
    for (const std::string network : {"mlp", "residual"}) {
        SdaSettings settings;
        settings.k = 1;
        settings.network = network;
        settings.hidden = {16, 16};
        TrajectoryScore trained(2, settings);
        trained.train(windows, 1, 128, 1e-3, 4);
        trained.save(dir, json{{"trained_on", "noise"}});
        TrajectoryScore loaded(2, settings);
        CHECK(loaded.load(dir) == json{{"trained_on", "noise"}});
        const Tensor x = torch::randn({2, 6, 2});
        torch::NoGradGuard no_grad;
        CHECK(torch::allclose(trained.score(0.3, x), loaded.score(0.3, x)));
        // Other settings are refused, naming what differs.
        SdaSettings wider = settings;
        wider.hidden = {32, 32};
        TrajectoryScore mismatched(2, wider);
        CHECK_THROWS_WITH(mismatched.load(dir), Catch::Contains("hidden"));
    }
    // Weights of the same network trained otherwise, not the ones score.json describes, are refused.
    {
        SdaSettings settings;
        settings.k = 1;
        settings.network = "residual";
        settings.hidden = {16, 16};
        TrajectoryScore other(2, settings);
        other.train(windows, 1, 128, 1e-3, 5);
        const std::string elsewhere = dir + "_other";
        other.save(elsewhere, json::object());
        std::filesystem::copy_file(elsewhere + "/weights.pt", dir + "/weights.pt", std::filesystem::copy_options::overwrite_existing);
        std::filesystem::remove_all(elsewhere);
        TrajectoryScore loaded(2, settings);
        CHECK_THROWS_WITH(loaded.load(dir), Catch::Contains("not the file score.json describes"));
    }
    std::filesystem::remove_all(dir);
}
