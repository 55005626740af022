/*
 * memory.h — the paper's memory component (utils/workload.py double_ps_mem): a table from
 * the perceptual hash of a raw input to the label the cascade gave it, so that a repeated
 * input is answered without running any CNN. Matching is exact on the 64-bit key, unless a
 * near-duplicate radius is set (dc_memory_set_radius).
 *
 * The table is open addressing with linear probing over a power-of-two number of slots;
 * keys are spread by the splitmix64 finaliser, every 64-bit value (0 and UINT64_MAX
 * included) is a valid key, and deletions shift the following entries back (no
 * tombstones). Unbounded (capacity 0), the table doubles when it is half full, as the
 * paper's Python dict grows without bound. Bounded, the table is sized once for the
 * capacity and the least recently used entry is evicted to make room: an intrusive doubly
 * linked list by slot index orders the entries, and both a hit and a store move an entry
 * to the front. Every operation is O(1) on average; only an unbounded store that grows
 * the table allocates.
 *
 * Typical use (the cascade, cascade/cascade.c):
 *     uint64_t key;
 *     dc_memory_key(m, raw, &key, err);          // hash the raw image
 *     if (!dc_memory_lookup(m, key, &label)) {   // miss: run the models
 *         label = ...;
 *         dc_memory_store(m, key, label, err);
 *     }
 */
#ifndef DC_CASCADE_MEMORY_H
#define DC_CASCADE_MEMORY_H

#include "dualcnn.h"
#include "loaders/image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which perceptual hash keys the memory (cascade/hash.h). */
typedef enum {
    DC_HASH_DHASH,      /* dHash: exact duplicates only; not rotation invariant */
    DC_HASH_INVARIANTS  /* complex moment invariants: rotations and mirrors hit too */
} dc_hash_kind;

typedef struct dc_memory dc_memory;

typedef struct {
    uint64_t lookups;   /* calls to dc_memory_lookup */
    uint64_t hits;      /* of which found the key (or, with a radius, a key near it) */
    uint64_t near_hits; /* of those hits, the ones that found only a near key */
    uint64_t evictions; /* entries dropped to respect the capacity */
} dc_memory_stats;

/* "dhash" or "invariants" (the -m/--memory values of the original main.py); "?" for an
 * unknown value. */
const char *dc_hash_kind_name(dc_hash_kind k);

/* Parses "dhash" or "invariants" into *k; false (and *k untouched) for anything else. */
bool dc_hash_kind_parse(const char *s, dc_hash_kind *k);

/* Makes an empty memory keyed by kind, holding at most capacity entries (0: unbounded).
 * Returns DC_OK, DC_ERR_ARG for an unknown kind or a capacity too large to index,
 * DC_ERR_NOMEM. The caller frees *out with dc_memory_free. */
dc_status dc_memory_init(dc_hash_kind kind, size_t capacity, dc_memory **out, dc_error *err);

/* Frees the memory; m may be NULL. */
void dc_memory_free(dc_memory *m);

/* The key of a raw image (uint8 HWC, c = 1 or 3, before any resize or normalisation)
 * under the memory's hash: dc_dhash or dc_invariants_key. Does not touch the table.
 * Returns DC_OK, or DC_ERR_ARG for an image the hashes refuse. */
dc_status dc_memory_key(const dc_memory *m, const dc_image *raw, uint64_t *key,
                        dc_error *err);

/* Near-duplicate matching (off by default, as in the paper: radius 0 matches keys
 * exactly). With radius > 0 a lookup that misses the exact key takes the nearest stored
 * key within the radius: for dHash the Hamming distance of the two 64-bit keys (radius in
 * bits, at most 64), for the invariants the absolute difference of the two keys' values
 * (the sum of four invariants, a double). Ties go to the lowest slot. Such a lookup scans
 * every entry (O(size) instead of O(1)); bound the memory to bound it. Returns DC_OK, or
 * DC_ERR_ARG naming the radius when it is negative, not finite, or over 64 for dHash. */
dc_status dc_memory_set_radius(dc_memory *m, double radius, dc_error *err);
double dc_memory_radius(const dc_memory *m);

/* Looks key up. On a hit, writes the stored label to *label, makes the entry the most
 * recently used and returns true; on a miss leaves *label untouched and returns false.
 * Counts the lookup (and the hit) in the statistics. Allocates nothing. With a radius
 * (dc_memory_set_radius) a miss of the exact key falls back to the nearest key within
 * it. */
bool dc_memory_lookup(dc_memory *m, uint64_t key, int *label);

/* Stores label under key, overwriting the label of a key already present; either way the
 * entry becomes the most recently used. A bounded memory that is full first evicts its
 * least recently used entry. Returns DC_OK, or DC_ERR_NOMEM when an unbounded memory
 * cannot grow (the memory is then unchanged). */
dc_status dc_memory_store(dc_memory *m, uint64_t key, int label, dc_error *err);

/* Number of entries held. */
size_t dc_memory_size(const dc_memory *m);

/* The capacity given to dc_memory_init (0: unbounded) and the hash kind. */
size_t dc_memory_capacity(const dc_memory *m);
dc_hash_kind dc_memory_kind(const dc_memory *m);

/* Counters since dc_memory_init. */
dc_memory_stats dc_memory_get_stats(const dc_memory *m);

#endif /* DC_CASCADE_MEMORY_H */
