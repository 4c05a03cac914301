/* Internal helper shared by every module (not installed): the FNV-1a hash
 * (Fowler, Noll, Vo), 64- and 32-bit, continued from h so that pieces can
 * be hashed one after another:
 *     uint64_t h = muse_fnv1a64(MUSE_FNV64_SEED, s, strlen(s));
 * Header-only, like muse_buf.h and muse_err.h. */
#ifndef MUSE_HASH_H
#define MUSE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MUSE_FNV64_SEED 1469598103934665603ULL
#define MUSE_FNV32_SEED 2166136261u

static inline uint64_t muse_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static inline uint32_t muse_fnv1a32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

#endif
