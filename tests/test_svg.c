/*
 * test_svg.c — the SVG plots (cascade/svg.h): the files are produced, are well-formed XML
 * (a tag-balance check here, and Python's xml.etree parser when /usr/bin/python3 exists),
 * carry the title (escaped) and the marked lambdas, stay small for long curves, and are
 * written atomically (a failing write leaves the old file and no temporary behind).
 */
#include "cascade/svg.h"
#include "cascade/threshold.h"
#include "fixtures.h"
#include "fx_table.h"

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A small well-formedness check: tags nest and close, quotes in tags pair up, '&' starts
 * a known entity. Returns NULL when fine, else what is wrong. */
static const char *xml_balance(const char *s)
{
    static char why[160];
    char stack[64][48];
    int depth = 0, roots = 0;
    for (const char *p = s; *p;) {
        if (*p == '&') {
            static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;" };
            bool ok = false;
            for (int i = 0; i < 5 && !ok; i++)
                ok = strncmp(p, ents[i], strlen(ents[i])) == 0;
            if (!ok)
                return "a bare '&'";
            p++;
            continue;
        }
        if (*p != '<') {
            p++;
            continue;
        }
        if (!strncmp(p, "<?", 2) || !strncmp(p, "<!--", 4)) {
            const char *end = strstr(p, p[1] == '?' ? "?>" : "-->");
            if (!end)
                return "an unterminated declaration or comment";
            p = end + 2;
            continue;
        }
        bool closing = p[1] == '/';
        const char *q = p + 1 + closing;
        char name[48];
        int n = 0;
        while (*q && !strchr(" \t\r\n/>", *q) && n < 47)
            name[n++] = *q++;
        name[n] = '\0';
        if (n == 0)
            return "a tag without a name";
        char quote = 0;
        while (*q && (quote || *q != '>')) {
            if (quote && *q == quote)
                quote = 0;
            else if (!quote && (*q == '"' || *q == '\''))
                quote = *q;
            else if (*q == '<')
                return "'<' inside a tag";
            q++;
        }
        if (!*q)
            return "an unterminated tag";
        bool self = q[-1] == '/';
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0) {
                snprintf(why, sizeof why, "</%s> closes <%s>", name,
                         depth ? stack[depth - 1] : "(nothing)");
                return why;
            }
            depth--;
        } else if (!self) {
            if (depth == 0)
                roots++;
            if (depth == 64)
                return "nested too deep";
            snprintf(stack[depth++], sizeof stack[0], "%s", name);
        } else if (depth == 0) {
            roots++;
        }
        p = q + 1;
    }
    if (depth != 0) {
        snprintf(why, sizeof why, "<%s> never closed", stack[depth - 1]);
        return why;
    }
    return roots == 1 ? NULL : "not exactly one root element";
}

static bool have_python(void)
{
    static int state = -1;
    if (state < 0) {
        state = system("/usr/bin/python3 -c 'import xml.etree.ElementTree' >/dev/null 2>&1")
                == 0;
        if (!state)
            fx_skip("test_svg: no /usr/bin/python3: XML parser check skipped");
    }
    return state == 1;
}

/* Parses the file with xml.etree and prints the root's <title> text; NULL-terminated
 * result in a static buffer, or NULL when it does not parse. */
static const char *python_title(const char *path)
{
    static char out[1024];
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E\n"
             "r = E.parse(sys.argv[1]).getroot()\n"
             "assert r.tag == \"{http://www.w3.org/2000/svg}svg\", r.tag\n"
             "sys.stdout.buffer.write(r.find(\"{http://www.w3.org/2000/svg}title\").text"
             ".encode())' '%s'", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    return pclose(p) == 0 ? out : NULL;
}

static void check_file(const char *path, const char *title, const char *title_escaped)
{
    char *s = fx_read_file(path, NULL);
    const char *why = xml_balance(s);
    ck_assert_msg(why == NULL, "%s: %s", path, why);
    ck_assert_msg(strncmp(s, "<?xml", 5) == 0, "%s: no XML declaration", path);
    ck_assert_msg(strstr(s, title_escaped) != NULL, "%s: title missing", path);
    /* standalone: no links to other files, scripts or images */
    ck_assert_ptr_null(strstr(s, "href"));
    ck_assert_ptr_null(strstr(s, "<script"));
    ck_assert_ptr_null(strstr(s, "<image"));
    ck_assert_ptr_null(strstr(s, "@import"));
    free(s);
    if (have_python()) {
        const char *t = python_title(path);
        ck_assert_msg(t != NULL, "%s: xml.etree cannot parse it", path);
        ck_assert_str_eq(t, title);
    }
}

/* ---- a table with realistic curves ---------------------------------------------- */

static void table_make(fx_table *t, int n, uint64_t seed)
{
    fx_rng r = fx_rng_seed(seed);
    fx_table_init(t, n, 40000000, 28000000);
    for (int i = 0; i < n; i++) {
        t->label[i] = (int)(fx_rng_u64(&r) % 10);
        bool r1 = fx_rng_uniform(&r, 0, 1) < 0.85f, r2 = fx_rng_uniform(&r, 0, 1) < 0.88f;
        t->p1[i] = r1 ? t->label[i] : (t->label[i] + 1) % 10;
        t->p2[i] = r2 ? t->label[i] : (t->label[i] + 2) % 10;
        for (int k = 0; k < 3; k++) {
            float c1 = r1 ? fx_rng_uniform(&r, 0.5f, 1) : fx_rng_uniform(&r, 0.1f, 0.9f);
            float c2 = r2 ? fx_rng_uniform(&r, 0.5f, 1) : fx_rng_uniform(&r, 0.1f, 0.9f);
            t->s1[k][i] = k == 2 ? 1 - c1 : c1;
            t->s2[k][i] = k == 2 ? 1 - c2 : c2;
        }
    }
}

START_TEST(test_threshold_plot_all_scores)
{
    fx_table t;
    table_make(&t, 2000, 17);
    dc_threshold_point *curves[3][2];
    int counts[3][2], best[3][2];
    dc_error err;
    for (int k = 0; k < 3; k++)
        for (int pc = 0; pc < 2; pc++)
            ck_assert_int_eq(dc_threshold_curve(&t.t1, &t.t2, (dc_score_kind)k, pc,
                                                &curves[k][pc], &counts[k][pc], &best[k][pc],
                                                &err), DC_OK);
    const dc_threshold_point *cc[3][2];
    for (int k = 0; k < 3; k++)
        for (int pc = 0; pc < 2; pc++)
            cc[k][pc] = curves[k][pc];
    char path[512];
    fx_path(path, sizeof path, "svg_threshold.svg");
    remove(path);
    fx_temporaries("svg_threshold", true);
    const char *title = "resnet20 -> mobilenetv2 & <friends>";
    ck_assert_msg(dc_svg_threshold_plot(path, title, cc, counts, best, &err) == DC_OK, "%s",
                  err.msg);
    check_file(path, title, "resnet20 -&gt; mobilenetv2 &amp; &lt;friends&gt;");
    char *s = fx_read_file(path, NULL);
    for (int k = 0; k < 3; k++) {
        ck_assert_ptr_nonnull(strstr(s, dc_score_name((dc_score_kind)k)));
        for (int pc = 0; pc < 2; pc++) {
            char want[64];
            snprintf(want, sizeof want, "\xCE\xBB = %.4f:", curves[k][pc][best[k][pc]].lambda);
            ck_assert_msg(strstr(s, want) != NULL, "marked lambda '%s' missing", want);
        }
    }
    ck_assert_ptr_nonnull(strstr(s, "accuracy (%)"));
    ck_assert_ptr_nonnull(strstr(s, "second-model usage (%)"));
    ck_assert_ptr_nonnull(strstr(s, "with post-check"));
    free(s);
    ck_assert_int_eq(fx_temporaries("svg_threshold", false), 0);
    for (int k = 0; k < 3; k++)
        for (int pc = 0; pc < 2; pc++)
            free(curves[k][pc]);
    fx_table_free(&t);
}
END_TEST

START_TEST(test_threshold_curve_one_score_and_thinning)
{
    /* 50,000 samples: a curve of about 50,000 points drawn on ~660 pixels */
    fx_table t;
    table_make(&t, 50000, 5);
    dc_threshold_point *c[2];
    int count[2], best[2];
    dc_error err;
    for (int pc = 0; pc < 2; pc++)
        ck_assert_int_eq(dc_threshold_curve(&t.t1, &t.t2, DC_SCORE_ENTROPY, pc, &c[pc],
                                            &count[pc], &best[pc], &err), DC_OK);
    ck_assert_int_gt(count[0], 40000);
    const dc_threshold_point *cc[2] = { c[0], c[1] };
    char path[512];
    fx_path(path, sizeof path, "svg_entropy.svg");
    ck_assert_msg(dc_svg_threshold_curve(path, "entropy", DC_SCORE_ENTROPY, cc, count, best,
                                         &err) == DC_OK, "%s", err.msg);
    check_file(path, "entropy", "entropy");
    size_t len;
    char *s = fx_read_file(path, &len);
    ck_assert_msg(len < 300000, "%zu bytes for a 50,000-point curve: not thinned", len);
    for (int pc = 0; pc < 2; pc++) {
        char want[64];
        snprintf(want, sizeof want, "\xCE\xBB = %.4f:", c[pc][best[pc]].lambda);
        ck_assert_msg(strstr(s, want) != NULL, "marked lambda '%s' missing", want);
    }
    ck_assert_ptr_nonnull(strstr(s, "score &gt; \xCE\xBB"));
    free(s);
    /* an empty second curve and no marks are fine; the oracle has no curve */
    const dc_threshold_point *one[2] = { c[0], NULL };
    int none[2] = { -1, -1 }, cnt[2] = { count[0], 0 };
    ck_assert_int_eq(dc_svg_threshold_curve(path, "one", DC_SCORE_ENTROPY, one, cnt, none, &err),
                     DC_OK);
    check_file(path, "one", "one");
    ck_assert_int_eq(dc_svg_threshold_curve(path, "x", DC_SCORE_ORACLE, one, cnt, none, &err),
                     DC_ERR_ARG);
    free(c[0]);
    free(c[1]);
    fx_table_free(&t);
}
END_TEST

START_TEST(test_heatmap)
{
    const char *names[4] = { "resnet20", "mobilenetv2_x0_5", "vgg11_bn", "shufflenetv2_x0_5" };
    double m[16] = { 0,     0.123, 0.05,  0.2,   0.123, 0, 0.0871, 0.1,
                     0.05,  0.0871, 0,    0.15,  0.2,   0.1, 0.15,  0 };
    char path[512];
    dc_error err;
    fx_path(path, sizeof path, "svg_heatmap.svg");
    fx_temporaries("svg_heatmap", true);
    ck_assert_msg(dc_svg_heatmap(path, "complementarity (paper)", names, 4, m,
                                 "complementarity", &err) == DC_OK, "%s", err.msg);
    check_file(path, "complementarity (paper)", "complementarity (paper)");
    char *s = fx_read_file(path, NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(strstr(s, names[i]));
    ck_assert_ptr_nonnull(strstr(s, ">0.123<"));
    ck_assert_ptr_nonnull(strstr(s, ">0.087<"));
    ck_assert_ptr_nonnull(strstr(s, ">0.000<"));
    ck_assert_ptr_nonnull(strstr(s, "rotate(-45)"));
    ck_assert_ptr_nonnull(strstr(s, "linearGradient"));
    /* 16 cells + the background + the colour bar */
    int rects = 0;
    for (const char *p = s; (p = strstr(p, "<rect")); p++)
        rects++;
    ck_assert_int_eq(rects, 18);
    /* the smallest value gets the first viridis colour, the largest the last */
    ck_assert_ptr_nonnull(strstr(s, "fill=\"#440154\""));
    ck_assert_ptr_nonnull(strstr(s, "fill=\"#fde725\""));
    free(s);
    /* one model, NaN values, odd bytes in names: still valid XML */
    const char *odd[1] = { "bad\xff name \x01 & <x>" };
    double nan1[1] = { NAN };
    ck_assert_int_eq(dc_svg_heatmap(path, "odd \xc3(", odd, 1, nan1, NULL, &err), DC_OK);
    check_file(path, "odd ?(", "odd ?(");
    s = fx_read_file(path, NULL);
    ck_assert_ptr_nonnull(strstr(s, "bad? name ? &amp; &lt;x&gt;"));
    ck_assert_ptr_nonnull(strstr(s, ">n/a<"));
    free(s);
    ck_assert_int_eq(dc_svg_heatmap(path, "t", names, 0, m, NULL, &err), DC_ERR_ARG);
    ck_assert_int_eq(fx_temporaries("svg_heatmap", false), 0);
}
END_TEST

/* A write that fails half-way (the file size limit hit) leaves the old file as it was and
 * no temporary; a missing directory fails cleanly. */
START_TEST(test_atomic_write)
{
    char path[512];
    fx_path(path, sizeof path, "svg_atomic.svg");
    fx_temporaries("svg_atomic", true);
    const char *old = "old content\n";
    ck_assert_int_eq(fx_write_file(path, old, strlen(old)), 0);
    enum { K = 30 };
    const char *names[K];
    double m[K * K];
    for (int i = 0; i < K; i++)
        names[i] = "some_model_name";
    for (int i = 0; i < K * K; i++)
        m[i] = (i % 7) / 7.0;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit lim = { 4096, 4096 };
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &lim);
        dc_error err;
        dc_status st = dc_svg_heatmap(path, "too big", names, K, m, "v", &err);
        _exit(st == DC_ERR_IO ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the failing write did not report DC_ERR_IO");
    char *s = fx_read_file(path, NULL);
    ck_assert_str_eq(s, old);
    free(s);
    ck_assert_int_eq(fx_temporaries("svg_atomic", false), 0);
    /* and without the limit it replaces the file in one piece */
    dc_error err;
    ck_assert_int_eq(dc_svg_heatmap(path, "fits", names, K, m, "v", &err), DC_OK);
    check_file(path, "fits", "fits");
    ck_assert_int_eq(dc_svg_heatmap("/nonexistent-dir/x.svg", "t", names, K, m, "v", &err),
                     DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/x.svg"));
}
END_TEST

START_TEST(test_balance_checker_catches_errors)
{
    /* the checker used above must itself fail on broken XML */
    ck_assert_ptr_null(xml_balance("<svg><g a=\"1>2\"></g></svg>"));
    ck_assert_ptr_nonnull(xml_balance("<svg><g></svg>"));
    ck_assert_ptr_nonnull(xml_balance("<svg><g></h></svg>"));
    ck_assert_ptr_nonnull(xml_balance("<svg>a & b</svg>"));
    ck_assert_ptr_nonnull(xml_balance("<svg/><svg/>"));
    ck_assert_ptr_nonnull(xml_balance("<svg a=\"1></svg>"));
}
END_TEST

static Suite *svg_suite(void)
{
    Suite *s = suite_create("svg");
    TCase *tc = fx_tcase(s, "core", 120);
    tcase_add_test(tc, test_threshold_plot_all_scores);
    tcase_add_test(tc, test_threshold_curve_one_score_and_thinning);
    tcase_add_test(tc, test_heatmap);
    tcase_add_test(tc, test_atomic_write);
    tcase_add_test(tc, test_balance_checker_catches_errors);
    return s;
}

FX_MAIN(svg_suite)
