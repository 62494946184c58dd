/* 10^4 draws from simbi/rng.h as hexadecimal bit patterns: per row of 100 rows (seed 42), 25
 * uniforms, 25 normals, 25 raw 64-bit words and 25 more uniforms, in that order. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <simbi/rng.h>

static void print_double(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    printf("%016" PRIx64 "\n", bits);
}

int main(void) {
    for (uint64_t row = 0; row < 100; ++row) {
        simbi_rng rng;
        simbi_rng_init(&rng, 42, row);
        for (int i = 0; i < 25; ++i) print_double(simbi_rng_uniform(&rng));
        for (int i = 0; i < 25; ++i) print_double(simbi_rng_normal(&rng));
        for (int i = 0; i < 25; ++i) printf("%016" PRIx64 "\n", simbi_rng_u64(&rng));
        for (int i = 0; i < 25; ++i) print_double(simbi_rng_uniform(&rng));
    }
    return 0;
}
