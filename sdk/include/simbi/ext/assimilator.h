/* simbi/ext/assimilator.h: extension "simbi.assimilator-factory/1", a second factory whose plugins
 * are assimilators.
 *
 * Data assimilation asks for the posterior of a whole trajectory of states x_1..x_L given noisy
 * observations of some of them, y = A(x) + noise. An assimilator learns the dynamics from
 * trajectories a simulator plugin draws, then samples trajectories given an observation operator
 * A (which entries are observed) and its noise.
 *
 * A library offers assimilators through simbi_factory.get_extension(factory,
 * SIMBI_EXT_ASSIMILATOR_FACTORY), which returns a simbi_factory (entry.h) of its own: count() and
 * descriptor() list the assimilators, whose descriptors have kind SIMBI_KIND_ASSIMILATOR, and
 * create() returns a simbi_assimilator*. A host that does not know this extension never sees them;
 * the library's main factory lists its other plugins only.
 *
 * The descriptor's config_schema_json declares the assimilator's settings (the model and its
 * sampler) and training_schema_json those of its training, both checked by the host before any
 * work. */
#ifndef SIMBI_EXT_ASSIMILATOR_H
#define SIMBI_EXT_ASSIMILATOR_H

#include "../entry.h"
#include "../estimator.h"
#include "../host.h"
#include "../types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIMBI_EXT_ASSIMILATOR_FACTORY "simbi.assimilator-factory/1"

/* The kind in an assimilator's descriptor (after the simbi_kind values of types.h). */
#define SIMBI_KIND_ASSIMILATOR ((simbi_kind)4)

/* What train() learns from. Host-owned; valid for the duration of the call. */
typedef struct simbi_assimilation_context {
    uint64_t size;
    /* The simulated trajectories: each row's x holds state_dim series of steps states, series
     * by series (x[c * steps + t] is component c at time t), as the simulator's output shape
     * [state_dim, steps] says. theta is the row's parameters. */
    const simbi_batch_reader *data;
    uint64_t state_dim;
    uint64_t steps;
    const simbi_host *host;
    const char *training_json;  /* the manifest's assimilation.training object, checked */
    const char *checkpoint_dir; /* a folder the assimilator may use to resume a killed training */
    uint64_t seed;
} simbi_assimilation_context;

/* y = x[index] + N(0, sigma^2): the observed entries of a trajectory x of `length` states of
 * state_dim components, flattened state by state (index = t * state_dim + c). Host-owned; valid
 * for the duration of the call. */
typedef struct simbi_observation_operator {
    uint64_t size;
    uint64_t length;
    uint64_t state_dim;
    uint64_t observed;     /* entries observed; 0: none (prior trajectories) */
    const uint64_t *index; /* [observed], increasing */
    const double *y;       /* [observed] */
    double sigma;          /* the noise's standard deviation, > 0 */
} simbi_observation_operator;

/* An assimilator instance, created by the extension's factory. Plugin-owned; freed by destroy().
 * Calls on one instance come one at a time. */
typedef struct simbi_assimilator {
    uint64_t size;
    void *data; /* plugin-private */

    void (*destroy)(struct simbi_assimilator *self);

    /* Learns the dynamics from the context's trajectories. [main-thread] */
    simbi_status (*train)(struct simbi_assimilator *self, const simbi_assimilation_context *ctx, simbi_error *err);

    /* Writes n trajectories drawn from the posterior given the observation into caller-owned
     * trajectories[n, observation->length, observation->state_dim] (state by state). The same
     * seed gives the same trajectories. [main-thread] */
    simbi_status (*sample)(struct simbi_assimilator *self, const simbi_observation_operator *observation, uint64_t n, uint64_t seed,
                           double *trajectories, simbi_error *err);

    /* Saves the trained state into the folder dir (created by the host, empty), and loads it
     * from one that save() wrote, into an instance of the same config. [main-thread] */
    simbi_status (*save)(struct simbi_assimilator *self, const char *dir, simbi_error *err);
    simbi_status (*load)(struct simbi_assimilator *self, const char *dir, simbi_error *err);
} simbi_assimilator;

#ifdef __cplusplus
}
#endif
#endif
