/* simbi/version.h: the ABI version of this SDK.
 *
 * Versioning policy:
 *  - MAJOR changes only when an existing struct, call or meaning changes. A host refuses a plugin
 *    whose major differs from its own, naming both versions and the file.
 *  - The structs of 1.x are frozen as they are at 1.3: no field is appended to them any more.
 *    A new capability is an extension: a struct of its own in a header of simbi/ext/, named by a
 *    versioned id ("simbi.diagnostic-report/1"), that a library offers through
 *    simbi_factory.get_extension and a host asks for by id. A host that does not know an id never
 *    asks; a library that lacks one answers NULL; each side copes with both.
 *  - MINOR grows when a new extension, struct or enum value is published. A host of minor M runs
 *    plugins of any minor; each side reads a struct's `size` field before touching a field that
 *    1.1 to 1.3 appended, and requires of the other side only the fields of 1.0 (the
 *    SIMBI_*_SIZE_1_0 constants).
 *
 * 1.1 appended: simbi_descriptor.training_schema_json and output_support_json,
 * simbi_factory.get_extension,
 * simbi_estimator.set_prior.
 * 1.2 appended: simbi_descriptor.capabilities, simbi_train_context.rank, world_size and
 * rendezvous (data-parallel training).
 * 1.3 appended: simbi_estimator.sample_batch and simbi_posterior_view.sample_batch (posterior
 * draws for many observations in one call). The last appended fields: the structs are frozen.
 * 1.4 appended no field: it published the extension "simbi.diagnostic-report/1"
 * (ext/diagnostic_report.h).
 */
#ifndef SIMBI_VERSION_H
#define SIMBI_VERSION_H

#define SIMBI_ABI_MAJOR 1
#define SIMBI_ABI_MINOR 4

/* The version of the simbi release that shipped this SDK (informational only). */
#define SIMBI_VERSION_STRING "0.1.0"

#endif
