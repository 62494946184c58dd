// simbi/estimator.hpp: the C++ layer for estimator plugins. Derive from simbi::Estimator, give the
// class `static simbi::Info info()` (kind SIMBI_KIND_ESTIMATOR), a constructor taking
// (const simbi::Config&, const simbi_host*) and `using adapter = simbi::EstimatorAdapter<Class>;`,
// and list it in SIMBI_EXPORT_PLUGINS. Exceptions become
// a status and a message at the boundary.
#ifndef SIMBI_ESTIMATOR_HPP
#define SIMBI_ESTIMATOR_HPP

#include <string>

#include "simbi.hpp"

namespace simbi {

class Estimator {
public:
    virtual ~Estimator() = default;
    virtual void train(const simbi_train_context& ctx) = 0;
    virtual void sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) = 0;
    virtual void log_prob(uint64_t n, const double* theta, const double* x, double* out) = 0;
    virtual void save(const std::string& dir) = 0;
    virtual void load(const std::string& dir) = 0;
    // The host's prior (ABI 1.1), valid until the next call of set_prior or the instance's end.
    virtual void set_prior(const simbi_prior& prior) { (void)prior; }
    // n_per_x draws for each of n_x observations x[n_x, x_dim] into theta[n_x, n_per_x, theta_dim]
    // (ABI 1.3). A class that overrides it exports simbi_estimator.sample_batch; one that does not
    // leaves it NULL, and the host calls sample() once per observation instead.
    virtual void sample_batch(uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta) {
        (void)n_x, (void)x, (void)n_per_x, (void)seed, (void)theta;
        throw std::logic_error("sample_batch is not implemented");
    }
};

// Thrown to report SIMBI_DISCARD (e.g. cancelled by the user) rather than SIMBI_ERROR.
struct Cancelled : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {

// Runs f, turning its exceptions into a status and "call: message" (Cancelled: SIMBI_DISCARD).
template <class F>
simbi_status guarded(simbi_error* err, const char* call, F f) {
    try {
        f();
        return SIMBI_OK;
    } catch (const Cancelled& e) {
        return fail(err, SIMBI_DISCARD, std::string(call) + ": " + e.what());
    } catch (const std::exception& e) {
        return fail(err, SIMBI_ERROR, std::string(call) + ": " + e.what());
    } catch (...) {
        return fail(err, SIMBI_ERROR, std::string(call) + ": unknown exception");
    }
}

template <class T>
struct EstimatorAdapter {
    struct Instance {
        simbi_estimator c;
        std::unique_ptr<T> est;
    };
    template <class F>
    static simbi_status guard(simbi_error* err, const char* call, F f) {
        return guarded(err, call, f);
    }
    static T& self(simbi_estimator* e) { return *static_cast<Instance*>(e->data)->est; }
    static void destroy(simbi_estimator* e) { delete static_cast<Instance*>(e->data); }
    static simbi_status train(simbi_estimator* e, const simbi_train_context* ctx, simbi_error* err) {
        return guard(err, "train", [&] { self(e).train(*ctx); });
    }
    static simbi_status sample(simbi_estimator* e, uint64_t n_obs, const double* x, uint64_t n, uint64_t seed, double* theta,
                               simbi_error* err) {
        return guard(err, "sample", [&] { self(e).sample(n_obs, x, n, seed, theta); });
    }
    static simbi_status log_prob(simbi_estimator* e, uint64_t n, const double* theta, const double* x, double* out, simbi_error* err) {
        return guard(err, "log_prob", [&] { self(e).log_prob(n, theta, x, out); });
    }
    static simbi_status save(simbi_estimator* e, const char* dir, simbi_error* err) {
        return guard(err, "save", [&] { self(e).save(dir); });
    }
    static simbi_status load(simbi_estimator* e, const char* dir, simbi_error* err) {
        return guard(err, "load", [&] { self(e).load(dir); });
    }
    static simbi_status set_prior(simbi_estimator* e, const simbi_prior* prior, simbi_error* err) {
        return guard(err, "set_prior", [&] {
            if (!prior) throw std::invalid_argument("the prior is NULL");
            self(e).set_prior(*prior);
        });
    }
    static simbi_status sample_batch(simbi_estimator* e, uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta,
                                     simbi_error* err) {
        return guard(err, "sample_batch", [&] { self(e).sample_batch(n_x, x, n_per_x, seed, theta); });
    }
    // Whether T (or a base between it and Estimator) overrides sample_batch.
    static constexpr bool has_sample_batch =
        !std::is_same<decltype(&T::sample_batch), void (Estimator::*)(uint64_t, const double*, uint64_t, uint64_t, double*)>::value;
    static void* create(Info& info, const simbi_host* host, const char* config, simbi_error* err) {
        try {
            Config cfg(config ? config : "{}", info.config_schema());
            std::unique_ptr<Instance> in(new Instance());
            in->est.reset(new T(cfg, host));
            cfg.check_all_used();
            std::memset(&in->c, 0, sizeof in->c);
            in->c.size = sizeof in->c;
            in->c.data = in.get();
            in->c.destroy = &destroy;
            in->c.train = &train;
            in->c.sample = &sample;
            in->c.log_prob = &log_prob;
            in->c.save = &save;
            in->c.load = &load;
            in->c.set_prior = &set_prior;
            in->c.sample_batch = has_sample_batch ? &sample_batch : nullptr;
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

// An estimator class names this as its adapter: `using adapter = simbi::EstimatorAdapter<MyClass>;`
template <class T>
using EstimatorAdapter = detail::EstimatorAdapter<T>;

}  // namespace simbi

#endif
