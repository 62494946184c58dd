/* simbi/types.h: the fixed-width types, status codes and the caller-owned error record.
 *
 * Every enum that crosses the ABI is an int32_t; every count and size is a uint64_t.
 * Every struct that crosses the ABI starts with `uint64_t size`, set by whoever fills the struct
 * to sizeof(the struct as it knows it). The structs of 1.x are frozen as they are at 1.3: new
 * capabilities are extensions (simbi/ext/), queried by id through simbi_factory.get_extension.
 */
#ifndef SIMBI_TYPES_H
#define SIMBI_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status of a call, with the meanings of FMI 3.0:
 *  SIMBI_OK       the call did what it was asked.
 *  SIMBI_DISCARD  this call failed, the instance is unchanged, the caller may go on
 *                 (e.g. one batch could not be simulated).
 *  SIMBI_ERROR    this instance is unusable; destroy it. Other instances are fine.
 *  SIMBI_FATAL    the whole library is unusable; the host stops using it. */
typedef int32_t simbi_status;
enum { SIMBI_OK = 0, SIMBI_DISCARD = 1, SIMBI_ERROR = 2, SIMBI_FATAL = 3 };

/* What a plugin is. */
typedef int32_t simbi_kind;
enum { SIMBI_KIND_SIMULATOR = 1, SIMBI_KIND_ESTIMATOR = 2, SIMBI_KIND_DIAGNOSTIC = 3 };

/* How an instance may be called from several threads.
 *  SIMBI_THREAD_SHARED    one instance may be called from several threads at once.
 *  SIMBI_THREAD_INSTANCE  calls on one instance must not overlap; the host creates one instance
 *                         per thread. Different instances always may run in parallel. */
typedef int32_t simbi_thread_safety;
enum { SIMBI_THREAD_INSTANCE = 0, SIMBI_THREAD_SHARED = 1 };

/* Log levels for simbi_host.log. */
typedef int32_t simbi_log_level;
enum { SIMBI_LOG_DEBUG = 0, SIMBI_LOG_INFO = 1, SIMBI_LOG_WARNING = 2, SIMBI_LOG_ERROR = 3 };

/* The error record of one call. The caller owns it and its message buffer.
 * The caller sets size, message and message_capacity (capacity may be 0 with message NULL) and
 * status = SIMBI_OK. A failing callee sets status and writes a NUL-terminated message, truncated
 * to message_capacity bytes; it never keeps a pointer to the record after returning. */
typedef struct simbi_error {
    uint64_t size;
    simbi_status status;
    int32_t reserved0;         /* zero */
    char *message;             /* caller-owned buffer */
    uint64_t message_capacity; /* bytes in message, including the terminating NUL */
} simbi_error;

/* Fills an error record; a plugin may call this to report a failure. Returns status. */
static inline simbi_status simbi_error_set(simbi_error *err, simbi_status status, const char *text) {
    if (err) {
        err->status = status;
        if (err->message && err->message_capacity > 0) {
            uint64_t i = 0;
            if (text)
                for (; text[i] && i + 1 < err->message_capacity; ++i) err->message[i] = text[i];
            err->message[i] = '\0';
        }
    }
    return status;
}

#ifdef __cplusplus
}
#endif
#endif
