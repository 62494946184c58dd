// simbi/rng.h: Philox4x32-10 against the published known-answer vectors, and the moments of the
// derived distributions within their sampling error.
#include <simbi/rng.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "../support.hpp"

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors", "[sdk][rng]") {
    struct Kat {
        uint32_t ctr[4], key[2], out[4];
    };
    // Salmon et al. 2011, Random123 kat_vectors: philox4x32 with 10 rounds.
    const Kat kats[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (const auto& k : kats) {
        uint32_t out[4];
        simbi_philox4x32_10(k.ctr, k.key, out);
        for (int i = 0; i < 4; ++i) CHECK(out[i] == k.out[i]);
    }
}

TEST_CASE("a row's stream depends only on (seed, row)", "[sdk][rng]") {
    simbi_rng a, b, c;
    simbi_rng_init(&a, 7, 123456789012ull);
    simbi_rng_init(&b, 7, 123456789012ull);
    simbi_rng_init(&c, 7, 123456789013ull);
    bool differs = false;
    for (int i = 0; i < 100; ++i) {
        double x = simbi_rng_normal(&a), y = simbi_rng_normal(&b), z = simbi_rng_normal(&c);
        CHECK(x == y);
        differs |= x != z;
    }
    CHECK(differs);
}

TEST_CASE("uniform and normal draws have the right moments", "[sdk][rng]") {
    const int n = 200000;
    std::vector<double> u(n), z(n);
    for (int i = 0; i < n; ++i) {
        simbi_rng r;
        simbi_rng_init(&r, 42, uint64_t(i));
        u[i] = simbi_rng_uniform(&r);
        z[i] = simbi_rng_normal(&r);
        REQUIRE(u[i] >= 0.0);
        REQUIRE(u[i] < 1.0);
    }
    // Tolerances: 5 standard errors. Var(U) = 1/12, Var(mean) = 1/(12 n); Var(s^2) ~ (mu4 - s^4)/n.
    CHECK(std::fabs(simbi_test::mean_of(u) - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
    CHECK(std::fabs(simbi_test::variance_of(u) - 1.0 / 12) < 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));
    CHECK(std::fabs(simbi_test::mean_of(z)) < 5 * std::sqrt(1.0 / n));
    CHECK(std::fabs(simbi_test::variance_of(z) - 1.0) < 5 * std::sqrt(2.0 / n));
}
