/* One simulator written against four versions of the ABI's structs, chosen by PLUGIN_MINOR:
 *   0  the 1.0 structs (no descriptor.training_schema_json, no factory.get_extension);
 *   1  the 1.1 structs (no descriptor.capabilities);
 *   2  the structs as this SDK declares them;
 *   9  a later minor's: every struct longer by fields this host does not know, and an extension
 *      the host never asks for.
 * A host of any minor must load and run all four. */
#include <simbi/simbi.h>
#include <string.h>

#ifndef PLUGIN_MINOR
#error "define PLUGIN_MINOR"
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
#define PLUGIN_ID "abi.minor" STR(PLUGIN_MINOR)

/* The descriptor as a 1.0 or a future plugin lays it out: the 1.0 fields in their order, then
 * whatever its minor appends. */
typedef struct {
    uint64_t size;
    const char *id, *name, *version, *vendor, *description;
    simbi_kind kind;
    simbi_thread_safety thread_safety;
    uint64_t param_dim;
    const char *const *param_names;
    uint64_t output_dim, output_rank;
    const uint64_t *output_shape;
    const char *default_prior_json;
    const char *config_schema_json;
#if PLUGIN_MINOR >= 1
    const char *training_schema_json;
    const char *output_support_json;
#endif
#if PLUGIN_MINOR >= 2
    uint64_t capabilities;
#endif
#if PLUGIN_MINOR >= 9
    const char *field_of_a_later_minor;
    uint64_t another_one;
#endif
} versioned_descriptor;

typedef struct versioned_factory {
    uint64_t size;
    uint64_t (*count)(const struct simbi_factory *self);
    const simbi_descriptor *(*descriptor)(const struct simbi_factory *self, uint64_t index);
    void *(*create)(const struct simbi_factory *self, const simbi_host *host, const char *id, const char *config_json, simbi_error *err);
#if PLUGIN_MINOR >= 1
    const void *(*get_extension)(const struct simbi_factory *self, const char *extension_id);
#endif
#if PLUGIN_MINOR >= 9
    void *a_later_minors_call;
#endif
} versioned_factory;

typedef struct {
    simbi_simulator c; /* the 1.0 simulator: no field appended through 1.1 */
#if PLUGIN_MINOR >= 9
    void *a_later_minors_field;
#endif
} versioned_simulator;

static const char *const names[] = {"theta"};
static const versioned_descriptor desc = {sizeof(versioned_descriptor),
                                          PLUGIN_ID,
                                          "ABI minor " STR(PLUGIN_MINOR),
                                          "1.0.0",
                                          "test",
                                          "x = theta + N(0, 1) noise",
                                          SIMBI_KIND_SIMULATOR,
                                          SIMBI_THREAD_SHARED,
                                          1,
                                          names,
                                          1,
                                          0,
                                          NULL,
                                          "{\"type\": \"normal\", \"mean\": [0], \"std\": [1]}",
                                          "{}"
#if PLUGIN_MINOR >= 1
                                          ,
                                          NULL,
                                          NULL
#endif
#if PLUGIN_MINOR >= 2
                                          ,
                                          0
#endif
#if PLUGIN_MINOR >= 9
                                          ,
                                          "unknown to this host",
                                          42
#endif
};

static simbi_status simulate(simbi_simulator *self, uint64_t n, const double *theta, uint64_t seed, uint64_t row_offset, double *x,
                             uint8_t *valid, simbi_error *err) {
    (void)self;
    (void)err;
    for (uint64_t i = 0; i < n; ++i) {
        simbi_rng rng;
        simbi_rng_init(&rng, seed, row_offset + i);
        x[i] = theta[i] + simbi_rng_normal(&rng);
        valid[i] = 1;
    }
    return SIMBI_OK;
}

static void destroy(simbi_simulator *self) { (void)self; }

static versioned_simulator instance;

static uint64_t count(const simbi_factory *self) {
    (void)self;
    return 1;
}
static const simbi_descriptor *descriptor(const simbi_factory *self, uint64_t i) {
    (void)self;
    return i == 0 ? (const simbi_descriptor *)&desc : NULL;
}
static void *create(const simbi_factory *self, const simbi_host *host, const char *id, const char *config, simbi_error *err) {
    (void)self;
    (void)host;
    (void)config;
    if (!id || strcmp(id, PLUGIN_ID) != 0) {
        simbi_error_set(err, SIMBI_ERROR, "unknown id");
        return NULL;
    }
    memset(&instance, 0, sizeof instance);
    instance.c.size = sizeof(versioned_simulator);
    instance.c.destroy = destroy;
    instance.c.simulate = simulate;
    return &instance.c;
}
#if PLUGIN_MINOR >= 1
typedef struct {
    uint64_t size;
    int32_t answer;
} future_extension;
static const future_extension extension = {sizeof(future_extension), 42};
static const void *get_extension(const simbi_factory *self, const char *id) {
    (void)self;
    return id && strcmp(id, "test.future_extension/1") == 0 ? &extension : NULL;
}
#endif

static const versioned_factory factory = {sizeof(versioned_factory),
                                          count,
                                          descriptor,
                                          create
#if PLUGIN_MINOR >= 1
                                          ,
                                          get_extension
#endif
#if PLUGIN_MINOR >= 9
                                          ,
                                          NULL
#endif
};

static simbi_status init(const char *path, simbi_error *err) {
    (void)path;
    (void)err;
    return SIMBI_OK;
}
static void deinit(void) {}
static const simbi_factory *get_factory(void) { return (const simbi_factory *)&factory; }

SIMBI_EXPORT const simbi_entry simbi_plugin_entry = {sizeof(simbi_entry), SIMBI_ABI_MAJOR, PLUGIN_MINOR, init, deinit, get_factory};
