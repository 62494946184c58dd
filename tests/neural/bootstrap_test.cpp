// Bayesian-bootstrap row weights: Exp(1) per row and member, tied to the row, not to its batch.
// LibTorch pulls in glog, whose CHECK macro would shadow Catch's: include torch first.
#include "neural/neural.hpp"
#undef CHECK
#include <catch2/catch.hpp>

using namespace simbi::nn;

TEST_CASE("bootstrap weights follow the rows, whatever the batch", "[neural][bootstrap]") {
    torch::manual_seed(3);
    const Tensor theta = torch::randn({64, 2}), x = torch::randn({64, 3});
    const Tensor w = bootstrap_weights(theta, x, 4, 11);
    REQUIRE(w.sizes() == torch::IntArrayRef({4, 64}));
    // Shuffled rows carry their weights with them; a batch split in two gives the same weights.
    const Tensor perm = torch::randperm(64);
    CHECK(torch::equal(bootstrap_weights(theta.index({perm}), x.index({perm}), 4, 11), w.index({torch::indexing::Slice(), perm})));
    const Tensor halves = torch::cat({bootstrap_weights(theta.narrow(0, 0, 20), x.narrow(0, 0, 20), 4, 11),
                                      bootstrap_weights(theta.narrow(0, 20, 44), x.narrow(0, 20, 44), 4, 11)},
                                     1);
    CHECK(torch::equal(halves, w));
    // Members and seeds draw their own weights; the same seed draws the same ones.
    CHECK(!torch::equal(w[0], w[1]));
    CHECK(!torch::equal(bootstrap_weights(theta, x, 4, 12), w));
    CHECK(torch::equal(bootstrap_weights(theta, x, 4, 11), w));
    // A row differing in one value of x gets other weights.
    Tensor x2 = x.clone();
    x2[5][1] += 1e-3;
    CHECK(!torch::equal(bootstrap_weights(theta, x2, 4, 11)[0][5], w[0][5]));
    CHECK(torch::equal(bootstrap_weights(theta, x2, 4, 11)[0][6], w[0][6]));
}

TEST_CASE("bootstrap weights are Exp(1)", "[neural][bootstrap]") {
    torch::manual_seed(5);
    const int64_t n = 20000, m = 5;
    const Tensor w = bootstrap_weights(torch::rand({n, 2}), torch::rand({n, 2}), m, 1).to(torch::kFloat64);
    CHECK(w.min().item<double>() >= 0);
    // Exp(1): mean 1, variance 1, P(w > 1) = e^-1. Each bound is four standard errors of n m draws
    // (the variance of the sample variance is E[(w - 1)^4] - 1 = 8).
    const double count = double(n * m);
    CHECK(std::fabs(w.mean().item<double>() - 1) < 4 * std::sqrt(1 / count));
    CHECK(std::fabs(w.var().item<double>() - 1) < 4 * std::sqrt(8 / count));
    const double above = (w > 1).to(torch::kFloat64).mean().item<double>(), p = std::exp(-1.0);
    CHECK(std::fabs(above - p) < 4 * std::sqrt(p * (1 - p) / count));
    // The members' weights of one row are independent: their correlation is within 4 / sqrt(n) of 0.
    const Tensor c = torch::corrcoef(w);
    CHECK((c - torch::eye(m, torch::kFloat64)).abs().max().item<double>() < 4 / std::sqrt(double(n)));
}
