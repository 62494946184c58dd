// Priors: moments against the analytic values, normalization, support, and parse errors.
#include "simbi_host/core/prior.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "simbi_host/core/errors.hpp"

using simbi::host::Prior;
using simbi::host::UsageError;

namespace {
std::unique_ptr<Prior> prior(const std::string& json) { return simbi::host::parse_prior_json(json, "test"); }

// Column means and covariances of n draws.
void moments(const Prior& p, int n, std::vector<double>& mean, std::vector<std::vector<double>>& cov) {
    const size_t d = p.dim();
    std::vector<double> t(size_t(n) * d);
    p.sample_rows(uint64_t(n), 11, 0, t.data());
    mean.assign(d, 0.0);
    cov.assign(d, std::vector<double>(d, 0.0));
    for (int i = 0; i < n; ++i)
        for (size_t a = 0; a < d; ++a) mean[a] += t[i * d + a] / n;
    for (int i = 0; i < n; ++i)
        for (size_t a = 0; a < d; ++a)
            for (size_t b = 0; b < d; ++b) cov[a][b] += (t[i * d + a] - mean[a]) * (t[i * d + b] - mean[b]) / (n - 1);
}
}  // namespace

TEST_CASE("box uniform: moments, density and support", "[framework][prior]") {
    auto p = prior(R"({"type": "box_uniform", "low": [0, -2], "high": [1, 2]})");
    std::vector<double> m;
    std::vector<std::vector<double>> c;
    const int n = 100000;
    moments(*p, n, m, c);
    CHECK(std::fabs(m[0] - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
    CHECK(std::fabs(m[1] - 0.0) < 5 * std::sqrt(16.0 / 12 / n));
    double in[2] = {0.5, 1.0}, out[2] = {1.5, 0.0};
    CHECK(p->log_prob(in) == Approx(-std::log(4.0)));
    CHECK(std::isinf(p->log_prob(out)));
    CHECK_FALSE(p->in_support(out));
}

TEST_CASE("normal with full covariance: sample covariance matches", "[framework][prior]") {
    auto p = prior(R"({"type": "normal", "mean": [1, -1], "cov": [[2.0, 0.6], [0.6, 0.5]]})");
    std::vector<double> m;
    std::vector<std::vector<double>> c;
    const int n = 200000;
    moments(*p, n, m, c);
    CHECK(std::fabs(m[0] - 1) < 5 * std::sqrt(2.0 / n));
    CHECK(std::fabs(m[1] + 1) < 5 * std::sqrt(0.5 / n));
    // Var of a sample variance ~ 2 s^4 / n; of a covariance ~ (s11 s22 + s12^2) / n.
    CHECK(std::fabs(c[0][0] - 2.0) < 5 * std::sqrt(2 * 4.0 / n));
    CHECK(std::fabs(c[0][1] - 0.6) < 5 * std::sqrt((1.0 + 0.36) / n));
    CHECK(std::fabs(c[1][1] - 0.5) < 5 * std::sqrt(2 * 0.25 / n));
    // log N(mean; mean, S) = -log(2 pi) - 0.5 log det S.
    double at_mean[2] = {1, -1};
    CHECK(p->log_prob(at_mean) == Approx(-std::log(2 * M_PI) - 0.5 * std::log(2.0 * 0.5 - 0.36)));
}

TEST_CASE("normal given by std and by precision agree", "[framework][prior]") {
    auto a = prior(R"({"type": "normal", "mean": [0, 0], "std": [2, 0.5]})");
    auto b = prior(R"({"type": "normal", "mean": [0, 0], "precision": [[0.25, 0], [0, 4]]})");
    double t[2] = {0.7, -0.3};
    CHECK(a->log_prob(t) == Approx(b->log_prob(t)));
}

TEST_CASE("log-uniform and log-normal: density integrates to one and moments match", "[framework][prior]") {
    auto lu = prior(R"({"type": "log_uniform", "low": [0.1], "high": [10]})");
    auto ln = prior(R"({"type": "log_normal", "loc": [0.2], "scale": [0.5]})");
    // Trapezoid on a log-spaced grid.
    for (const Prior* p : {lu.get(), ln.get()}) {
        double integral = 0, prev_x = 1e-4, prev_f = std::exp(p->log_prob(&prev_x));
        for (int i = 1; i <= 200000; ++i) {
            double x = 1e-4 * std::pow(1e7, i / 200000.0), f = std::exp(p->log_prob(&x));
            if (std::isfinite(f) && std::isfinite(prev_f)) integral += 0.5 * (f + prev_f) * (x - prev_x);
            prev_x = x;
            prev_f = f;
        }
        CHECK(integral == Approx(1.0).epsilon(2e-3));
    }
    std::vector<double> m;
    std::vector<std::vector<double>> c;
    const int n = 200000;
    moments(*ln, n, m, c);
    double mean = std::exp(0.2 + 0.125), var = (std::exp(0.25) - 1) * std::exp(0.4 + 0.25);
    CHECK(std::fabs(m[0] - mean) < 5 * std::sqrt(var / n));
}

TEST_CASE("product priors concatenate their parts", "[framework][prior]") {
    auto p = prior(R"({"type": "product", "parts": [{"type": "box_uniform", "low": [0], "high": [2]},
                                                    {"type": "log_normal", "loc": [0], "scale": [1]}]})");
    REQUIRE(p->dim() == 2);
    double t[2] = {1.0, 1.0};
    CHECK(p->log_prob(t) == Approx(-std::log(2.0) - 0.5 * std::log(2 * M_PI)));
    CHECK(p->lower()[1] == 0.0);
}

TEST_CASE("bad priors give errors that name the JSON path", "[framework][prior]") {
    auto msg = [](const std::string& json) {
        try {
            prior(json);
        } catch (const UsageError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THAT(msg(R"({"type": "box_uniform", "low": [0, 1], "high": [1]})"), Catch::Contains("/high") && Catch::Contains("2 numbers"));
    CHECK_THAT(msg(R"({"type": "box_uniform", "low": [1], "high": [0]})"), Catch::Contains("/high"));
    CHECK_THAT(msg(R"({"type": "gamma"})"), Catch::Contains("/type") && Catch::Contains("box_uniform"));
    CHECK_THAT(msg(R"({"type": "normal", "mean": [0, 0], "cov": [[1, 2], [2, 1]]})"), Catch::Contains("positive-definite"));
    CHECK_THAT(msg(R"({"type": "normal", "mean": [0], "std": [1], "cov": [[1]]})"), Catch::Contains("exactly one"));
    CHECK_THAT(msg(R"({"type": "log_uniform", "low": [0], "high": [1]})"), Catch::Contains("positive"));
    CHECK_THAT(msg(R"({"type": "box_uniform", "low": [0], "high": [1], "hgih": 2})"),
               Catch::Contains("/hgih") && Catch::Contains("unknown key"));
    CHECK_THAT(msg(R"({"type": "product", "parts": [{"type": "normal", "mean": ["a"], "std": [1]}]})"), Catch::Contains("/parts/0/mean/0"));
}
