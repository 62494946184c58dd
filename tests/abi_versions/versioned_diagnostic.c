/* One diagnostic written in C against two versions of the ABI, chosen by PLUGIN_MINOR:
 *   0  the 1.0 structs: a factory without get_extension, so no report extension;
 *   9  a later minor's: a longer factory whose get_extension offers an extension this host does
 *      not know ("test.future_extension/1") and not the report extension the host asks for.
 * A host must run both and show their scalar results, with no headline or figure to draw. */
#include <simbi/simbi.h>
#include <string.h>

#ifndef PLUGIN_MINOR
#error "define PLUGIN_MINOR"
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
#define PLUGIN_ID "abi.diagnostic" STR(PLUGIN_MINOR)

static const simbi_descriptor desc = {SIMBI_DESCRIPTOR_SIZE_1_0,
                                      PLUGIN_ID,
                                      "diagnostic of ABI minor " STR(PLUGIN_MINOR),
                                      "1.0.0",
                                      "test",
                                      "puts the answer",
                                      SIMBI_KIND_DIAGNOSTIC,
                                      SIMBI_THREAD_INSTANCE,
                                      0,
                                      NULL,
                                      0,
                                      0,
                                      NULL,
                                      NULL,
                                      "{}"};

static simbi_status run(simbi_diagnostic *self, const simbi_diagnostic_context *ctx, simbi_error *err) {
    (void)self;
    return ctx->sink->put_scalar(ctx->sink, "answer", 42.0 + PLUGIN_MINOR, err);
}
static void destroy(simbi_diagnostic *self) { (void)self; }
static simbi_diagnostic instance;

static uint64_t count(const simbi_factory *self) {
    (void)self;
    return 1;
}
static const simbi_descriptor *descriptor(const simbi_factory *self, uint64_t i) {
    (void)self;
    return i == 0 ? &desc : NULL;
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
    instance.size = sizeof instance;
    instance.destroy = destroy;
    instance.run = run;
    return &instance;
}

#if PLUGIN_MINOR >= 9
typedef struct {
    uint64_t size;
    int32_t answer;
} future_extension;
static const future_extension extension = {sizeof(future_extension), 42};
static const void *get_extension(const simbi_factory *self, const char *id) {
    (void)self;
    return id && strcmp(id, "test.future_extension/1") == 0 ? &extension : NULL;
}
typedef struct {
    simbi_factory known;
    void *a_later_minors_call;
} later_factory;
static const later_factory factory = {{sizeof(later_factory), count, descriptor, create, get_extension}, NULL};
#else
static const simbi_factory factory = {SIMBI_FACTORY_SIZE_1_0, count, descriptor, create, NULL};
#endif

static simbi_status init(const char *path, simbi_error *err) {
    (void)path;
    (void)err;
    return SIMBI_OK;
}
static void deinit(void) {}
static const simbi_factory *get_factory(void) { return (const simbi_factory *)&factory; }

SIMBI_EXPORT const simbi_entry simbi_plugin_entry = {sizeof(simbi_entry), SIMBI_ABI_MAJOR, PLUGIN_MINOR, init, deinit, get_factory};
