/* A library whose constructor calls exit(0) when it is loaded. */
#include <simbi/simbi.h>
#include <stdlib.h>

__attribute__((constructor)) static void end_the_process(void) { exit(0); }

static simbi_status init(const char *path, simbi_error *err) {
    (void)path;
    (void)err;
    return SIMBI_OK;
}
static void deinit(void) {}
static const simbi_factory *get_factory(void) { return NULL; }

SIMBI_EXPORT const simbi_entry simbi_plugin_entry = {sizeof(simbi_entry), SIMBI_ABI_MAJOR, SIMBI_ABI_MINOR, init, deinit, get_factory};
