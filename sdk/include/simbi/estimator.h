/* simbi/estimator.h: a neural estimator learns from simulated pairs and then answers for
 * p(theta | x). Declared in ABI 1.0; the estimator plugins implement it. */
#ifndef SIMBI_ESTIMATOR_H
#define SIMBI_ESTIMATOR_H

#include "host.h"
#include "prior.h"
#include "simulator.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The host's view of a dataset of (theta, x) rows, read in batches so that it may be larger than
 * memory. The host owns it; it is valid for the duration of the train() call. */
typedef struct simbi_batch_reader {
    uint64_t size;
    void *data; /* host-private */
    uint64_t rows;
    uint64_t theta_dim;
    uint64_t x_dim;

    /* Copies rows [start, start + count) into caller-owned theta[count, theta_dim] and
     * x[count, x_dim]. Reading contiguous ranges is fastest. [thread: one call at a time] */
    simbi_status (*read)(const struct simbi_batch_reader *self, uint64_t start, uint64_t count, double *theta, double *x, simbi_error *err);
} simbi_batch_reader;

/* The host's simulation service, for sequential methods (ABI 1.1): the estimator chooses the
 * parameters of a round, the host simulates and stores them like the first round's, crash-safe.
 * Host-owned; valid for the duration of the train() call. */
typedef struct simbi_simulation_service {
    uint64_t size;
    void *data; /* host-private */

    /* The run's observation, n_obs i.i.d. rows of x_dim values, host-owned and valid during
     * train(); *n_obs is 0 when the run has none. Asking for it makes the trained estimator depend
     * on it: the host then retrains when the observation changes. [main-thread] */
    simbi_status (*observation)(const struct simbi_simulation_service *self, uint64_t *n_obs, const double **x_obs, simbi_error *err);

    /* Simulates one row at each of theta[n, theta_dim] (caller-owned, read only) as round
     * `round` (2, 3, ...), stores the rows beside the first round's store and sets *rows to a
     * reader of the round's valid rows, host-owned and valid until train() returns. A rerun with
     * the same theta reuses the stored rows. note_json: NULL or a JSON object the host records
     * with the round (e.g. the estimator's acceptance rate). [main-thread] */
    simbi_status (*simulate)(const struct simbi_simulation_service *self, uint64_t round, uint64_t n, const double *theta,
                             const char *note_json, const simbi_batch_reader **rows, simbi_error *err);
} simbi_simulation_service;

/* Everything train() may use. Host-owned; valid for the duration of the call. */
typedef struct simbi_train_context {
    uint64_t size;
    const simbi_batch_reader *data;
    const simbi_prior *prior;
    const simbi_host *host;
    const char *training_json;  /* the manifest's estimator.training object */
    const char *checkpoint_dir; /* a folder the estimator may use to resume a killed training */
    uint64_t seed;
    /* Never set: always NULL, from every host of every version (sequential methods use
     * `simulation` below). A field of the frozen 1.0 layout, kept so that no offset moves. */
    simbi_simulator *simulator;

    /* ---- ABI 1.1: read only when size covers it. */

    /* The host's simulation service for sequential rounds; NULL when it offers none. */
    const simbi_simulation_service *simulation;

    /* ---- ABI 1.2: read only when size covers it. */

    /* Data-parallel training: this process is rank `rank` of `world_size` processes that train one
     * estimator on the same data, each started with the same manifest. The ranks meet at
     * `rendezvous` ("host:port", where rank 0 listens); each takes its share of every batch and
     * the gradients are summed across ranks, so that every rank holds the same weights and the
     * result matches one process at the same batch size up to rounding. Only an estimator whose
     * descriptor declares SIMBI_CAPABILITY_DATA_PARALLEL is given world_size > 1; otherwise
     * rank = 0, world_size = 1 and rendezvous = NULL. Rank 0's estimator is the one saved. */
    uint32_t rank;
    uint32_t world_size;
    const char *rendezvous;
} simbi_train_context;

/* The size of a 1.0 training context. */
#define SIMBI_TRAIN_CONTEXT_SIZE_1_0 (offsetof(simbi_train_context, simulator) + sizeof(void *))

typedef struct simbi_estimator {
    uint64_t size;
    void *data;

    /* [main-thread] */
    void (*destroy)(struct simbi_estimator *self);

    /* Trains on ctx->data. Reports per-epoch losses through host->metric. [main-thread] */
    simbi_status (*train)(struct simbi_estimator *self, const simbi_train_context *ctx, simbi_error *err);

    /* Draws n samples of theta given n_obs i.i.d. observations x_obs[n_obs, x_dim] into
     * caller-owned theta[n, theta_dim]. [main-thread] */
    simbi_status (*sample)(struct simbi_estimator *self, uint64_t n_obs, const double *x_obs, uint64_t n, uint64_t seed, double *theta,
                           simbi_error *err);

    /* Log posterior density (up to a constant for ratio and likelihood estimators) of n pairs
     * theta[n, theta_dim], x[n, x_dim] into caller-owned out[n]. [main-thread] */
    simbi_status (*log_prob)(struct simbi_estimator *self, uint64_t n, const double *theta, const double *x, double *out, simbi_error *err);

    /* Saves the trained estimator to (creates) folder dir / loads it from there. [main-thread] */
    simbi_status (*save)(struct simbi_estimator *self, const char *dir, simbi_error *err);
    simbi_status (*load)(struct simbi_estimator *self, const char *dir, simbi_error *err);

    /* ---- ABI 1.1: read only when size covers it. */

    /* Gives the instance the host's prior, for train() (ctx->prior is then this same prior),
     * sample(), log_prob() and load(): the support to keep samples in, the prior term of ratio
     * and likelihood posteriors. Host-owned; valid until the instance is destroyed or set_prior
     * is called again. A 1.1 host calls it right after create(), before any other call. May be
     * NULL. [main-thread] */
    simbi_status (*set_prior)(struct simbi_estimator *self, const simbi_prior *prior, simbi_error *err);

    /* ---- ABI 1.3: read only when size covers it. */

    /* Draws n_per_x samples of theta for each of n_x observations x[n_x, x_dim] (one observation
     * each, not an i.i.d. set) into caller-owned theta[n_x, n_per_x, theta_dim]: row block i holds
     * draws from p(theta | x_i). For diagnostics over many held-out pairs, where an MCMC estimator
     * advances the chains of all observations together. The draws are a deterministic function of
     * the arguments; they need not equal sample()'s. May be NULL: the host then calls, for each i,
     * sample(self, 1, x_i, n_per_x, simbi_rng_mix(seed, i), theta_i). [main-thread] */
    simbi_status (*sample_batch)(struct simbi_estimator *self, uint64_t n_x, const double *x, uint64_t n_per_x, uint64_t seed,
                                 double *theta, simbi_error *err);
} simbi_estimator;

/* The size of a 1.0 estimator: what a host requires. */
#define SIMBI_ESTIMATOR_SIZE_1_0 (offsetof(simbi_estimator, load) + sizeof(void *))

#ifdef __cplusplus
}
#endif
#endif
