/* projectile_c.c: a simbi simulator plugin in plain C99, against the C ABI alone.
 *
 * It is the projectile of simbi.projectile, written without the C++ helper layer, to show every
 * piece of the contract: the one exported entry, a reference-counted init, a factory with
 * descriptors, instances with their own destroy, caller-owned buffers and status codes.
 *
 * Build it against an installed simbi:
 *     cmake -S . -B build -DCMAKE_PREFIX_PATH=/path/to/prefix && cmake --build build
 * and point simbi at the result:
 *     simbi plugins list --plugin-path build
 */
#include <math.h>
#include <simbi/simbi.h>
#include <stdlib.h>
#include <string.h>

static const char *param_names[] = {"v", "alpha"};
/* The settings, declared once: the host checks a manifest against this schema before any work,
 * and simbi_config_number reads a value or its default from it. */
static const char *config_schema =
    "{\"type\": \"object\", \"additionalProperties\": false, \"properties\": {"
    "\"dt\": {\"type\": \"number\", \"default\": 0.001, \"exclusiveMinimum\": 0, \"maximum\": 0.1, \"description\": \"Euler time step "
    "[s]\"}}}";
static simbi_descriptor descriptor;
static int init_count = 0; /* init/deinit are reference-counted */

/* An instance: its config, and the C struct the host sees. */
typedef struct projectile {
    simbi_simulator api;
    double dt;
} projectile;

static void projectile_destroy(simbi_simulator *self) { free(self->data); }

static simbi_status projectile_simulate(simbi_simulator *self, uint64_t n, const double *theta, uint64_t seed, uint64_t row_offset,
                                        double *x, uint8_t *valid, simbi_error *err) {
    const projectile *p = (const projectile *)self->data;
    uint64_t i;
    (void)err;
    for (i = 0; i < n; ++i) {
        simbi_rng rng;
        double vx, vy, px = 0.0, py;
        simbi_rng_init(&rng, seed, row_offset + i); /* row i depends on (seed, row) only */
        vx = theta[2 * i] * cos(theta[2 * i + 1]);
        vy = theta[2 * i] * sin(theta[2 * i + 1]);
        py = 1.1 + 0.3 * simbi_rng_normal(&rng);
        while (py > 0.0) {
            vy -= p->dt * 9.81;
            px += p->dt * vx;
            py += p->dt * vy;
        }
        x[i] = px + 0.25 * simbi_rng_normal(&rng);
        valid[i] = 1;
    }
    return SIMBI_OK;
}

static uint64_t factory_count(const simbi_factory *f) {
    (void)f;
    return 1;
}

static const simbi_descriptor *factory_descriptor(const simbi_factory *f, uint64_t index) {
    (void)f;
    return index == 0 ? &descriptor : NULL;
}

static void *factory_create(const simbi_factory *f, const simbi_host *host, const char *id, const char *config_json, simbi_error *err) {
    projectile *p;
    double dt;
    (void)f;
    (void)host;
    if (!id || strcmp(id, descriptor.id) != 0) return simbi_error_set(err, SIMBI_ERROR, "unknown plugin id"), (void *)NULL;
    if (!simbi_config_check(config_json, config_schema, err)) return NULL;
    if (simbi_config_number(config_json, config_schema, "dt", &dt) != 1) return simbi_error_set(err, SIMBI_ERROR, "no dt"), (void *)NULL;
    p = (projectile *)calloc(1, sizeof *p);
    if (!p) return simbi_error_set(err, SIMBI_ERROR, "out of memory"), (void *)NULL;
    p->dt = dt;
    p->api.size = sizeof p->api;
    p->api.data = p;
    p->api.destroy = projectile_destroy;
    p->api.simulate = projectile_simulate;
    return &p->api;
}

static const simbi_factory factory = {sizeof(simbi_factory), factory_count, factory_descriptor, factory_create};

static simbi_status entry_init(const char *library_path, simbi_error *err) {
    (void)library_path;
    (void)err;
    if (init_count++ > 0) return SIMBI_OK;
    memset(&descriptor, 0, sizeof descriptor);
    descriptor.size = sizeof descriptor;
    descriptor.id = "sample.projectile_c";
    descriptor.name = "Projectile (C99 sample)";
    descriptor.version = "1.0.0";
    descriptor.vendor = "simbi samples";
    descriptor.description = "The projectile simulator written in plain C99 against the simbi C ABI.";
    descriptor.kind = SIMBI_KIND_SIMULATOR;
    descriptor.thread_safety = SIMBI_THREAD_SHARED;
    descriptor.param_dim = 2;
    descriptor.param_names = param_names;
    descriptor.output_dim = 1;
    descriptor.default_prior_json = "{\"type\": \"box_uniform\", \"low\": [10.0, 0.1], \"high\": [40.0, 1.4]}";
    descriptor.config_schema_json = config_schema;
    return SIMBI_OK;
}

static void entry_deinit(void) { --init_count; }

static const simbi_factory *entry_get_factory(void) { return &factory; }

SIMBI_EXPORT const simbi_entry simbi_plugin_entry = {sizeof(simbi_entry), SIMBI_ABI_MAJOR, SIMBI_ABI_MINOR,
                                                     entry_init,          entry_deinit,    entry_get_factory};
