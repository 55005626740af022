/*
 * memory.c — the memory component: an open-addressing hash table with an optional LRU
 * order (see memory.h for the contracts and the layout).
 */
#include "cascade/memory.h"
#include "base/alloc.h"

#include "cascade/hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX            /* "no slot" in the LRU links */
#define INITIAL_SLOTS ((size_t)1024)
#define MAX_BOUNDED ((size_t)1 << 30) /* slot indices of a bounded table fit in uint32 */

typedef struct {
    uint64_t key;
    int label;
    uint32_t prev, next; /* LRU neighbours (bounded memory only): prev is more recent */
    bool used;
} dc_slot;

struct dc_memory {
    dc_hash_kind kind;
    size_t capacity;       /* 0: unbounded */
    dc_slot *slots;
    size_t mask;           /* number of slots - 1 (a power of two minus one) */
    size_t count;
    uint32_t head, tail;   /* most and least recently used (bounded memory only) */
    double radius;         /* near-duplicate radius (dc_memory_set_radius); 0: exact */
    dc_memory_stats stats;
};

static const char *const kind_names[] = { "dhash", "invariants" };

const char *dc_hash_kind_name(dc_hash_kind k)
{
    return (k == DC_HASH_DHASH || k == DC_HASH_INVARIANTS) ? kind_names[k] : "?";
}

bool dc_hash_kind_parse(const char *s, dc_hash_kind *k)
{
    for (int i = 0; s && i < 2; i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *k = (dc_hash_kind)i;
            return true;
        }
    return false;
}

/* splitmix64's finaliser: perceptual keys are far from uniform in their low bits */
static inline size_t home_slot(const dc_memory *m, uint64_t key)
{
    key = (key ^ (key >> 30)) * 0xBF58476D1CE4E5B9ull;
    key = (key ^ (key >> 27)) * 0x94D049BB133111EBull;
    key ^= key >> 31;
    return (size_t)key & m->mask;
}

static bool bounded(const dc_memory *m)
{
    return m->capacity > 0;
}

/* ---- the LRU list ------------------------------------------------------ */

static void lru_unlink(dc_memory *m, uint32_t i)
{
    dc_slot *s = &m->slots[i];
    if (s->prev != NIL)
        m->slots[s->prev].next = s->next;
    else
        m->head = s->next;
    if (s->next != NIL)
        m->slots[s->next].prev = s->prev;
    else
        m->tail = s->prev;
    s->prev = s->next = NIL;
}

static void lru_push_front(dc_memory *m, uint32_t i)
{
    dc_slot *s = &m->slots[i];
    s->prev = NIL;
    s->next = m->head;
    if (m->head != NIL)
        m->slots[m->head].prev = i;
    else
        m->tail = i;
    m->head = i;
}

static void lru_touch(dc_memory *m, uint32_t i)
{
    if (m->head != i) {
        lru_unlink(m, i);
        lru_push_front(m, i);
    }
}

/* ---- the table ---------------------------------------------------------- */

/* The slot holding key, or SIZE_MAX. The table is at most half full, so the probe ends. */
static size_t find(const dc_memory *m, uint64_t key)
{
    for (size_t i = home_slot(m, key);; i = (i + 1) & m->mask) {
        if (!m->slots[i].used)
            return SIZE_MAX;
        if (m->slots[i].key == key)
            return i;
    }
}

/* Puts a key known to be absent into the first free slot of its probe sequence. */
static size_t place(dc_memory *m, uint64_t key, int label)
{
    size_t i = home_slot(m, key);
    while (m->slots[i].used)
        i = (i + 1) & m->mask;
    m->slots[i] = (dc_slot){ .key = key, .label = label, .prev = NIL, .next = NIL,
                             .used = true };
    return i;
}

/* Empties slot i (already unlinked from the LRU list) and shifts back the entries that
 * follow it in the same cluster, so that every probe sequence stays unbroken. A moved
 * entry keeps its place in the LRU list: its neighbours are pointed at the new slot. */
static void erase(dc_memory *m, size_t i)
{
    m->slots[i].used = false;
    for (size_t j = (i + 1) & m->mask; m->slots[j].used; j = (j + 1) & m->mask) {
        size_t from_home = (j - home_slot(m, m->slots[j].key)) & m->mask;
        size_t from_hole = (j - i) & m->mask;
        if (from_home < from_hole)
            continue; /* its home lies after the hole: it must stay */
        m->slots[i] = m->slots[j];
        m->slots[j].used = false;
        if (bounded(m)) {
            dc_slot *s = &m->slots[i];
            if (s->prev != NIL)
                m->slots[s->prev].next = (uint32_t)i;
            else
                m->head = (uint32_t)i;
            if (s->next != NIL)
                m->slots[s->next].prev = (uint32_t)i;
            else
                m->tail = (uint32_t)i;
        }
        i = j;
    }
    m->count--;
}

/* Doubles the slots of an unbounded table and re-places every entry. */
static dc_status grow(dc_memory *m, dc_error *err)
{
    size_t n = m->mask + 1;
    if (n > SIZE_MAX / 2 / sizeof(dc_slot))
        return dc_fail(err, DC_ERR_NOMEM, "memory: the table cannot grow past %zu slots", n);
    dc_slot *fresh = dc_calloc(2 * n, sizeof(dc_slot));
    if (!fresh)
        return dc_fail(err, DC_ERR_NOMEM, "memory: out of memory growing to %zu slots",
                       2 * n);
    dc_slot *old = m->slots;
    m->slots = fresh;
    m->mask = 2 * n - 1;
    for (size_t i = 0; i < n; i++)
        if (old[i].used)
            place(m, old[i].key, old[i].label);
    free(old);
    return DC_OK;
}

/* ---- the public functions ------------------------------------------------ */

dc_status dc_memory_init(dc_hash_kind kind, size_t capacity, dc_memory **out, dc_error *err)
{
    *out = NULL;
    if (kind != DC_HASH_DHASH && kind != DC_HASH_INVARIANTS)
        return dc_fail(err, DC_ERR_ARG, "memory: unknown hash kind %d", (int)kind);
    if (capacity > MAX_BOUNDED)
        return dc_fail(err, DC_ERR_ARG,
                       "memory: a capacity of %zu entries is over the limit of %zu "
                       "(use 0 for an unbounded memory)", capacity, MAX_BOUNDED);
    size_t slots = capacity ? 2 : INITIAL_SLOTS; /* bounded: at most half full, forever */
    while (slots < 2 * capacity)
        slots *= 2;
    dc_memory *m = dc_calloc(1, sizeof *m);
    if (m)
        m->slots = dc_calloc(slots, sizeof(dc_slot));
    if (!m || !m->slots) {
        free(m);
        return dc_fail(err, DC_ERR_NOMEM, "memory: out of memory for %zu slots", slots);
    }
    m->kind = kind;
    m->capacity = capacity;
    m->mask = slots - 1;
    m->head = m->tail = NIL;
    *out = m;
    return DC_OK;
}

void dc_memory_free(dc_memory *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

dc_status dc_memory_key(const dc_memory *m, const dc_image *raw, uint64_t *key,
                        dc_error *err)
{
    if (m->kind == DC_HASH_INVARIANTS)
        return dc_invariants_key(raw, key, NULL, err);
    if (!dc_hash_image_ok(raw))
        return dc_fail(err, DC_ERR_ARG,
                       "dhash: expected a non-empty 8-bit image with 1 or 3 channels, "
                       "got %d x %d x %d", raw ? raw->w : 0, raw ? raw->h : 0,
                       raw ? raw->c : 0);
    *key = dc_dhash(raw);
    return DC_OK;
}

dc_status dc_memory_set_radius(dc_memory *m, double radius, dc_error *err)
{
    double most = m->kind == DC_HASH_DHASH ? 64.0 : HUGE_VAL;
    if (!(radius >= 0.0 && radius <= most) || !isfinite(radius))
        return dc_fail(err, DC_ERR_ARG, "memory: radius %g must be %s", radius,
                       m->kind == DC_HASH_DHASH ? "0 to 64 bits (a Hamming distance of dHash "
                                                  "keys)"
                                                : "a finite number >= 0 (a difference of "
                                                  "invariant keys)");
    m->radius = radius;
    return DC_OK;
}

double dc_memory_radius(const dc_memory *m)
{
    return m->radius;
}

/* The distance of two keys under the memory's hash (see dc_memory_set_radius). */
static double key_distance(const dc_memory *m, uint64_t a, uint64_t b)
{
    if (m->kind == DC_HASH_DHASH)
        return (double)__builtin_popcountll(a ^ b);
    double x, y;
    memcpy(&x, &a, sizeof x); /* an invariants key is the bits of a double */
    memcpy(&y, &b, sizeof y);
    return fabs(x - y);
}

/* The slot of the nearest key within the radius, or SIZE_MAX: a scan of every slot. */
static size_t find_near(const dc_memory *m, uint64_t key)
{
    size_t best = SIZE_MAX;
    double best_d = m->radius;
    for (size_t i = 0; i <= m->mask; i++) {
        if (!m->slots[i].used)
            continue;
        double d = key_distance(m, key, m->slots[i].key);
        if (d < best_d || (d == best_d && best == SIZE_MAX))
            best = i, best_d = d;
    }
    return best;
}

bool dc_memory_lookup(dc_memory *m, uint64_t key, int *label)
{
    m->stats.lookups++;
    size_t i = find(m, key);
    if (i == SIZE_MAX && m->radius > 0.0) {
        i = find_near(m, key);
        if (i != SIZE_MAX)
            m->stats.near_hits++;
    }
    if (i == SIZE_MAX)
        return false;
    m->stats.hits++;
    if (bounded(m))
        lru_touch(m, (uint32_t)i);
    *label = m->slots[i].label;
    return true;
}

dc_status dc_memory_store(dc_memory *m, uint64_t key, int label, dc_error *err)
{
    size_t i = find(m, key);
    if (i != SIZE_MAX) {
        m->slots[i].label = label;
        if (bounded(m))
            lru_touch(m, (uint32_t)i);
        return DC_OK;
    }
    if (bounded(m) && m->count == m->capacity) {
        uint32_t victim = m->tail;
        lru_unlink(m, victim);
        erase(m, victim);
        m->stats.evictions++;
    }
    if (!bounded(m) && 2 * (m->count + 1) > m->mask + 1) {
        dc_status st = grow(m, err);
        if (st != DC_OK)
            return st;
    }
    i = place(m, key, label);
    m->count++;
    if (bounded(m))
        lru_push_front(m, (uint32_t)i);
    return DC_OK;
}

size_t dc_memory_size(const dc_memory *m)
{
    return m->count;
}

size_t dc_memory_capacity(const dc_memory *m)
{
    return m->capacity;
}

dc_hash_kind dc_memory_kind(const dc_memory *m)
{
    return m->kind;
}

dc_memory_stats dc_memory_get_stats(const dc_memory *m)
{
    return m->stats;
}
