#include "fx_table.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

void fx_table_init(fx_table *t, int n, int64_t macs1, int64_t macs2)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    t->label = calloc(n, sizeof(int));
    t->p1 = calloc(n, sizeof(int));
    t->p2 = calloc(n, sizeof(int));
    ck_assert(t->label && t->p1 && t->p2);
    for (int k = 0; k < 3; k++) {
        t->s1[k] = calloc(n, sizeof(float));
        t->s2[k] = calloc(n, sizeof(float));
        ck_assert(t->s1[k] && t->s2[k]);
    }
    t->t1 = (dc_pred_table){ n, t->label, t->p1, { t->s1[0], t->s1[1], t->s1[2] }, macs1 };
    t->t2 = (dc_pred_table){ n, t->label, t->p2, { t->s2[0], t->s2[1], t->s2[2] }, macs2 };
}

void fx_table_free(fx_table *t)
{
    free(t->label);
    free(t->p1);
    free(t->p2);
    for (int k = 0; k < 3; k++) {
        free(t->s1[k]);
        free(t->s2[k]);
    }
}
