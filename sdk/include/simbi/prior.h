/* simbi/prior.h: the host's prior, as estimators and diagnostics see it. */
#ifndef SIMBI_PRIOR_H
#define SIMBI_PRIOR_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct simbi_prior {
    uint64_t size;
    void *data; /* host-private */
    uint64_t dim;
    /* Support box: lower[dim], upper[dim], -inf / +inf where unbounded. Host-owned, valid while
     * the prior is. */
    const double *lower;
    const double *upper;

    /* Draws n rows into caller-owned theta[n, dim]; row i from (seed, row_offset + i).
     * [thread-safe] */
    simbi_status (*sample)(const struct simbi_prior *self, uint64_t n, uint64_t seed, uint64_t row_offset, double *theta, simbi_error *err);

    /* log p(theta) for n rows into caller-owned out[n]; -inf outside the support. [thread-safe] */
    simbi_status (*log_prob)(const struct simbi_prior *self, uint64_t n, const double *theta, double *out, simbi_error *err);

    /* The prior as simbi prior JSON; host-owned, valid while the prior is. */
    const char *json;
} simbi_prior;

#ifdef __cplusplus
}
#endif
#endif
