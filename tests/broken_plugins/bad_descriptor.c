/* A plugin whose descriptor has an id that is not namespaced. */
#include <simbi/simbi.h>
#include <string.h>

static const char *names[] = {"a"};
static simbi_descriptor desc;
static uint64_t count(const simbi_factory *f) {
    (void)f;
    return 1;
}
static const simbi_descriptor *descriptor(const simbi_factory *f, uint64_t i) {
    (void)f;
    return i == 0 ? &desc : 0;
}
static void *create(const simbi_factory *f, const simbi_host *h, const char *id, const char *c, simbi_error *e) {
    (void)f;
    (void)h;
    (void)id;
    (void)c;
    simbi_error_set(e, SIMBI_ERROR, "never created");
    return 0;
}
static const simbi_factory factory = {sizeof(simbi_factory), count, descriptor, create};
static simbi_status init(const char *path, simbi_error *err) {
    (void)path;
    (void)err;
    memset(&desc, 0, sizeof desc);
    desc.size = sizeof desc;
    desc.id = "Bad Id!";
    desc.name = "bad";
    desc.version = "1";
    desc.kind = SIMBI_KIND_SIMULATOR;
    desc.param_dim = 1;
    desc.param_names = names;
    desc.output_dim = 1;
    return SIMBI_OK;
}
static void deinit(void) {}
static const simbi_factory *get_factory(void) { return &factory; }
SIMBI_EXPORT const simbi_entry simbi_plugin_entry = {sizeof(simbi_entry), SIMBI_ABI_MAJOR, SIMBI_ABI_MINOR, init, deinit, get_factory};
