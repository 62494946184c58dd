/* simbi_fortran.c: the C half of a Fortran plugin, compiled into it by simbi_add_plugin with the
 * module simbi.f90. Its author writes no C.
 *
 * It holds what Fortran cannot write: the entry symbol, a data symbol whose procedure addresses
 * Fortran cannot put in an initializer (get_factory calls the plugin's simbi_fortran_factory(),
 * which fills the factory at run time), and callable forms of the SDK's inline C (the generator,
 * the error setter, the config accessors), which the module binds to. Every call here is the
 * inline C itself, so a Fortran plugin draws the same stream, bit for bit, as a C one. */
#include <simbi/config.h>
#include <simbi/entry.h>
#include <simbi/rng.h>
#include <simbi/types.h>

/* The plugin's factory, filled on its first call (from the host's main thread, at load). */
extern const simbi_factory *simbi_fortran_factory(void);

static simbi_status fortran_init(const char *library_path, simbi_error *err) {
    (void)library_path;
    (void)err;
    return SIMBI_OK;
}
static void fortran_deinit(void) {}
static const simbi_factory *fortran_get_factory(void) { return simbi_fortran_factory(); }

SIMBI_EXPORT const simbi_entry simbi_plugin_entry = {sizeof(simbi_entry), SIMBI_ABI_MAJOR, SIMBI_ABI_MINOR,
                                                     fortran_init,        fortran_deinit,  fortran_get_factory};

void simbi_f_rng_init(simbi_rng *rng, uint64_t seed, uint64_t row) { simbi_rng_init(rng, seed, row); }
double simbi_f_rng_uniform(simbi_rng *rng) { return simbi_rng_uniform(rng); }
double simbi_f_rng_normal(simbi_rng *rng) { return simbi_rng_normal(rng); }
uint64_t simbi_f_rng_u64(simbi_rng *rng) { return simbi_rng_u64(rng); }

simbi_status simbi_f_error_set(simbi_error *err, simbi_status status, const char *text) { return simbi_error_set(err, status, text); }

int simbi_f_config_check(const char *config_json, const char *schema_json, simbi_error *err) {
    return simbi_config_check(config_json, schema_json, err);
}
int simbi_f_config_number(const char *config_json, const char *schema_json, const char *key, double *value) {
    return simbi_config_number(config_json, schema_json, key, value);
}
int simbi_f_config_integer(const char *config_json, const char *schema_json, const char *key, int64_t *value) {
    return simbi_config_integer(config_json, schema_json, key, value);
}
