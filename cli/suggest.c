/* suggest.c — "did you mean" hints for mistyped flags and config keys (see suggest.h). */
#include "cli/suggest.h"

#include <string.h>

#define MAX_WORD 63 /* longer words get no suggestion */

/* The optimal string alignment distance (insertions, deletions, substitutions and swaps of
 * two neighbours each count one) between a and b, both at most MAX_WORD bytes. */
static int edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    int d[MAX_WORD + 2][MAX_WORD + 2];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

const char *cli_closest(const char *word, const char *const *candidates, int n)
{
    size_t len = strlen(word);
    if (len > MAX_WORD)
        return NULL;
    const char *best = NULL;
    int best_d = 1 + (int)len / 4 + 1; /* the most edits a typo may have, plus one */
    for (int k = 0; k < n; k++) {
        if (strlen(candidates[k]) > MAX_WORD)
            continue;
        int d = edit_distance(word, candidates[k]);
        if (d < best_d) {
            best_d = d;
            best = candidates[k];
        }
    }
    return best;
}
