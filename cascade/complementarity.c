/* complementarity.c — pair complementarity, its matrix and the ranking (see
 * complementarity.h). */
#include "cascade/complementarity.h"
#include "base/alloc.h"
#include "cascade/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dc_pair_counts dc_pair_count(const bool *a, const bool *b, int n)
{
    dc_pair_counts c = { 0, 0, 0, 0 };
    for (int i = 0; i < n; i++) {
        if (a[i] && b[i])
            c.both++;
        else if (a[i])
            c.only_a++;
        else if (b[i])
            c.only_b++;
        else
            c.neither++;
    }
    return c;
}

static int64_t total(dc_pair_counts c)
{
    return c.only_a + c.only_b + c.both + c.neither;
}

double dc_complementarity_paper(dc_pair_counts c)
{
    int64_t n = total(c);
    if (n == 0)
        return 0.0;
    /* the paper's formula, term by term */
    int64_t either = c.only_a + c.only_b + c.both, both = c.both;
    int64_t right_a = c.only_a + c.both, right_b = c.only_b + c.both;
    int64_t diff = right_a > right_b ? right_a - right_b : right_b - right_a;
    return (double)(either - both - diff) / (double)n;
}

double dc_complementarity_code(dc_pair_counts c)
{
    int64_t n = total(c);
    return n == 0 ? 0.0 : (double)(c.only_a + c.only_b) / (double)n;
}

double dc_oracle_accuracy(dc_pair_counts c)
{
    int64_t n = total(c);
    return n == 0 ? 0.0 : (double)(c.only_a + c.only_b + c.both) / (double)n;
}

static dc_status check_inputs(const bool *const *correct, int k, int n, dc_error *err)
{
    if (k < 1 || n < 1)
        return dc_fail(err, DC_ERR_ARG, "complementarity: need at least one model and one "
                       "sample (got %d models, %d samples)", k, n);
    if (!correct)
        return dc_fail(err, DC_ERR_ARG, "complementarity: no correctness vectors");
    for (int i = 0; i < k; i++)
        if (!correct[i])
            return dc_fail(err, DC_ERR_ARG, "complementarity: model %d has no correctness "
                           "vector", i);
    return DC_OK;
}

dc_status dc_complementarity_matrix(const bool *const *correct, int k, int n, double *paper,
                                    double *code, dc_error *err)
{
    dc_status st = check_inputs(correct, k, n, err);
    if (st != DC_OK)
        return st;
    for (int a = 0; a < k; a++) {
        if (paper)
            paper[(size_t)a * k + a] = 0.0;
        if (code)
            code[(size_t)a * k + a] = 0.0;
        for (int b = a + 1; b < k; b++) {
            dc_pair_counts c = dc_pair_count(correct[a], correct[b], n);
            double p = dc_complementarity_paper(c), v = dc_complementarity_code(c);
            if (paper)
                paper[(size_t)a * k + b] = paper[(size_t)b * k + a] = p;
            if (code)
                code[(size_t)a * k + b] = code[(size_t)b * k + a] = v;
        }
    }
    return DC_OK;
}

static int cmp_pair(const void *x, const void *y)
{
    const dc_complementarity_pair *p = x, *q = y;
    if (p->per_gmac != q->per_gmac)
        return p->per_gmac > q->per_gmac ? -1 : 1;
    if (p->paper != q->paper)
        return p->paper > q->paper ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

dc_status dc_complementarity_rank(const bool *const *correct, const int64_t *macs, int k,
                                  int n, dc_complementarity_pair **pairs, int *count,
                                  dc_error *err)
{
    *pairs = NULL;
    *count = 0;
    dc_status st = check_inputs(correct, k, n, err);
    if (st != DC_OK)
        return st;
    if (!macs)
        return dc_fail(err, DC_ERR_ARG, "complementarity ranking: no MAC counts");
    for (int i = 0; i < k; i++)
        if (macs[i] <= 0)
            return dc_fail(err, DC_ERR_ARG, "complementarity ranking: model %d has %lld "
                           "MACs (must be > 0)", i, (long long)macs[i]);
    if (k < 2)
        return DC_OK;
    size_t m = (size_t)k * (size_t)(k - 1) / 2;
    dc_complementarity_pair *out = dc_malloc(m * sizeof *out);
    if (!out)
        return dc_fail(err, DC_ERR_NOMEM, "complementarity ranking: out of memory");
    size_t j = 0;
    for (int a = 0; a < k; a++)
        for (int b = a + 1; b < k; b++) {
            dc_pair_counts c = dc_pair_count(correct[a], correct[b], n);
            dc_complementarity_pair *p = &out[j++];
            p->a = a;
            p->b = b;
            p->paper = dc_complementarity_paper(c);
            p->code = dc_complementarity_code(c);
            p->oracle = dc_oracle_accuracy(c);
            p->gmacs = ((double)macs[a] + (double)macs[b]) * 1e-9;
            p->per_gmac = p->paper / p->gmacs;
        }
    qsort(out, m, sizeof *out, cmp_pair);
    *pairs = out;
    *count = (int)m;
    return DC_OK;
}

/* A growing string for one CSV line. */
typedef struct {
    char *s;
    size_t len, cap;
    bool failed;
} line_buf;

static void line_add(line_buf *l, const char *text)
{
    size_t t = strlen(text);
    if (l->failed)
        return;
    if (l->len + t + 1 > l->cap) {
        size_t cap = (l->cap ? l->cap * 2 : 256);
        while (cap < l->len + t + 1)
            cap *= 2;
        char *s = dc_realloc(l->s, cap);
        if (!s) {
            l->failed = true;
            return;
        }
        l->s = s;
        l->cap = cap;
    }
    memcpy(l->s + l->len, text, t + 1);
    l->len += t;
}

static void line_add_name(line_buf *l, const char *name)
{
    char buf[512];
    line_add(l, dc_csv_field(name ? name : "", buf, sizeof buf));
}

dc_status dc_complementarity_write_csv(const char *path, const char *const *names, int k,
                                       const double *matrix, dc_error *err)
{
    if (k < 1 || !names || !matrix)
        return dc_fail(err, DC_ERR_ARG, "%s: no matrix to write", path);
    line_buf l = { 0 };
    line_add(&l, "model");
    for (int i = 0; i < k; i++) {
        line_add(&l, ",");
        line_add_name(&l, names[i]);
    }
    dc_csv *csv = NULL;
    dc_status st = l.failed ? dc_fail(err, DC_ERR_NOMEM, "out of memory")
                            : dc_csv_open(path, l.s, false, &csv, err);
    for (int a = 0; a < k && st == DC_OK; a++) {
        l.len = 0;
        if (l.s)
            l.s[0] = '\0';
        line_add_name(&l, names[a]);
        for (int b = 0; b < k; b++) {
            char v[32];
            snprintf(v, sizeof v, ",%.4f", matrix[(size_t)a * k + b]);
            line_add(&l, v);
        }
        st = l.failed ? dc_fail(err, DC_ERR_NOMEM, "out of memory")
                      : dc_csv_row(csv, err, "%s", l.s);
    }
    free(l.s);
    if (csv)
        st = st == DC_OK ? dc_csv_commit(csv, err) : (dc_csv_abort(csv), st);
    return st;
}

dc_status dc_complementarity_write_ranking_csv(const char *path, const char *const *names,
                                               const dc_complementarity_pair *pairs,
                                               int count, dc_error *err)
{
    if (!names || (count > 0 && !pairs) || count < 0)
        return dc_fail(err, DC_ERR_ARG, "%s: no ranking to write", path);
    dc_csv *csv = NULL;
    dc_status st = dc_csv_open(path, "rank,model_a,model_b,complementarity,code_variant,"
                               "oracle_accuracy,gmacs,per_gmac", false, &csv, err);
    for (int i = 0; i < count && st == DC_OK; i++) {
        char fa[512], fb[512];
        const dc_complementarity_pair *p = &pairs[i];
        st = dc_csv_row(csv, err, "%d,%s,%s,%.4f,%.4f,%.4f,%.6f,%.4f", i + 1,
                        dc_csv_field(names[p->a] ? names[p->a] : "", fa, sizeof fa),
                        dc_csv_field(names[p->b] ? names[p->b] : "", fb, sizeof fb),
                        p->paper, p->code, p->oracle, p->gmacs, p->per_gmac);
    }
    if (csv)
        st = st == DC_OK ? dc_csv_commit(csv, err) : (dc_csv_abort(csv), st);
    return st;
}
