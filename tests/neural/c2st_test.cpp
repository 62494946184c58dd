// C2ST, the benchmark's yardstick, against distributions whose best accuracy is known: equal
// samples sit at chance, disjoint ones at 1, and a shift of delta between two unit Gaussians at
// the Bayes accuracy Phi(delta / 2). Tolerances: the held-out accuracy over 2n points has a
// standard error of at most sqrt(0.25 / 2n) (0.008 at n = 2000); each bound allows 3 of them.
#include "neural/neural.hpp"
#undef CHECK
#include <catch2/catch.hpp>

#include <cmath>

using namespace simbi::nn;

namespace {
constexpr int64_t kRows = 2000;
const double kTolerance = 3 * std::sqrt(0.25 / (2.0 * kRows));

Tensor gaussian(int64_t rows, int64_t dim, double shift, uint64_t seed) {
    at::Generator gen = make_generator(seed, 1);
    Tensor z = torch::randn({rows, dim}, gen, torch::kFloat64);
    z.select(1, 0).add_(shift);
    return z;
}
double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
}  // namespace

TEST_CASE("C2ST of two samples of one distribution is at chance", "[neural][c2st]") {
    ThreadScope one(1);
    const double c = c2st(gaussian(kRows, 3, 0, 1), gaussian(kRows, 3, 0, 2), 42);
    CHECK(c == Approx(0.5).margin(kTolerance));
}

TEST_CASE("C2ST of disjoint samples is 1", "[neural][c2st]") {
    ThreadScope one(1);
    CHECK(c2st(gaussian(kRows, 2, 0, 3), gaussian(kRows, 2, 20, 4), 42) >= 0.999);
}

TEST_CASE("C2ST of shifted Gaussians reaches the Bayes accuracy", "[neural][c2st]") {
    ThreadScope one(1);
    // Unit Gaussians a distance delta apart along one axis, two more axes of pure noise.
    const double delta = 1.0, bayes = normal_cdf(delta / 2);  // 0.691
    const double c = c2st(gaussian(kRows, 3, 0, 5), gaussian(kRows, 3, delta, 6), 42);
    CHECK(c == Approx(bayes).margin(kTolerance));
    // The same seed gives the same figure.
    CHECK(c2st(gaussian(kRows, 3, 0, 5), gaussian(kRows, 3, delta, 6), 42) == c);
}
