// What the calibration diagnostics (coverage, sbc, tarp) share: binomial bands, the chi-square
// test, per-pair seeds and ranks. Header-only and torch-free.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <simbi/diagnostic.hpp>
#include <simbi/rng.h>
#include <simbi/stats.hpp>

namespace simbi::calibration {

// log C(n, k) p^k (1-p)^(n-k)
inline double log_binomial_pmf(uint64_t k, uint64_t n, double p) {
    if (p <= 0) return k == 0 ? 0.0 : -INFINITY;
    if (p >= 1) return k == n ? 0.0 : -INFINITY;
    return std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1) + double(k) * std::log(p) +
           double(n - k) * std::log1p(-p);
}

// The central `level` interval of Binomial(n, p) / n: the fractions a calibrated method's
// empirical frequency falls between with probability at least `level`.
struct Band {
    double low, high;
};
inline Band binomial_band(uint64_t n, double p, double level) {
    if (n == 0) return {0.0, 1.0};
    const double tail = (1 - level) / 2;
    double cdf = 0;
    uint64_t lo = 0, hi = n;
    bool have_lo = false;
    for (uint64_t k = 0; k <= n; ++k) {
        cdf += std::exp(log_binomial_pmf(k, n, p));
        if (!have_lo && cdf >= tail) {
            lo = k;
            have_lo = true;
        }
        if (cdf >= 1 - tail) {
            hi = k;
            break;
        }
    }
    return {double(lo) / double(n), double(hi) / double(n)};
}

using simbi::gamma_q;  // simbi/stats.hpp

// Pearson's chi-square test of counts against equal expected counts: the p-value.
inline double chi_square_uniform_p(const std::vector<double>& counts) {
    double total = 0;
    for (double c : counts) total += c;
    if (counts.size() < 2 || total <= 0) return 1.0;
    const double expected = total / double(counts.size());
    double stat = 0;
    for (double c : counts) stat += (c - expected) * (c - expected) / expected;
    return gamma_q(0.5 * double(counts.size() - 1), 0.5 * stat);
}

// L posterior draws for each held-out pair: [pairs.n, L, d]. The pairs go to the posterior in
// blocks of about 2^20 draws, so that an MCMC estimator advances all of a block's chains
// together; the block sizes depend on L alone, so the draws do not depend on the machine.
inline std::vector<double> draws_for_pairs(const simbi::DiagnosticContext& ctx, const simbi::Pairs& pairs, uint64_t L, uint64_t seed) {
    const uint64_t d = pairs.theta_dim;
    const uint64_t block = std::max<uint64_t>(1, (uint64_t(1) << 20) / std::max<uint64_t>(1, L));
    std::vector<double> draws;
    draws.reserve(pairs.n * L * d);
    for (uint64_t b0 = 0; b0 < pairs.n; b0 += block) {
        const uint64_t nb = std::min(block, pairs.n - b0);
        const std::vector<double> part = ctx.sample_batch(pairs.x_row(b0), nb, L, simbi_rng_mix(seed, 1000003 + b0));
        draws.insert(draws.end(), part.begin(), part.end());
    }
    return draws;
}

// The default grid of credibility levels: 0.05, 0.10, ..., 0.95, 0.99.
// The settings the calibration diagnostics share, declared once.
inline simbi::Option pairs_option(long long dflt) {
    return simbi::Option::integer(dflt).minimum(1).maximum(1000000).doc("held-out pairs (theta*, x*)");
}
inline simbi::Option draws_option(long long dflt, const std::string& doc) {
    return simbi::Option::integer(dflt).minimum(1).maximum(1000000).doc(doc);
}
inline simbi::Option band_option(const std::string& where) {
    return simbi::Option::number(0.99).above(0).below(1).doc("probability of the binomial band " + where);
}

inline std::vector<double> default_levels() {
    std::vector<double> l;
    for (int i = 1; i <= 19; ++i) l.push_back(0.05 * i);
    l.push_back(0.99);
    return l;
}

inline std::vector<double> checked_levels(std::vector<double> levels, const std::string& key) {
    for (double v : levels)
        if (!(v > 0 && v < 1)) throw std::invalid_argument(key + ": every level must be in (0, 1)");
    if (levels.empty()) throw std::invalid_argument(key + ": no levels");
    std::sort(levels.begin(), levels.end());
    return levels;
}

}  // namespace simbi::calibration
