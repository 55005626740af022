/* fx_table.h — two models' predictions on the same samples, owned, with the dc_pred_table
 * views the threshold and plotting code reads (tests/test_threshold.c, test_svg.c). */
#ifndef DC_TEST_FX_TABLE_H
#define DC_TEST_FX_TABLE_H

#include "cascade/threshold.h"

#include <stdint.h>

typedef struct {
    int n;
    int *label, *p1, *p2;     /* true classes; the first and the second model's predictions */
    float *s1[3], *s2[3];     /* each model's scores, indexed DC_SCORE_MAXP.. */
    dc_pred_table t1, t2;     /* views of the arrays above */
} fx_table;

/* Allocates zeroed arrays for n samples and points t1 and t2 at them, with macs1 and macs2
 * multiply-accumulates per sample. The test fails when memory runs out. */
void fx_table_init(fx_table *t, int n, int64_t macs1, int64_t macs2);
void fx_table_free(fx_table *t);

#endif
