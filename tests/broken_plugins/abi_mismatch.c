/* A plugin built against a future ABI major: the host must refuse it and name both versions. */
#include <simbi/simbi.h>

static simbi_status init(const char *path, simbi_error *err) {
    (void)path;
    (void)err;
    return SIMBI_OK;
}
static void deinit(void) {}
static const simbi_factory *get_factory(void) { return 0; }

SIMBI_EXPORT const simbi_entry simbi_plugin_entry = {sizeof(simbi_entry), SIMBI_ABI_MAJOR + 98, 0, init, deinit, get_factory};
