// sample.linear_gaussian: a posterior estimator without neural networks, as an outside author
// would write one against the installed SDK.
//
// It regresses theta on x by least squares, theta = B^T [x, 1] + e, and takes the posterior to be
// Gaussian around the regression, q(theta | x) = N(B^T [x, 1], S) with S the residuals' covariance
// (ridge-regularized normal equations). Exact where theta and x are jointly Gaussian, as in sbibm's
// gaussian_linear; a quick baseline elsewhere. Samples outside the prior's box are redrawn.
#include <simbi/estimator.hpp>
#include <simbi/rng.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace {

using Matrix = std::vector<double>;  // row-major

// Cholesky factor L (lower) of the symmetric positive-definite n x n matrix a, in place.
void cholesky(Matrix& a, size_t n) {
    for (size_t j = 0; j < n; ++j) {
        double s = a[j * n + j];
        for (size_t k = 0; k < j; ++k) s -= a[j * n + k] * a[j * n + k];
        if (!(s > 0)) throw std::runtime_error("the normal equations are singular; raise the config's ridge");
        a[j * n + j] = std::sqrt(s);
        for (size_t i = j + 1; i < n; ++i) {
            double t = a[i * n + j];
            for (size_t k = 0; k < j; ++k) t -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = t / a[j * n + j];
        }
        for (size_t i = 0; i < j; ++i) a[i * n + j] = 0;
    }
}

// Solves L L^T y = b for one right-hand side.
void cholesky_solve(const Matrix& l, size_t n, double* b) {
    for (size_t i = 0; i < n; ++i) {
        for (size_t k = 0; k < i; ++k) b[i] -= l[i * n + k] * b[k];
        b[i] /= l[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        for (size_t k = i + 1; k < n; ++k) b[i] -= l[k * n + i] * b[k];
        b[i] /= l[i * n + i];
    }
}

class LinearGaussian : public simbi::Estimator {
public:
    using adapter = simbi::EstimatorAdapter<LinearGaussian>;

    static simbi::Info info() {
        simbi::Info i("sample.linear_gaussian", "Linear-Gaussian posterior", SIMBI_KIND_ESTIMATOR);
        i.version("1.0.0")
            .vendor("simbi samples")
            .description("q(theta|x) = N(B^T [x, 1], S) from a least-squares regression of theta on x.");
        i.option("ridge", simbi::Option::number(1e-8).minimum(0).doc("added to the normal equations' diagonal, relative to its mean"));
        i.training_option("max_rows", simbi::Option::integer(0).minimum(0).doc("regress on the first this many rows; 0: all"));
        return i;
    }

    LinearGaussian(const simbi::Config& c, const simbi_host*) : ridge_(c.number("ridge")) {}

    void train(const simbi_train_context& ctx) override {
        const simbi_batch_reader& data = *ctx.data;
        d_ = data.theta_dim;
        k_ = data.x_dim;
        uint64_t rows = data.rows;
        // Checked against the declarations: an unknown key or a value out of range throws.
        const simbi::Config settings(ctx.training_json ? ctx.training_json : "{}", info().training_schema());
        const long long max_rows = settings.integer("max_rows");
        if (max_rows > 0 && uint64_t(max_rows) < rows) rows = uint64_t(max_rows);
        const size_t p = k_ + 1;  // x and the intercept
        if (rows < p + 1) throw std::runtime_error("needs more rows than x has values, plus two");
        Matrix xtx(p * p, 0.0), xty(p * d_, 0.0);
        std::vector<double> theta, x, z(p);
        const uint64_t block = 4096;
        auto for_rows = [&](auto&& f) {
            for (uint64_t start = 0; start < rows; start += block) {
                const uint64_t n = std::min(block, rows - start);
                theta.resize(n * d_);
                x.resize(n * k_);
                char message[256] = {0};
                simbi_error err{sizeof err, SIMBI_OK, 0, message, sizeof message};
                if (data.read(&data, start, n, theta.data(), x.data(), &err) != SIMBI_OK) throw std::runtime_error(message);
                for (uint64_t r = 0; r < n; ++r) {
                    for (size_t j = 0; j < k_; ++j) z[j] = x[r * k_ + j];
                    z[k_] = 1.0;
                    f(z.data(), &theta[r * d_]);
                }
            }
        };
        for_rows([&](const double* zr, const double* t) {
            for (size_t a = 0; a < p; ++a) {
                for (size_t b = 0; b < p; ++b) xtx[a * p + b] += zr[a] * zr[b];
                for (size_t j = 0; j < d_; ++j) xty[a * d_ + j] += zr[a] * t[j];
            }
        });
        double trace = 0;
        for (size_t a = 0; a < p; ++a) trace += xtx[a * p + a];
        for (size_t a = 0; a < p; ++a) xtx[a * p + a] += ridge_ * trace / double(p);
        cholesky(xtx, p);
        coef_.assign(p * d_, 0.0);  // B, p x d
        std::vector<double> col(p);
        for (size_t j = 0; j < d_; ++j) {
            for (size_t a = 0; a < p; ++a) col[a] = xty[a * d_ + j];
            cholesky_solve(xtx, p, col.data());
            for (size_t a = 0; a < p; ++a) coef_[a * d_ + j] = col[a];
        }
        Matrix cov(d_ * d_, 0.0);
        std::vector<double> mean(d_);
        for_rows([&](const double* zr, const double* t) {
            predict(zr, mean.data());
            for (size_t a = 0; a < d_; ++a)
                for (size_t b = 0; b < d_; ++b) cov[a * d_ + b] += (t[a] - mean[a]) * (t[b] - mean[b]);
        });
        for (double& v : cov) v /= double(rows - p);
        chol_ = cov;
        cholesky(chol_, d_);
        lower_.assign(ctx.prior->lower, ctx.prior->lower + d_);
        upper_.assign(ctx.prior->upper, ctx.prior->upper + d_);
    }

    void sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) override {
        if (coef_.empty()) throw std::runtime_error("not trained: train or load first");
        if (n_obs != 1) throw std::invalid_argument("sample.linear_gaussian takes one observation, not " + std::to_string(n_obs));
        std::vector<double> z(k_ + 1), mean(d_), e(d_);
        for (size_t j = 0; j < k_; ++j) z[j] = x_obs[j];
        z[k_] = 1.0;
        predict(z.data(), mean.data());
        for (uint64_t i = 0; i < n; ++i) {
            simbi_rng rng;
            simbi_rng_init(&rng, seed, i);
            for (int attempt = 0;; ++attempt) {  // redraw outside the prior's box
                if (attempt == 10000) throw std::runtime_error("the posterior lies outside the prior's box");
                for (size_t a = 0; a < d_; ++a) e[a] = simbi_rng_normal(&rng);
                bool inside = true;
                for (size_t a = 0; a < d_; ++a) {
                    double v = mean[a];
                    for (size_t b = 0; b <= a; ++b) v += chol_[a * d_ + b] * e[b];
                    theta[i * d_ + a] = v;
                    inside = inside && v >= lower_[a] && v <= upper_[a];
                }
                if (inside) break;
            }
        }
    }

    void log_prob(uint64_t n, const double* theta, const double* x, double* out) override {
        if (coef_.empty()) throw std::runtime_error("not trained: train or load first");
        std::vector<double> z(k_ + 1), r(d_);
        double log_det = 0;
        for (size_t a = 0; a < d_; ++a) log_det += std::log(chol_[a * d_ + a]);
        for (uint64_t i = 0; i < n; ++i) {
            for (size_t j = 0; j < k_; ++j) z[j] = x[i * k_ + j];
            z[k_] = 1.0;
            predict(z.data(), r.data());
            for (size_t a = 0; a < d_; ++a) r[a] = theta[i * d_ + a] - r[a];
            double q = 0;  // |L^-1 r|^2
            for (size_t a = 0; a < d_; ++a) {
                for (size_t b = 0; b < a; ++b) r[a] -= chol_[a * d_ + b] * r[b];
                r[a] /= chol_[a * d_ + a];
                q += r[a] * r[a];
            }
            out[i] = -0.5 * q - log_det - 0.5 * double(d_) * std::log(2 * M_PI);
        }
    }

    void save(const std::string& dir) override {
        std::ofstream f(dir + "/linear_gaussian.txt");
        f.precision(17);
        f << "linear_gaussian 1 " << d_ << " " << k_ << "\n";
        for (const auto* v : {&coef_, &chol_, &lower_, &upper_}) {
            for (double x : *v) f << x << " ";
            f << "\n";
        }
        if (!f) throw std::runtime_error("cannot write " + dir + "/linear_gaussian.txt");
    }

    void load(const std::string& dir) override {
        std::ifstream f(dir + "/linear_gaussian.txt");
        std::string tag;
        int format = 0;
        if (!(f >> tag >> format >> d_ >> k_) || tag != "linear_gaussian" || format != 1)
            throw std::runtime_error(dir + "/linear_gaussian.txt is not a linear_gaussian model");
        auto read = [&](Matrix& v, size_t count) {  // strtod, which reads the bounds' "inf" too
            v.resize(count);
            std::string token;
            for (double& x : v) {
                if (!(f >> token)) throw std::runtime_error(dir + "/linear_gaussian.txt is truncated");
                char* end = nullptr;
                x = std::strtod(token.c_str(), &end);
                if (*end) throw std::runtime_error(dir + "/linear_gaussian.txt: '" + token + "' is not a number");
            }
        };
        read(coef_, (k_ + 1) * d_);
        read(chol_, d_ * d_);
        read(lower_, d_);
        read(upper_, d_);
    }

private:
    void predict(const double* z, double* mean) const {
        for (size_t j = 0; j < d_; ++j) {
            double v = 0;
            for (size_t a = 0; a <= k_; ++a) v += z[a] * coef_[a * d_ + j];
            mean[j] = v;
        }
    }

    double ridge_;
    size_t d_ = 0, k_ = 0;
    Matrix coef_, chol_, lower_, upper_;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(LinearGaussian)
