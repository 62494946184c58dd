// simbi/diagnostic.hpp: the C++ layer for diagnostic plugins. Derive from simbi::Diagnostic, give
// the class `static simbi::Info info()` (kind SIMBI_KIND_DIAGNOSTIC), a constructor taking
// (const simbi::Config&, const simbi_host*) and `using adapter = simbi::DiagnosticAdapter<Class>;`,
// and list it in SIMBI_EXPORT_PLUGINS. run() sees the host's posterior, prior and simulator
// through simbi::DiagnosticContext, puts its results, and fills ctx.report() with its headline and
// figures, which the library offers the host as the extension of simbi/ext/diagnostic_report.h;
// exceptions become a status and a message at the boundary.
#ifndef SIMBI_DIAGNOSTIC_HPP
#define SIMBI_DIAGNOSTIC_HPP

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "ext/diagnostic_report.h"
#include "report.hpp"
#include "simbi.hpp"

namespace simbi {

// Pairs (theta, x) row-major, with the rows that could not be used counted, not kept.
struct Pairs {
    uint64_t n = 0, theta_dim = 0, x_dim = 0;
    std::vector<double> theta, x;
    uint64_t invalid = 0;  // rows the simulator marked invalid or that held NaN or infinity
    const double* theta_row(uint64_t i) const { return theta.data() + i * theta_dim; }
    const double* x_row(uint64_t i) const { return x.data() + i * x_dim; }
};

// The host's context of one diagnostic run, with C++ calls that throw std::runtime_error
// carrying the host's message. Valid during run(). [main-thread]
class DiagnosticContext {
public:
    explicit DiagnosticContext(const simbi_diagnostic_context& c, Report* report = nullptr) : c_(c), report_(report ? report : &scratch_) {}

    // The run's report: its headline and figures (simbi/report.hpp), for the host's report page.
    Report& report() const { return *report_; }

    uint64_t theta_dim() const {
        return c_.posterior ? c_.posterior->theta_dim : c_.simulator ? c_.simulator->theta_dim : c_.prior ? c_.prior->dim : 0;
    }
    uint64_t x_dim() const { return c_.posterior ? c_.posterior->x_dim : c_.simulator ? c_.simulator->x_dim : 0; }
    uint64_t seed() const { return c_.seed; }
    bool has_posterior() const { return c_.posterior != nullptr; }
    bool has_simulator() const { return c_.simulator != nullptr; }
    const simbi_prior& prior() const {
        require_prior();
        return *c_.prior;
    }
    const simbi_diagnostic_context& c() const { return c_; }

    // The run's observation, one vector per i.i.d. row; empty when it has none.
    std::vector<std::vector<double>> observation() const {
        std::vector<std::vector<double>> rows;
        if (!has_11(offsetof(simbi_diagnostic_context, x_obs)) || !c_.x_obs) return rows;
        for (uint64_t i = 0; i < c_.n_obs; ++i) rows.emplace_back(c_.x_obs + i * x_dim(), c_.x_obs + (i + 1) * x_dim());
        return rows;
    }
    std::string run_dir() const { return has_11(offsetof(simbi_diagnostic_context, run_dir)) && c_.run_dir ? c_.run_dir : ""; }

    // n posterior samples given n_obs i.i.d. observations x_obs[n_obs, x_dim]: [n, theta_dim].
    std::vector<double> sample(const double* x_obs, uint64_t n_obs, uint64_t n, uint64_t seed) const {
        require_posterior();
        std::vector<double> theta(n * theta_dim());
        Error e;
        check(c_.posterior->sample(c_.posterior, n_obs, x_obs, n, seed, theta.data(), e.get()), "the posterior's sample", e);
        return theta;
    }
    // n_per_x posterior draws for each of n_x observations x[n_x, x_dim] (one each):
    // [n_x, n_per_x, theta_dim]. A host older than ABI 1.3 gets one sample() per observation,
    // seeded as a 1.3 host seeds its own fallback.
    std::vector<double> sample_batch(const double* x, uint64_t n_x, uint64_t n_per_x, uint64_t seed) const {
        require_posterior();
        const uint64_t d = theta_dim(), k = x_dim();
        std::vector<double> theta(n_x * n_per_x * d);
        if (n_x == 0 || n_per_x == 0) return theta;
        Error e;
        const simbi_posterior_view* v = c_.posterior;
        if (v->size >= offsetof(simbi_posterior_view, sample_batch) + sizeof v->sample_batch && v->sample_batch) {
            check(v->sample_batch(v, n_x, x, n_per_x, seed, theta.data(), e.get()), "the posterior's sample_batch", e);
            return theta;
        }
        for (uint64_t i = 0; i < n_x; ++i)
            check(v->sample(v, 1, x + i * k, n_per_x, simbi_rng_mix(seed, i), theta.data() + i * n_per_x * d, e.get()),
                  "the posterior's sample", e);
        return theta;
    }
    // log q(theta_i | x_i) for n rows (up to a constant in x for ratio and likelihood estimators).
    std::vector<double> log_prob(const double* theta, const double* x, uint64_t n) const {
        require_posterior();
        std::vector<double> out(n);
        Error e;
        if (n) check(c_.posterior->log_prob(c_.posterior, n, theta, x, out.data(), e.get()), "the posterior's log_prob", e);
        return out;
    }
    std::vector<double> prior_sample(uint64_t n, uint64_t seed, uint64_t row_offset = 0) const {
        require_prior();
        std::vector<double> theta(n * c_.prior->dim);
        Error e;
        check(c_.prior->sample(c_.prior, n, seed, row_offset, theta.data(), e.get()), "the prior's sample", e);
        return theta;
    }
    std::vector<double> prior_log_prob(const double* theta, uint64_t n) const {
        require_prior();
        std::vector<double> out(n);
        Error e;
        if (n) check(c_.prior->log_prob(c_.prior, n, theta, out.data(), e.get()), "the prior's log_prob", e);
        return out;
    }
    // Each parameter's prior standard deviation, estimated from `draws` prior draws (1 where it
    // is not finite and positive): the scale that makes distances between parameters comparable.
    std::vector<double> prior_std(uint64_t draws, uint64_t seed) const {
        const uint64_t d = prior().dim;
        const std::vector<double> s = prior_sample(draws, seed);
        std::vector<double> mean(d, 0.0), var(d, 0.0);
        for (uint64_t i = 0; i < draws; ++i)
            for (uint64_t p = 0; p < d; ++p) mean[p] += s[i * d + p] / double(draws);
        for (uint64_t i = 0; i < draws; ++i)
            for (uint64_t p = 0; p < d; ++p)
                var[p] += (s[i * d + p] - mean[p]) * (s[i * d + p] - mean[p]) / double(draws > 1 ? draws - 1 : 1);
        for (double& v : var) v = v > 0 && std::isfinite(v) ? std::sqrt(v) : 1.0;
        return var;
    }
    // Simulates one row at each of theta[n, theta_dim]; rows marked invalid or holding NaN or
    // infinity are dropped and counted.
    Pairs simulate(const std::vector<double>& theta, uint64_t seed) const {
        if (!c_.simulator) throw std::runtime_error("this diagnostic needs the run's simulator, and the host gave none");
        const uint64_t d = theta_dim(), k = x_dim(), n = theta.size() / d;
        std::vector<double> x(n * k);
        std::vector<uint8_t> valid(n);
        Error e;
        if (n) check(c_.simulator->simulate(c_.simulator, n, theta.data(), seed, 0, x.data(), valid.data(), e.get()), "the simulator", e);
        Pairs p;
        p.theta_dim = d;
        p.x_dim = k;
        for (uint64_t i = 0; i < n; ++i) {
            bool ok = valid[i] != 0;
            for (uint64_t j = 0; ok && j < k; ++j) ok = std::isfinite(x[i * k + j]);
            for (uint64_t j = 0; ok && j < d; ++j) ok = std::isfinite(theta[i * d + j]);
            if (!ok) {
                ++p.invalid;
                continue;
            }
            p.theta.insert(p.theta.end(), theta.begin() + long(i * d), theta.begin() + long((i + 1) * d));
            p.x.insert(p.x.end(), x.begin() + long(i * k), x.begin() + long((i + 1) * k));
            ++p.n;
        }
        return p;
    }
    // n held-out pairs: the first n rows of the manifest's held-out store when it names one,
    // else theta from the prior and x from the simulator. Unusable rows are counted in .invalid.
    Pairs held_out_pairs(uint64_t n, uint64_t seed) const {
        const simbi_batch_reader* r = has_11(offsetof(simbi_diagnostic_context, held_out)) ? c_.held_out : nullptr;
        if (!r) return simulate(prior_sample(n, seed), seed ^ 0x9e3779b97f4a7c15ull);
        if (r->theta_dim != theta_dim() || r->x_dim != x_dim())
            throw std::runtime_error("the held-out store's dimensions differ from the posterior's");
        const uint64_t m = n < r->rows ? n : r->rows;
        std::vector<double> theta(m * r->theta_dim), x(m * r->x_dim);
        Error e;
        if (m) check(r->read(r, 0, m, theta.data(), x.data(), e.get()), "the held-out store", e);
        Pairs p;
        p.theta_dim = r->theta_dim;
        p.x_dim = r->x_dim;
        for (uint64_t i = 0; i < m; ++i) {
            bool ok = true;
            for (uint64_t j = 0; ok && j < p.x_dim; ++j) ok = std::isfinite(x[i * p.x_dim + j]);
            if (!ok) {
                ++p.invalid;
                continue;
            }
            p.theta.insert(p.theta.end(), theta.begin() + long(i * p.theta_dim), theta.begin() + long((i + 1) * p.theta_dim));
            p.x.insert(p.x.end(), x.begin() + long(i * p.x_dim), x.begin() + long((i + 1) * p.x_dim));
            ++p.n;
        }
        return p;
    }

    // Results, copied by the host into the run folder's diagnostics/<id>.json.
    void put(const std::string& name, double value) const {
        Error e;
        check(c_.sink->put_scalar(c_.sink, name.c_str(), value, e.get()), "the result sink", e);
    }
    // A yes/no result: put as 1 or 0, recorded by the host as true or false.
    void put_flag(const std::string& name, bool value) const {
        put(name, value ? 1.0 : 0.0);
        report_->boolean(name);
    }
    void put(const std::string& name, const std::vector<double>& values, std::vector<uint64_t> shape = {}) const {
        if (shape.empty()) shape = {uint64_t(values.size())};
        Error e;
        check(c_.sink->put_array(c_.sink, name.c_str(), shape.size(), shape.data(), values.data(), e.get()), "the result sink", e);
    }
    void log(simbi_log_level level, const std::string& message) const {
        if (c_.host && c_.host->log) c_.host->log(c_.host, level, message.c_str());
    }

private:
    struct Error {
        char message[512] = {0};
        simbi_error err{sizeof(simbi_error), SIMBI_OK, 0, message, sizeof message};
        simbi_error* get() { return &err; }
    };
    static void check(simbi_status st, const char* what, const Error& e) {
        if (st != SIMBI_OK) throw std::runtime_error(std::string(what) + ": " + (e.message[0] ? e.message : "failed"));
    }
    bool has_11(size_t offset) const { return c_.size >= offset + sizeof(void*); }
    void require_prior() const {
        if (!c_.prior) throw std::runtime_error("this diagnostic needs the run's prior, and the host gave none");
    }
    void require_posterior() const {
        if (!c_.posterior) throw std::runtime_error("this diagnostic needs a trained posterior, and the host gave none");
    }
    const simbi_diagnostic_context& c_;
    mutable Report scratch_;
    Report* report_;
};

class Diagnostic {
public:
    virtual ~Diagnostic() = default;
    virtual void run(const DiagnosticContext& ctx) = 0;
};

namespace detail {

// Every C++ diagnostic's instance, whatever its class: the report of its last run.
struct DiagnosticInstance {
    simbi_diagnostic c;
    std::unique_ptr<Diagnostic> diag;
    Report report;
};
inline void destroy_diagnostic(simbi_diagnostic* d) { delete static_cast<DiagnosticInstance*>(d->data); }

inline simbi_status describe_report(const simbi_diagnostic_report*, simbi_diagnostic* d, char* text, uint64_t capacity, uint64_t* needed,
                                    simbi_error* err) {
    // Only an instance of this layer carries a report: one from elsewhere is refused, not read.
    if (!d || d->destroy != &destroy_diagnostic) return fail(err, SIMBI_ERROR, "describe: not a diagnostic of this library");
    const Report& r = static_cast<DiagnosticInstance*>(d->data)->report;
    const std::string j = r.empty() ? "{}" : r.json();
    if (needed) *needed = j.size() + 1;
    if (!text || capacity < j.size() + 1) return SIMBI_DISCARD;
    std::memcpy(text, j.c_str(), j.size() + 1);
    return SIMBI_OK;
}
inline const simbi_diagnostic_report report_extension = {sizeof(simbi_diagnostic_report), &describe_report};

template <class T>
struct DiagnosticAdapter {
    using Instance = DiagnosticInstance;
    // What a library with a diagnostic of this layer offers (Library::init calls it).
    static void offer_extensions() { offer_extension(SIMBI_EXT_DIAGNOSTIC_REPORT, &report_extension); }
    static void destroy(simbi_diagnostic* d) { destroy_diagnostic(d); }
    static simbi_status run(simbi_diagnostic* d, const simbi_diagnostic_context* ctx, simbi_error* err) {
        try {
            if (!ctx || ctx->size < SIMBI_DIAGNOSTIC_CONTEXT_SIZE_1_0 || !ctx->sink)
                throw std::invalid_argument("the context is incomplete");
            Instance* in = static_cast<Instance*>(d->data);
            in->report.clear();
            in->diag->run(DiagnosticContext(*ctx, &in->report));
            return SIMBI_OK;
        } catch (const std::exception& e) {
            return fail(err, SIMBI_ERROR, std::string("run: ") + e.what());
        } catch (...) {
            return fail(err, SIMBI_ERROR, "run: unknown exception");
        }
    }
    static void* create(Info& info, const simbi_host* host, const char* config, simbi_error* err) {
        try {
            Config cfg(config ? config : "{}", info.config_schema());
            std::unique_ptr<Instance> in(new Instance());
            in->diag.reset(new T(cfg, host));
            cfg.check_all_used();
            std::memset(&in->c, 0, sizeof in->c);
            in->c.size = sizeof in->c;
            in->c.data = in.get();
            in->c.destroy = &destroy_diagnostic;
            in->c.run = &run;
            return &in.release()->c;
        } catch (const std::exception& e) {
            fail(err, SIMBI_ERROR, info.id() + ": " + e.what());
        } catch (...) {
            fail(err, SIMBI_ERROR, info.id() + ": unknown exception in constructor");
        }
        return nullptr;
    }
};

}  // namespace detail

template <class T>
using DiagnosticAdapter = detail::DiagnosticAdapter<T>;

}  // namespace simbi

#endif
