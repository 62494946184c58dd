// The reverse-time samplers of score-based models (neural/diffusion.hpp), driven by the exact
// score of a 1-D Gaussian: theta_0 ~ N(mu, v) diffuses to theta_t ~ N(m mu, m^2 v + s^2), whose
// score is -(theta - m mu) / (m^2 v + s^2). Started from that law at t = 1, a sampler must end
// at N(mu, v).
// LibTorch pulls in glog, whose CHECK macro would shadow Catch's: include torch first.
#include "neural/diffusion.hpp"
#undef CHECK
#include <catch2/catch.hpp>

using namespace simbi::nn;

namespace {

constexpr double kMu = 1.5, kVar = 0.09;
// Rows of 64 i.i.d. entries, as a trajectory's: the Langevin corrector sizes its step per row.
constexpr int64_t kRows = 500, kDim = 64;

std::function<Tensor(double, const Tensor&)> exact_score(const Diffusion& dif) {
    return [dif](double t, const Tensor& x) {
        const double m = dif.mean(t), s = dif.std(t);
        return -(x - m * kMu) / (m * m * kVar + s * s);
    };
}

Tensor start(const Diffusion& dif, at::Generator& gen) {
    const double m = dif.mean(1), s = dif.std(1);
    return m * kMu + std::sqrt(m * m * kVar + s * s) * torch::randn({kRows, kDim}, gen, torch::kFloat64);
}

// Mean within 5 standard errors plus `bias`, standard deviation within 5 standard errors plus `bias`.
void check_law(const Tensor& x, double bias) {
    const double mean = x.mean().item<double>(), sd = x.std().item<double>(), sd_true = std::sqrt(kVar);
    INFO("mean " << mean << ", sd " << sd);
    CHECK(std::fabs(mean - kMu) < 5 * sd_true / std::sqrt(double(kRows * kDim)) + bias);
    CHECK(std::fabs(sd / sd_true - 1) < 5 / std::sqrt(2.0 * double(kRows * kDim)) + bias);
}

}  // namespace

TEST_CASE("the exponential integrator carries the diffused Gaussian back to the data's law", "[neural][diffusion]") {
    for (bool vp : {true, false}) {
        Diffusion dif;
        dif.vp = vp;
        INFO((vp ? "VP" : "VE"));
        at::Generator gen = at::detail::createCPUGenerator(7);
        // Deterministic in 64 steps, and with one Langevin correction a step, whose discretization
        // widens the law a little (a Gaussian's sd by 1 / sqrt(1 - tau / 2) at stationarity).
        check_law(reverse_exponential(dif, start(dif, gen), exact_score(dif), 64, 0, 0.0, normal_noise(gen)), 0.01);
        check_law(reverse_exponential(dif, start(dif, gen), exact_score(dif), 64, 1, 0.01, normal_noise(gen)), 0.01);
    }
}

TEST_CASE("the exponential integrator's ancestral steps (eta > 0) keep the data's law", "[neural][diffusion]") {
    for (bool vp : {true, false}) {
        for (double eta : {0.5, 1.0}) {
            Diffusion dif;
            dif.vp = vp;
            INFO((vp ? "VP" : "VE") << ", eta " << eta);
            at::Generator gen = at::detail::createCPUGenerator(9);
            // Converged in 64 steps; NPSE's default 20 widens the law by a few percent.
            check_law(reverse_exponential(dif, start(dif, gen), exact_score(dif), 64, 0, 0.0, normal_noise(gen), eta), 0.01);
            check_law(reverse_exponential(dif, start(dif, gen), exact_score(dif), 20, 0, 0.0, normal_noise(gen), eta), 0.05);
        }
    }
}

TEST_CASE("the times drawn even in log SNR invert the log SNR", "[neural][diffusion]") {
    for (bool vp : {true, false}) {
        Diffusion dif;
        dif.vp = vp;
        INFO((vp ? "VP" : "VE"));
        for (double t : {0.001, 0.01, 0.3, 0.99}) {
            const Tensor lambda = torch::full({1, 1}, dif.log_snr(t), torch::kFloat64);
            CHECK(dif.time_at_log_snr(lambda).item<double>() == Approx(t).epsilon(1e-9));
            CHECK(dif.time_at_log_snr(dif.log_snr(t)) == Approx(t).epsilon(1e-9));
        }
    }
}

TEST_CASE("training times: uniform in t, even in log SNR, or half of each", "[neural][diffusion]") {
    const int64_t n = 200000;
    // A fraction of n draws within 5 standard errors of its probability.
    auto check_fraction = [&](const Tensor& hits, double p) {
        CHECK(std::fabs(hits.to(torch::kFloat64).mean().item<double>() - p) < 5 * std::sqrt(p * (1 - p) / double(n)));
    };
    for (bool vp : {true, false}) {
        Diffusion dif;
        dif.vp = vp;
        INFO((vp ? "VP" : "VE"));
        torch::manual_seed(4);
        const double l1 = dif.log_snr(1.0), l0 = dif.log_snr(dif.t_eps()), t_mid = 0.1;
        // The probability of t < 0.1 under each mode: even in t, and even in lambda on [l1, l0].
        const double p_uniform = (t_mid - dif.t_eps()) / (1 - dif.t_eps()), p_snr = (l0 - dif.log_snr(t_mid)) / (l0 - l1);
        const Tensor uniform = dif.training_times(n, "uniform"), snr = dif.training_times(n, "log_snr"),
                     mixed = dif.training_times(n, "mixed");
        CHECK(uniform.sizes() == torch::IntArrayRef({n, 1}));
        for (const Tensor& t : {uniform, snr, mixed}) {
            CHECK(t.min().item<double>() >= dif.t_eps());
            CHECK(t.max().item<double>() <= 1.0);
        }
        check_fraction(uniform < t_mid, p_uniform);
        check_fraction(snr < t_mid, p_snr);
        check_fraction(mixed < t_mid, 0.5 * (p_uniform + p_snr));
        // Even in lambda: each quarter of [l1, l0] holds a quarter of the draws.
        const auto [m, s] = dif.mean_std(snr.to(torch::kFloat64));
        const Tensor lambda = 2 * (torch::log(m) - torch::log(s));
        for (int q = 1; q < 4; ++q) check_fraction(lambda < l1 + (l0 - l1) * q / 4.0, q / 4.0);
    }
    CHECK_THROWS_WITH(Diffusion().training_times(4, "even"), Catch::Contains("time_sampling"));
}

TEST_CASE("the reverse SDE carries the diffused Gaussian back to the data's law", "[neural][diffusion]") {
    Diffusion dif;
    at::Generator gen = at::detail::createCPUGenerator(8);
    check_law(reverse_sde(dif, start(dif, gen), exact_score(dif), 256, 0, 0.16, normal_noise(gen)), 0.02);
}
