/* simbi/version.h: the ABI version of this SDK.
 *
 * Versioning policy:
 *  - MAJOR changes only when an existing struct, call or meaning changes. A host refuses a plugin
 *    whose major differs from its own, naming both versions and the file.
 *  - MINOR grows when something is appended: a field at the end of a struct, a new struct, a new
 *    enum value. A host of minor M runs plugins of any minor; each side reads a struct's `size`
 *    field before touching a field that a later minor appended, and requires of the other side
 *    only the fields of 1.0 (the SIMBI_*_SIZE_1_0 constants).
 *
 * 1.1 appended: simbi_descriptor.training_schema_json and output_support_json,
 * simbi_factory.get_extension,
 * simbi_estimator.set_prior.
 * 1.2 appended: simbi_descriptor.capabilities, simbi_train_context.rank, world_size and
 * rendezvous (data-parallel training).
 * 1.3 appended: simbi_estimator.sample_batch and simbi_posterior_view.sample_batch (posterior
 * draws for many observations in one call).
 */
#ifndef SIMBI_VERSION_H
#define SIMBI_VERSION_H

#define SIMBI_ABI_MAJOR 1
#define SIMBI_ABI_MINOR 3

/* The version of the simbi release that shipped this SDK (informational only). */
#define SIMBI_VERSION_STRING "0.1.0"

#endif
