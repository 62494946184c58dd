#include "simbi_host/core/prior.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/sha256.hpp"

namespace simbi::host {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLogSqrt2Pi = 0.91893853320467274178;

class BoxUniform : public Prior {
public:
    BoxUniform(std::vector<double> low, std::vector<double> high) {
        lower_ = low;
        upper_ = high;
        log_density_ = 0.0;
        for (size_t i = 0; i < low.size(); ++i) log_density_ -= std::log(high[i] - low[i]);
        spec_ = {{"type", "box_uniform"}, {"low", low}, {"high", high}};
    }
    void sample(simbi_rng& rng, double* t) const override {
        for (size_t i = 0; i < dim(); ++i) t[i] = simbi_rng_uniform_range(&rng, lower_[i], upper_[i]);
    }
    double log_prob(const double* t) const override { return in_support(t) ? log_density_ : -kInf; }

private:
    double log_density_;
};

// Every draw at one theta: the simulator's own noise is all that varies (trajectories for data
// assimilation). Its density is a point mass: log p is 0 at theta and -inf elsewhere.
class Point : public Prior {
public:
    explicit Point(std::vector<double> at) {
        lower_ = upper_ = at;
        spec_ = {{"type", "point"}, {"at", at}};
    }
    void sample(simbi_rng&, double* t) const override { std::copy(lower_.begin(), lower_.end(), t); }
    double log_prob(const double* t) const override { return std::equal(lower_.begin(), lower_.end(), t) ? 0.0 : -kInf; }
};

// N(mean, L L^T) with L lower-triangular (Cholesky).
class Normal : public Prior {
public:
    Normal(std::vector<double> mean, std::vector<std::vector<double>> chol, json spec) : mean_(mean), L_(chol) {
        lower_.assign(mean.size(), -kInf);
        upper_.assign(mean.size(), kInf);
        log_norm_ = -double(mean.size()) * kLogSqrt2Pi;
        for (size_t i = 0; i < mean.size(); ++i) log_norm_ -= std::log(L_[i][i]);
        spec_ = std::move(spec);
    }
    void sample(simbi_rng& rng, double* t) const override {
        const size_t d = dim();
        double z[64];
        std::vector<double> zv;
        double* zp = z;
        if (d > 64) {
            zv.resize(d);
            zp = zv.data();
        }
        for (size_t i = 0; i < d; ++i) zp[i] = simbi_rng_normal(&rng);
        for (size_t i = 0; i < d; ++i) {
            double s = mean_[i];
            for (size_t j = 0; j <= i; ++j) s += L_[i][j] * zp[j];
            t[i] = s;
        }
    }
    double log_prob(const double* t) const override {
        // Solve L z = theta - mean by forward substitution; log p = -|z|^2/2 + log_norm.
        const size_t d = dim();
        std::vector<double> z(d);
        double q = 0.0;
        for (size_t i = 0; i < d; ++i) {
            double s = t[i] - mean_[i];
            for (size_t j = 0; j < i; ++j) s -= L_[i][j] * z[j];
            z[i] = s / L_[i][i];
            q += z[i] * z[i];
        }
        return log_norm_ - 0.5 * q;
    }

private:
    std::vector<double> mean_;
    std::vector<std::vector<double>> L_;
    double log_norm_;
};

class LogUniform : public Prior {
public:
    LogUniform(std::vector<double> low, std::vector<double> high) {
        lower_ = low;
        upper_ = high;
        spec_ = {{"type", "log_uniform"}, {"low", low}, {"high", high}};
    }
    void sample(simbi_rng& rng, double* t) const override {
        for (size_t i = 0; i < dim(); ++i) t[i] = std::exp(simbi_rng_uniform_range(&rng, std::log(lower_[i]), std::log(upper_[i])));
    }
    double log_prob(const double* t) const override {
        if (!in_support(t)) return -kInf;
        double lp = 0.0;
        for (size_t i = 0; i < dim(); ++i) lp -= std::log(t[i]) + std::log(std::log(upper_[i] / lower_[i]));
        return lp;
    }
};

class LogNormal : public Prior {
public:
    LogNormal(std::vector<double> loc, std::vector<double> scale) : loc_(loc), scale_(scale) {
        lower_.assign(loc.size(), 0.0);
        upper_.assign(loc.size(), kInf);
        spec_ = {{"type", "log_normal"}, {"loc", loc}, {"scale", scale}};
    }
    void sample(simbi_rng& rng, double* t) const override {
        for (size_t i = 0; i < dim(); ++i) t[i] = std::exp(loc_[i] + scale_[i] * simbi_rng_normal(&rng));
    }
    double log_prob(const double* t) const override {
        double lp = 0.0;
        for (size_t i = 0; i < dim(); ++i) {
            if (!(t[i] > 0.0)) return -kInf;
            double z = (std::log(t[i]) - loc_[i]) / scale_[i];
            lp += -0.5 * z * z - kLogSqrt2Pi - std::log(scale_[i]) - std::log(t[i]);
        }
        return lp;
    }

private:
    std::vector<double> loc_, scale_;
};

class Product : public Prior {
public:
    explicit Product(std::vector<std::unique_ptr<Prior>> parts) : parts_(std::move(parts)) {
        json specs = json::array();
        for (const auto& p : parts_) {
            lower_.insert(lower_.end(), p->lower().begin(), p->lower().end());
            upper_.insert(upper_.end(), p->upper().begin(), p->upper().end());
            specs.push_back(p->spec());
        }
        spec_ = {{"type", "product"}, {"parts", specs}};
    }
    void sample(simbi_rng& rng, double* t) const override {
        for (const auto& p : parts_) {
            p->sample(rng, t);
            t += p->dim();
        }
    }
    double log_prob(const double* t) const override {
        double lp = 0.0;
        for (const auto& p : parts_) {
            lp += p->log_prob(t);
            t += p->dim();
        }
        return lp;
    }

private:
    std::vector<std::unique_ptr<Prior>> parts_;
};

// Cholesky factor of a symmetric positive-definite matrix; false if it is not.
bool cholesky(const std::vector<std::vector<double>>& A, std::vector<std::vector<double>>& L) {
    const size_t n = A.size();
    L.assign(n, std::vector<double>(n, 0.0));
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j <= i; ++j) {
            double s = A[i][j];
            for (size_t k = 0; k < j; ++k) s -= L[i][k] * L[j][k];
            if (i == j) {
                if (!(s > 0.0)) return false;
                L[i][i] = std::sqrt(s);
            } else {
                L[i][j] = s / L[j][j];
            }
        }
    return true;
}

// Inverse of a symmetric positive-definite matrix from its Cholesky factor.
std::vector<std::vector<double>> spd_inverse(const std::vector<std::vector<double>>& L) {
    const size_t n = L.size();
    std::vector<std::vector<double>> inv(n, std::vector<double>(n, 0.0));
    for (size_t c = 0; c < n; ++c) {
        std::vector<double> y(n), x(n);
        for (size_t i = 0; i < n; ++i) {  // L y = e_c
            double s = i == c ? 1.0 : 0.0;
            for (size_t k = 0; k < i; ++k) s -= L[i][k] * y[k];
            y[i] = s / L[i][i];
        }
        for (size_t i = n; i-- > 0;) {  // L^T x = y
            double s = y[i];
            for (size_t k = i + 1; k < n; ++k) s -= L[k][i] * x[k];
            x[i] = s / L[i][i];
        }
        for (size_t i = 0; i < n; ++i) inv[i][c] = x[i];
    }
    return inv;
}

std::vector<double> vector_of(const JsonReader& r, const std::string& key, size_t expected_dim) {
    std::vector<double> v = r.numbers(key);
    if (v.empty()) r.fail(key, "a non-empty array of numbers");
    for (double x : v)
        if (!std::isfinite(x)) r.fail(key, "finite numbers");
    if (expected_dim && v.size() != expected_dim)
        r.fail(key, "an array of " + std::to_string(expected_dim) + " numbers (one per parameter)");
    return v;
}

void check_square(const JsonReader& r, const std::string& key, const std::vector<std::vector<double>>& m, size_t d) {
    if (m.size() != d) r.fail(key, "a " + std::to_string(d) + "x" + std::to_string(d) + " matrix");
    for (const auto& row : m)
        if (row.size() != d) r.fail(key, "a " + std::to_string(d) + "x" + std::to_string(d) + " matrix");
    for (size_t i = 0; i < d; ++i)
        for (size_t j = 0; j < i; ++j)
            if (std::fabs(m[i][j] - m[j][i]) > 1e-9 * (std::fabs(m[i][j]) + std::fabs(m[j][i]) + 1e-300)) r.fail(key, "a symmetric matrix");
}

std::unique_ptr<Prior> parse_normal(const JsonReader& r) {
    std::vector<double> mean = vector_of(r, "mean", 0);
    const size_t d = mean.size();
    int given = int(r.has("std")) + int(r.has("cov")) + int(r.has("precision"));
    if (given != 1) r.fail_here("a normal prior needs exactly one of \"std\", \"cov\" or \"precision\"");
    std::vector<std::vector<double>> L(d, std::vector<double>(d, 0.0));
    json spec = {{"type", "normal"}, {"mean", mean}};
    if (r.has("std")) {
        std::vector<double> s = vector_of(r, "std", d);
        for (size_t i = 0; i < d; ++i) {
            if (!(s[i] > 0.0)) r.fail("std", "positive numbers");
            L[i][i] = s[i];
        }
        spec["std"] = s;
    } else if (r.has("cov")) {
        auto cov = r.matrix("cov");
        check_square(r, "cov", cov, d);
        if (!cholesky(cov, L)) r.fail("cov", "a positive-definite matrix");
        spec["cov"] = cov;
    } else {
        auto prec = r.matrix("precision");
        check_square(r, "precision", prec, d);
        std::vector<std::vector<double>> Lp;
        if (!cholesky(prec, Lp)) r.fail("precision", "a positive-definite matrix");
        if (!cholesky(spd_inverse(Lp), L)) r.fail("precision", "a well-conditioned matrix");
        spec["precision"] = prec;
    }
    return std::make_unique<Normal>(mean, L, spec);
}

}  // namespace

bool Prior::in_support(const double* t) const {
    for (size_t i = 0; i < dim(); ++i)
        if (!(t[i] >= lower_[i] && t[i] <= upper_[i])) return false;
    return true;
}

void Prior::sample_rows(uint64_t n, uint64_t seed, uint64_t row_offset, double* theta) const {
    for (uint64_t i = 0; i < n; ++i) {
        simbi_rng rng;
        simbi_rng_init(&rng, seed, row_offset + i);
        sample(rng, theta + i * dim());
    }
}

TableProposal::TableProposal(const Prior& base, std::vector<double> rows) : base_(base), rows_(std::move(rows)) {
    lower_ = base.lower();
    upper_ = base.upper();
    spec_ = {{"type", "table"},
             {"base", base.spec()},
             {"rows", rows_.size() / std::max<size_t>(1, base.dim())},
             {"sha256", sha256_hex(rows_.data(), rows_.size() * sizeof(double))}};
}

void TableProposal::sample_row(uint64_t row, simbi_rng& rng, double* theta) const {
    if (row >= rows()) {
        sample(rng, theta);  // past the table (never in a planned run): a fresh draw
        return;
    }
    std::copy(rows_.begin() + long(row * dim()), rows_.begin() + long((row + 1) * dim()), theta);
}

std::unique_ptr<Prior> parse_prior(const JsonReader& r) {
    std::string type = r.choice("type", {"box_uniform", "normal", "log_uniform", "log_normal", "product", "point"}, "");
    std::unique_ptr<Prior> prior;
    if (type == "box_uniform" || type == "log_uniform") {
        std::vector<double> low = vector_of(r, "low", 0), high = vector_of(r, "high", low.size());
        for (size_t i = 0; i < low.size(); ++i) {
            if (!(high[i] > low[i])) r.fail("high", "values above \"low\" in every dimension");
            // A width that overflows to inf has no uniform density, and sampling it never ends.
            if (!std::isfinite(high[i] - low[i]))
                r.fail("high", "a finite width high - low in every dimension (dimension " + std::to_string(i) + " overflows)");
            if (type == "log_uniform" && !(low[i] > 0.0)) r.fail("low", "positive numbers (log-uniform)");
        }
        if (type == "box_uniform")
            prior = std::make_unique<BoxUniform>(low, high);
        else
            prior = std::make_unique<LogUniform>(low, high);
    } else if (type == "normal") {
        prior = parse_normal(r);
    } else if (type == "point") {
        std::vector<double> at = vector_of(r, "at", 0);
        for (double v : at)
            if (!std::isfinite(v)) r.fail("at", "finite numbers");
        prior = std::make_unique<Point>(at);
    } else if (type == "log_normal") {
        std::vector<double> loc = vector_of(r, "loc", 0), scale = vector_of(r, "scale", loc.size());
        for (double s : scale)
            if (!(s > 0.0) || !std::isfinite(s)) r.fail("scale", "positive finite numbers");
        prior = std::make_unique<LogNormal>(loc, scale);
    } else {
        const json& parts = r.raw("parts");
        if (!parts.is_array() || parts.empty()) r.fail("parts", "a non-empty array of priors");
        std::vector<std::unique_ptr<Prior>> list;
        for (size_t i = 0; i < parts.size(); ++i)
            list.push_back(parse_prior(JsonReader(parts[i], r.file(), r.child_path("parts") + "/" + std::to_string(i))));
        prior = std::make_unique<Product>(std::move(list));
    }
    r.check_no_unknown_keys();
    return prior;
}

std::unique_ptr<Prior> parse_prior_json(const std::string& text, const std::string& where) {
    json j = parse_json_strict(text, where + ": prior");
    return parse_prior(JsonReader(j, where, ""));
}

}  // namespace simbi::host
