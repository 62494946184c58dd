/* simbi/host.h: what the host offers every plugin instance.
 *
 * The host fills a simbi_host and passes it to create(). It stays valid until the instance is
 * destroyed. All callbacks may be NULL in an older host: check `size` and the pointer. */
#ifndef SIMBI_HOST_H
#define SIMBI_HOST_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct simbi_host {
    uint64_t size;
    void *host_data; /* host-private; plugins do not touch it */
    uint32_t abi_major;
    uint32_t abi_minor;
    const char *host_version; /* e.g. "0.1.0"; host-owned, valid for the instance's life */

    /* Writes a line to the run's log. message is copied before returning.
     * [thread-safe] */
    void (*log)(const struct simbi_host *host, simbi_log_level level, const char *message);

    /* Reports progress of a long stage (e.g. "train"): done of total units, total 0 if unknown.
     * [thread-safe] */
    void (*progress)(const struct simbi_host *host, const char *stage, uint64_t done, uint64_t total);

    /* Returns non-zero once the user asked to stop (Ctrl-C). A plugin in a long loop polls it and
     * returns SIMBI_DISCARD with a message soon after. [thread-safe] */
    int32_t (*is_cancelled)(const struct simbi_host *host);

    /* Records a named value at a step, e.g. ("train_loss", epoch, 0.31). The host keeps the
     * series for the run's outputs. name is copied. [thread-safe] */
    void (*metric)(const struct simbi_host *host, const char *name, uint64_t step, double value);
} simbi_host;

#ifdef __cplusplus
}
#endif
#endif
