/* simbi/descriptor.h: what a plugin says about itself before any instance exists.
 *
 * Ownership: every pointer in a descriptor is owned by the plugin library and stays valid from
 * the entry's init() until its last deinit(). The host copies what it keeps. */
#ifndef SIMBI_DESCRIPTOR_H
#define SIMBI_DESCRIPTOR_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct simbi_descriptor {
    uint64_t size;
    const char *id;      /* namespaced, e.g. "simbi.projectile"; [a-z0-9_.-], unique */
    const char *name;    /* human-readable */
    const char *version; /* the plugin's own version, e.g. "1.0.0" */
    const char *vendor;
    const char *description; /* one paragraph */
    simbi_kind kind;
    simbi_thread_safety thread_safety;

    /* Simulators: parameter dimension and names (param_dim strings). Estimators and diagnostics
     * accept any dimension and set param_dim = 0, param_names = NULL. */
    uint64_t param_dim;
    const char *const *param_names;

    /* Simulators: output dimension k, and optionally the shape it flattens (row-major), e.g.
     * {2, 10} for two time series of 10 points; output_rank 0 means a plain vector. */
    uint64_t output_dim;
    uint64_t output_rank;
    const uint64_t *output_shape;

    /* The prior used when a manifest names none, as simbi prior JSON (docs/manifest.md), or NULL. */
    const char *default_prior_json;

    /* The config keys an instance accepts: a JSON object {"key": {"type": "number|integer|string|
     * boolean|array|object", "default": ..., "doc": "..."}}. The host rejects other keys. */
    const char *config_schema_json;

    /* ---- ABI 1.1: read only when size covers it. */

    /* Estimators: the keys of the manifest's estimator.training object, in the form of
     * config_schema_json. The host validates training settings against it and knows no keys of
     * its own; NULL (or an older descriptor) means the host passes the object unchecked. */
    const char *training_schema_json;

    /* Simulators: bounds every valid output row lies in, {"low": [k numbers], "high": [k numbers]}
     * (null for an unbounded side), or NULL. The host refuses an observation outside them before
     * simulating. */
    const char *output_support_json;

    /* ---- ABI 1.2: read only when size covers it. */

    /* What the plugin can do beyond the required calls: a bitwise OR of SIMBI_CAPABILITY_*. */
    uint64_t capabilities;
} simbi_descriptor;

/* Estimators: train() honours simbi_train_context's rank, world_size and rendezvous (1.2). */
#define SIMBI_CAPABILITY_DATA_PARALLEL ((uint64_t)1 << 0)

/* The size of a 1.0 descriptor: what a host requires of every plugin. */
#define SIMBI_DESCRIPTOR_SIZE_1_0 (offsetof(simbi_descriptor, config_schema_json) + sizeof(const char *))

#ifdef __cplusplus
}
#endif
#endif
