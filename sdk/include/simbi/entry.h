/* simbi/entry.h: the one symbol a plugin library exports, and its factory.
 *
 * A library exports exactly one data symbol, `simbi_plugin_entry` (SIMBI_ENTRY_SYMBOL), of type
 * const simbi_entry. The host:
 *   1. reads abi_major and refuses the library if it differs from its own;
 *   2. calls init(path) once per load (reference-counted: a library loaded twice gets init twice
 *      and must count);
 *   3. calls get_factory() and lists plugins with count()/descriptor(i);
 *   4. creates instances with create(); each instance is destroyed through its own destroy();
 *   5. calls deinit() once per init() before unloading (libraries that link LibTorch are never
 *      unloaded, so deinit may be the last call they see). */
#ifndef SIMBI_ENTRY_H
#define SIMBI_ENTRY_H

#include "descriptor.h"
#include "host.h"
#include "types.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIMBI_ENTRY_SYMBOL "simbi_plugin_entry"

typedef struct simbi_factory {
    uint64_t size;

    /* Number of plugins in this library. [thread-safe] */
    uint64_t (*count)(const struct simbi_factory *self);

    /* Descriptor of plugin index (0 <= index < count), or NULL. Plugin-owned, valid until the
     * last deinit(). [thread-safe] */
    const simbi_descriptor *(*descriptor)(const struct simbi_factory *self, uint64_t index);

    /* Creates an instance of plugin `id` configured by config_json (a JSON object; "{}" for the
     * defaults). Returns a simbi_simulator*, simbi_estimator* or simbi_diagnostic* as the
     * descriptor's kind says, owned by the plugin and freed by its destroy(); or NULL with err set
     * (e.g. an unknown or out-of-range config value). host must outlive the instance.
     * [thread-safe] */
    void *(*create)(const struct simbi_factory *self, const simbi_host *host, const char *id, const char *config_json, simbi_error *err);

    /* ---- ABI 1.1: read only when size covers it. */

    /* Optional capabilities, in the style of CLAP's get_extension: returns the library's struct
     * for extension_id (a versioned name such as "vendor.thing/1"; the struct starts with
     * uint64_t size), or NULL if the library does not offer it. Plugin-owned, valid until the
     * last deinit(). A host asks only for extensions it knows and ignores NULL. May be NULL.
     * [thread-safe] */
    const void *(*get_extension)(const struct simbi_factory *self, const char *extension_id);
} simbi_factory;

/* What a host requires of every library: the 1.0 fields of each struct. */
#define SIMBI_FACTORY_SIZE_1_0 (offsetof(simbi_factory, create) + sizeof(void *))
#define SIMBI_ENTRY_SIZE_1_0 (offsetof(simbi_entry, get_factory) + sizeof(void *))

typedef struct simbi_entry {
    uint64_t size;
    uint32_t abi_major; /* SIMBI_ABI_MAJOR the library was built with */
    uint32_t abi_minor;
    /* library_path: the file the host loaded. [main-thread] */
    simbi_status (*init)(const char *library_path, simbi_error *err);
    void (*deinit)(void);                      /* [main-thread] */
    const simbi_factory *(*get_factory)(void); /* valid between init and deinit [thread-safe] */
} simbi_entry;

/* Marks the entry symbol for export from a library built with -fvisibility=hidden. */
#if defined(_WIN32)
#define SIMBI_EXPORT __declspec(dllexport)
#else
#define SIMBI_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
}
#endif
#endif
