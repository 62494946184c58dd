// simbi/stats.hpp: statistics shared by the host and the plugins that judge samples (the
// calibration diagnostics, the host's test of where invalid rows lie). Header-only; no state.
#pragma once
#include <algorithm>
#include <cmath>

namespace simbi {

// The regularized upper incomplete gamma function Q(a, x) (Numerical Recipes' gammq: a series
// below a + 1, Lentz's continued fraction above).
// The chi-square survival function with k degrees of freedom is gamma_q(k / 2, x / 2).
inline double gamma_q(double a, double x) {
    if (x <= 0) return 1.0;
    const double gln = std::lgamma(a);
    if (x < a + 1) {
        double sum = 1.0 / a, term = sum, ap = a;
        for (int i = 0; i < 1000; ++i) {
            ap += 1;
            term *= x / ap;
            sum += term;
            if (std::fabs(term) < std::fabs(sum) * 1e-15) break;
        }
        return std::max(0.0, 1.0 - sum * std::exp(-x + a * std::log(x) - gln));
    }
    double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
    for (int i = 1; i < 1000; ++i) {
        const double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (std::fabs(d) < 1e-300) d = 1e-300;
        c = b + an / c;
        if (std::fabs(c) < 1e-300) c = 1e-300;
        d = 1 / d;
        const double delta = d * c;
        h *= delta;
        if (std::fabs(delta - 1) < 1e-15) break;
    }
    return std::exp(-x + a * std::log(x) - gln) * h;
}

}  // namespace simbi
