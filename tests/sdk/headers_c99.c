/* Compiles every SDK header as strict C99 (-pedantic -Werror) and uses the RNG. */
#include <simbi/ext/diagnostic_report.h>
#include <simbi/simbi.h>

double simbi_header_check_c99(void);
double simbi_header_check_c99(void) {
    simbi_rng rng;
    simbi_error err;
    char buf[8];
    err.size = sizeof err;
    err.message = buf;
    err.message_capacity = sizeof buf;
    simbi_error_set(&err, SIMBI_ERROR, "truncated message");
    simbi_rng_init(&rng, 1u, 2u);
    return simbi_rng_normal(&rng) + (double)simbi_rng_mix(3u, 4u) + (double)err.status;
}
