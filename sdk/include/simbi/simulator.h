/* simbi/simulator.h: a simulator instance draws x ~ p(x | theta) in batches.
 *
 * Determinism contract: row i of a call depends only on (seed, row_offset + i) and theta[i], never
 * on the batch it came in, the thread that ran it or the rows around it. Seed a counter-based
 * generator per row (simbi/rng.h does this) and the contract holds for free. */
#ifndef SIMBI_SIMULATOR_H
#define SIMBI_SIMULATOR_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct simbi_simulator {
    uint64_t size;
    void *data; /* plugin-private */

    /* Frees the instance. The pointer is invalid afterwards. [main-thread] */
    void (*destroy)(struct simbi_simulator *self);

    /* Simulates n rows.
     *  theta  [n, param_dim] float64, row-major; caller-owned, read-only.
     *  x      [n, output_dim] float64, row-major; caller-owned, written.
     *  valid  [n]; caller-owned; the callee writes 1 for a usable row, 0 for a failed one
     *         (the host also treats any NaN or Inf in a row as invalid).
     *  seed, row_offset: the stream; row i draws from (seed, row_offset + i).
     * n = 0 is allowed and returns SIMBI_OK. Returns SIMBI_OK, or SIMBI_DISCARD (this batch
     * failed, try other rows), SIMBI_ERROR or SIMBI_FATAL with a message in err.
     * [thread: see the descriptor's thread_safety] */
    simbi_status (*simulate)(struct simbi_simulator *self, uint64_t n, const double *theta, uint64_t seed, uint64_t row_offset, double *x,
                             uint8_t *valid, simbi_error *err);
} simbi_simulator;

/* The size of a 1.0 simulator: what a host requires. */
#define SIMBI_SIMULATOR_SIZE_1_0 (offsetof(simbi_simulator, simulate) + sizeof(void *))

#ifdef __cplusplus
}
#endif
#endif
