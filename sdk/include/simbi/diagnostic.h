/* simbi/diagnostic.h: a diagnostic checks a trained posterior (coverage, SBC, C2ST, ...).
 * Declared in ABI 1.0; the diagnostic plugins implement it. simbi/diagnostic.hpp is its C++
 * layer. */
#ifndef SIMBI_DIAGNOSTIC_H
#define SIMBI_DIAGNOSTIC_H

#include "estimator.h"
#include "host.h"
#include "prior.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The host's trained posterior. Host-owned; valid during run(). NULL in the context when the
 * diagnostic runs without one (e.g. `simbi c2st A.csv B.csv`). */
typedef struct simbi_posterior_view {
    uint64_t size;
    void *data;
    uint64_t theta_dim;
    uint64_t x_dim;
    /* As simbi_estimator.sample / log_prob. [main-thread] */
    simbi_status (*sample)(const struct simbi_posterior_view *self, uint64_t n_obs, const double *x_obs, uint64_t n, uint64_t seed,
                           double *theta, simbi_error *err);
    simbi_status (*log_prob)(const struct simbi_posterior_view *self, uint64_t n, const double *theta, const double *x, double *out,
                             simbi_error *err);

    /* ---- ABI 1.3: read only when size covers it. */

    /* As simbi_estimator.sample_batch; never NULL from a 1.3 host, which falls back to sample()
     * per observation for an estimator without it. [main-thread] */
    simbi_status (*sample_batch)(const struct simbi_posterior_view *self, uint64_t n_x, const double *x, uint64_t n_per_x, uint64_t seed,
                                 double *theta, simbi_error *err);
} simbi_posterior_view;

/* The host's simulator, as simbi_simulator.simulate. Host-owned; valid during run(). */
typedef struct simbi_simulator_view {
    uint64_t size;
    void *data;
    uint64_t theta_dim;
    uint64_t x_dim;
    simbi_status (*simulate)(const struct simbi_simulator_view *self, uint64_t n, const double *theta, uint64_t seed, uint64_t row_offset,
                             double *x, uint8_t *valid, simbi_error *err);
} simbi_simulator_view;

/* Where a diagnostic writes its results. name and values are copied. [main-thread] */
typedef struct simbi_result_sink {
    uint64_t size;
    void *data;
    simbi_status (*put_scalar)(const struct simbi_result_sink *self, const char *name, double value, simbi_error *err);
    /* values[shape[0] * ... * shape[rank-1]], row-major. */
    simbi_status (*put_array)(const struct simbi_result_sink *self, const char *name, uint64_t rank, const uint64_t *shape,
                              const double *values, simbi_error *err);
} simbi_result_sink;

typedef struct simbi_diagnostic_context {
    uint64_t size;
    const simbi_posterior_view *posterior;
    const simbi_prior *prior; /* NULL only when the diagnostic runs on files alone */
    const simbi_simulator_view *simulator;
    const simbi_result_sink *sink;
    const simbi_host *host;
    uint64_t seed;

    /* ---- ABI 1.1: read only when size covers it. */

    /* The run's observation, n_obs i.i.d. rows of x_dim values; 0 and NULL when it has none. */
    uint64_t n_obs;
    const double *x_obs;
    /* Held-out pairs from a store the manifest names for this diagnostic ("held_out"); NULL when
     * none: a diagnostic then simulates its own from the prior. */
    const simbi_batch_reader *held_out;
    /* The folder of the run (results go through sink; a diagnostic may read files there). */
    const char *run_dir;
} simbi_diagnostic_context;

/* The size of a 1.0 diagnostic context. */
#define SIMBI_DIAGNOSTIC_CONTEXT_SIZE_1_0 (offsetof(simbi_diagnostic_context, seed) + sizeof(uint64_t))

typedef struct simbi_diagnostic {
    uint64_t size;
    void *data;
    void (*destroy)(struct simbi_diagnostic *self);                                                            /* [main-thread] */
    simbi_status (*run)(struct simbi_diagnostic *self, const simbi_diagnostic_context *ctx, simbi_error *err); /* [main-thread] */
} simbi_diagnostic;

/* The size of a 1.0 diagnostic: what a host requires. */
#define SIMBI_DIAGNOSTIC_SIZE_1_0 (offsetof(simbi_diagnostic, run) + sizeof(void *))

#ifdef __cplusplus
}
#endif
#endif
