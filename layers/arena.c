/*
 * arena.c — plans where each activation lives, so a forward pass allocates nothing.
 *
 * Each tensor is alive from the node that writes it to the last node that reads it.
 * Two tensors may share memory when their lifetimes do not overlap. Finding the smallest
 * arena is NP-hard (it is dynamic storage allocation); the greedy rule XNNPACK's planner
 * uses works well for CNNs: place tensors largest first, each at the lowest offset where
 * it does not collide with an already placed tensor whose lifetime overlaps its own.
 */
#include "layers/net.h"
#include "base/alloc.h"

#include <stdlib.h>

#define DC_ARENA_ALIGN DC_ARENA_ALIGN_FLOATS /* one cache line */

static size_t align_up(size_t x)
{
    return (x + DC_ARENA_ALIGN - 1) / DC_ARENA_ALIGN * DC_ARENA_ALIGN;
}

static bool lifetimes_overlap(int f1, int l1, int f2, int l2)
{
    return f1 <= l2 && f2 <= l1;
}

/* Insertion sort of tensor ids by size, largest first (n is a few hundred at most). */
static void sort_by_size_desc(int n, const size_t *sizes, int *order)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++) {
        int t = order[i], j = i - 1;
        while (j >= 0 && sizes[order[j]] < sizes[t]) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = t;
    }
}

size_t dc_arena_plan(int n, const size_t *sizes, const int *first, const int *last,
                     size_t *offsets)
{
    int *order = dc_malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    int *placed = dc_malloc((size_t)(n > 0 ? n : 1) * sizeof *placed);
    if (!order || !placed) {
        free(order);
        free(placed);
        return (size_t)-1;
    }
    sort_by_size_desc(n, sizes, order);

    size_t total = 0;
    int n_placed = 0;
    for (int oi = 0; oi < n; oi++) {
        int t = order[oi];
        size_t size = align_up(sizes[t]);
        if (size == 0) {
            offsets[t] = 0;
            continue;
        }
        /* Try offset 0, then the end of every conflicting tensor, lowest first: the
         * lowest feasible offset is always one of these candidates. */
        size_t best = (size_t)-1;
        for (int ci = -1; ci < n_placed; ci++) {
            size_t cand = 0;
            if (ci >= 0) {
                int p = placed[ci];
                if (!lifetimes_overlap(first[t], last[t], first[p], last[p]))
                    continue;
                cand = offsets[p] + align_up(sizes[p]);
            }
            if (cand >= best)
                continue;
            bool fits = true;
            for (int pi = 0; pi < n_placed && fits; pi++) {
                int p = placed[pi];
                if (!lifetimes_overlap(first[t], last[t], first[p], last[p]))
                    continue;
                size_t pb = offsets[p], pe = offsets[p] + align_up(sizes[p]);
                if (cand < pe && pb < cand + size)
                    fits = false;
            }
            if (fits)
                best = cand;
        }
        offsets[t] = best;
        placed[n_placed++] = t;
        if (best + size > total)
            total = best + size;
    }
    free(order);
    free(placed);
    return total;
}
