/* simbi/rng.h: a header-only, counter-based random generator for plugins, usable from C99.
 *
 * Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy as 1, 2, 3").
 * The stream is a pure function of (seed, row): a simulator that calls
 *     simbi_rng_init(&rng, seed, row_offset + i)
 * for row i gives the same row whatever the batch size, thread or machine it runs on.
 *
 * Thread rule: a simbi_rng is plain data; use one per thread (typically one per row). */
#ifndef SIMBI_RNG_H
#define SIMBI_RNG_H

#include <math.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct simbi_rng {
    uint32_t key[2];
    uint32_t counter[4]; /* (row low, row high, block, stream) */
    uint32_t block[4];   /* the current output block */
    uint32_t used;       /* words of block consumed, 0..4 */
    uint32_t has_spare;  /* Box-Muller keeps its second normal */
    double spare;
} simbi_rng;

/* splitmix64 (Steele, Lea & Flood 2014): a strong 64-bit mixer, used to derive seeds for
 * independent purposes, e.g. simbi_rng_mix(seed, 1) for a second stream. */
static inline uint64_t simbi_rng_mix(uint64_t seed, uint64_t tag) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (tag + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void simbi_philox_round(uint32_t c[4], const uint32_t k[2]) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c[0];
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t n0 = hi1 ^ c[1] ^ k[0];
    uint32_t n2 = hi0 ^ c[3] ^ k[1];
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
}

/* One Philox4x32-10 block: out = philox(counter, key). */
static inline void simbi_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c[4] = {counter[0], counter[1], counter[2], counter[3]};
    uint32_t k[2] = {key[0], key[1]};
    int r;
    for (r = 0; r < 10; ++r) {
        if (r > 0) {
            k[0] += 0x9E3779B9u;
            k[1] += 0xBB67AE85u;
        }
        simbi_philox_round(c, k);
    }
    out[0] = c[0];
    out[1] = c[1];
    out[2] = c[2];
    out[3] = c[3];
}

/* Starts the stream of (seed, row), substream 0. */
static inline void simbi_rng_init_stream(simbi_rng *rng, uint64_t seed, uint64_t row, uint32_t stream) {
    rng->key[0] = (uint32_t)seed;
    rng->key[1] = (uint32_t)(seed >> 32);
    rng->counter[0] = (uint32_t)row;
    rng->counter[1] = (uint32_t)(row >> 32);
    rng->counter[2] = 0;
    rng->counter[3] = stream;
    rng->used = 4;
    rng->has_spare = 0;
    rng->spare = 0.0;
}

static inline void simbi_rng_init(simbi_rng *rng, uint64_t seed, uint64_t row) { simbi_rng_init_stream(rng, seed, row, 0u); }

/* A uniform 32-bit word. */
static inline uint32_t simbi_rng_u32(simbi_rng *rng) {
    if (rng->used == 4) {
        simbi_philox4x32_10(rng->counter, rng->key, rng->block);
        rng->counter[2] += 1u;
        rng->used = 0;
    }
    return rng->block[rng->used++];
}

static inline uint64_t simbi_rng_u64(simbi_rng *rng) {
    uint64_t hi = simbi_rng_u32(rng);
    return (hi << 32) | simbi_rng_u32(rng);
}

/* Uniform on [0, 1) with 53 random bits. */
static inline double simbi_rng_uniform(simbi_rng *rng) { return (double)(simbi_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0); }

/* Uniform on [low, high). */
static inline double simbi_rng_uniform_range(simbi_rng *rng, double low, double high) {
    return low + (high - low) * simbi_rng_uniform(rng);
}

/* Standard normal, by the Box-Muller transform (Box & Muller 1958). */
static inline double simbi_rng_normal(simbi_rng *rng) {
    double u1, u2, r, a;
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    u1 = 1.0 - simbi_rng_uniform(rng); /* (0, 1]: log is finite */
    u2 = simbi_rng_uniform(rng);
    r = sqrt(-2.0 * log(u1));
    a = 6.283185307179586476925286766559 * u2;
    rng->spare = r * sin(a);
    rng->has_spare = 1;
    return r * cos(a);
}

/* Exponential with rate 1. */
static inline double simbi_rng_exponential(simbi_rng *rng) { return -log(1.0 - simbi_rng_uniform(rng)); }

#ifdef __cplusplus
}
#endif
#endif
