/*
 * test_energy.c — the energy sources (cascade/energy.h) on fake powercap trees built under
 * the test directory, with $DUALCNN_POWERCAP_ROOT pointed at them: exact joules summed by
 * the domain rule (packages + dram, not core/uncore/psys, not the MMIO tree); one counter
 * wrap, and two wraps with a poll between them; unreadable counters; no tree at all; the
 * nested sysfs layout; the none source; the idle baseline, on a static tree and on a
 * counter advanced by a background thread.
 */
#define _XOPEN_SOURCE 700 /* setenv, nanosleep */
#include "cascade/energy.h"
#include "fixtures.h"
#include "fx_energy.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_UJ 262143328850ull /* a typical max_energy_range_uj */

/* ---- fake trees ---------------------------------------------------------------------- */

/* Makes an empty directory "<tmp>/energy-<name>-<pid>", points the powercap root at it and
 * writes its path into root (size FX_PATH_SIZE). */
static void make_root(char *root, const char *name)
{
    fx_tree_make(root, "energy", name);
    ck_assert_int_eq(setenv("DUALCNN_POWERCAP_ROOT", root, 1), 0);
}

/* Sets zone id's energy_uj to uj, atomically (write a new file, then rename over it). */
static void set_uj(const char *root, const char *id, unsigned long long uj)
{
    char dir[FX_PATH_SIZE];
    fx_tree_putf(fx_pathf(dir, "%s/%s", root, id), "energy_uj", "%llu\n", uj);
}

/* Makes zone id (a directory under root) with its name, counter and maximum. */
static void zone(const char *root, const char *id, const char *name, unsigned long long uj,
                 unsigned long long max)
{
    char dir[FX_PATH_SIZE];
    fx_tree_mkdirf("%s", fx_pathf(dir, "%s/%s", root, id));
    fx_tree_putf(dir, "name", "%s\n", name);
    fx_tree_putf(dir, "max_energy_range_uj", "%llu\n", max);
    set_uj(root, id, uj);
}

/* Replaces zone id's energy_uj with something that cannot be read as a file. */
static void energy_uj_path(char *path, const char *root, const char *id)
{
    fx_pathf(path, "%s/%s/energy_uj", root, id);
    ck_assert_int_eq(unlink(path), 0);
}

/* The domain with that id. */
static const dc_energy_domain *domain(const dc_energy *e, const char *id)
{
    for (int i = 0; i < dc_energy_domain_count(e); i++)
        if (strcmp(dc_energy_domain_at(e, i)->id, id) == 0)
            return dc_energy_domain_at(e, i);
    ck_abort_msg("no domain %s", id);
    return NULL;
}

/* Two packages with core/uncore/dram subzones, psys, and an MMIO copy of package 0. */
static void server_tree(const char *root)
{
    zone(root, "intel-rapl:0", "package-0", 1000000, MAX_UJ);
    zone(root, "intel-rapl:0:0", "core", 2000000, MAX_UJ);
    zone(root, "intel-rapl:0:1", "uncore", 3000000, MAX_UJ);
    zone(root, "intel-rapl:0:2", "dram", 4000000, 65712999613ull);
    zone(root, "intel-rapl:1", "package-1", 5000000, MAX_UJ);
    zone(root, "intel-rapl:1:0", "core", 6000000, MAX_UJ);
    zone(root, "intel-rapl:1:1", "dram", 7000000, 65712999613ull);
    zone(root, "intel-rapl:2", "psys", 8000000, MAX_UJ);
    zone(root, "intel-rapl-mmio:0", "package-0", 9000000, MAX_UJ);
    char ctl[FX_PATH_SIZE];
    fx_pathf(ctl, "%s/intel-rapl", root);
    ck_assert_int_eq(mkdir(ctl, 0755), 0); /* the control type's directory: not a zone */
}

/* ---- a normal tree --------------------------------------------------------------------- */

START_TEST(test_normal_tree)
{
    char root[FX_PATH_SIZE];
    make_root(root, "normal");
    server_tree(root);
    const char *kinds[] = { NULL, "auto", "rapl" };
    for (int k = 0; k < 3; k++) {
        dc_energy *e = fx_energy_open_ok(kinds[k], NULL);
        ck_assert(dc_energy_available(e));
        ck_assert_str_eq(dc_energy_source_name(e), "rapl");
        ck_assert_str_eq(dc_energy_unavailable_reason(e), "");
        ck_assert_str_eq(dc_energy_domains(e), "package-0 (core, uncore) + dram, "
                                               "package-1 (core) + dram, psys (not summed)");
        ck_assert_int_eq(dc_energy_domain_count(e), 8); /* not the MMIO copy */
        ck_assert_ptr_null(dc_energy_domain_at(e, 8));
        ck_assert_ptr_null(dc_energy_domain_at(e, -1));

        fx_energy_start_ok(e);
        ck_assert(fx_energy_read_ok(e) == 0.0);
        fx_energy_start_ok(e);
        set_uj(root, "intel-rapl:0", 1000000 + 1500000);   /* +1.5 J */
        set_uj(root, "intel-rapl:0:0", 2000000 + 700000);  /* +0.7 J, inside the package */
        set_uj(root, "intel-rapl:0:1", 3000000 + 100000);  /* +0.1 J, inside the package */
        set_uj(root, "intel-rapl:0:2", 4000000 + 250000);  /* +0.25 J, dram */
        set_uj(root, "intel-rapl:1", 5000000 + 2000000);   /* +2 J */
        set_uj(root, "intel-rapl:1:0", 6000000 + 1200000); /* +1.2 J, inside the package */
        set_uj(root, "intel-rapl:1:1", 7000000 + 500000);  /* +0.5 J, dram */
        set_uj(root, "intel-rapl:2", 8000000 + 10000000);  /* +10 J, psys: not summed */
        set_uj(root, "intel-rapl-mmio:0", 9000000 + 99000000); /* ignored */
        ck_assert_double_eq_tol(fx_energy_read_ok(e), 1.5 + 0.25 + 2.0 + 0.5, 1e-12);

        struct { const char *id, *name; int parent; bool counted; double j; } want[] = {
            { "intel-rapl:0", "package-0", -1, true, 1.5 },
            { "intel-rapl:0:0", "core", 0, false, 0.7 },
            { "intel-rapl:0:1", "uncore", 0, false, 0.1 },
            { "intel-rapl:0:2", "dram", 0, true, 0.25 },
            { "intel-rapl:1", "package-1", -1, true, 2.0 },
            { "intel-rapl:1:0", "core", 4, false, 1.2 },
            { "intel-rapl:1:1", "dram", 4, true, 0.5 },
            { "intel-rapl:2", "psys", -1, false, 10.0 },
        };
        for (int i = 0; i < 8; i++) {
            const dc_energy_domain *d = dc_energy_domain_at(e, i);
            ck_assert_str_eq(d->id, want[i].id);
            ck_assert_str_eq(d->name, want[i].name);
            ck_assert_int_eq(d->parent, want[i].parent);
            ck_assert_int_eq(d->counted, want[i].counted);
            ck_assert_double_eq_tol(d->joules, want[i].j, 1e-12);
        }
        /* a second read adds nothing while the counters stand still; more is added on */
        ck_assert_double_eq_tol(fx_energy_read_ok(e), 4.25, 1e-12);
        set_uj(root, "intel-rapl:1", 5000000 + 2000000 + 3);
        ck_assert_double_eq_tol(fx_energy_read_ok(e), 4.25 + 3e-6, 1e-12);
        /* restore the counters for the next kind */
        dc_energy_close(e);
        fx_tree_remove(root);
        make_root(root, "normal");
        server_tree(root);
    }
    fx_tree_remove(root);
}
END_TEST

/* AMD: the same driver and names, package and core only. */
START_TEST(test_amd_tree)
{
    char root[FX_PATH_SIZE];
    make_root(root, "amd");
    zone(root, "intel-rapl:0", "package-0", 100, MAX_UJ);
    zone(root, "intel-rapl:0:0", "core", 100, MAX_UJ);
    dc_energy *e = fx_energy_open_ok("auto", NULL);
    ck_assert_str_eq(dc_energy_domains(e), "package-0 (core)");
    fx_energy_start_ok(e);
    set_uj(root, "intel-rapl:0", 100 + 42000000);
    set_uj(root, "intel-rapl:0:0", 100 + 30000000);
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 42.0, 1e-12);
    ck_assert_double_eq_tol(domain(e, "intel-rapl:0:0")->joules, 30.0, 1e-12);
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

/* /sys/devices/virtual/powercap: zones nested in the control type's directory and
 * subzones in their package's; multi-die package names. */
START_TEST(test_nested_layout)
{
    char root[FX_PATH_SIZE], ctl[FX_PATH_SIZE], pkg[FX_PATH_SIZE];
    make_root(root, "nested");
    fx_pathf(ctl, "%s/intel-rapl", root);
    ck_assert_int_eq(mkdir(ctl, 0755), 0);
    zone(ctl, "intel-rapl:0", "package-0-die-0", 10, MAX_UJ);
    zone(ctl, "intel-rapl:1", "package-0-die-1", 20, MAX_UJ);
    fx_pathf(pkg, "%s/intel-rapl:0", ctl);
    zone(pkg, "intel-rapl:0:0", "dram", 30, MAX_UJ);
    dc_energy *e = fx_energy_open_ok("rapl", NULL);
    ck_assert_int_eq(dc_energy_domain_count(e), 3);
    ck_assert_str_eq(dc_energy_domains(e), "package-0-die-0 + dram, package-0-die-1");
    fx_energy_start_ok(e);
    set_uj(ctl, "intel-rapl:0", 10 + 1000000);
    set_uj(ctl, "intel-rapl:1", 20 + 2000000);
    set_uj(pkg, "intel-rapl:0:0", 30 + 4000000);
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 7.0, 1e-12);
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

/* Only the MMIO tree: used, since nothing else counts the package. */
START_TEST(test_mmio_only)
{
    char root[FX_PATH_SIZE];
    make_root(root, "mmio");
    zone(root, "intel-rapl-mmio:0", "package-0", 0, MAX_UJ);
    dc_energy *e = fx_energy_open_ok("rapl", NULL);
    fx_energy_start_ok(e);
    set_uj(root, "intel-rapl-mmio:0", 2500000);
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 2.5, 1e-12);
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

/* ---- counter wrap ------------------------------------------------------------------ */

START_TEST(test_wrap)
{
    char root[FX_PATH_SIZE];
    make_root(root, "wrap");
    zone(root, "intel-rapl:0", "package-0", MAX_UJ - 1000, MAX_UJ);
    dc_energy *e = fx_energy_open_ok("rapl", NULL);
    fx_energy_start_ok(e);
    set_uj(root, "intel-rapl:0", 500); /* wrapped: (max - before) + after */
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 1500e-6, 1e-15);
    set_uj(root, "intel-rapl:0", 2500);
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 3500e-6, 1e-15);
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

START_TEST(test_poll_two_wraps)
{
    char root[FX_PATH_SIZE];
    const unsigned long long max = 10000000; /* 10 J */
    make_root(root, "wrap2");
    zone(root, "intel-rapl:0", "package-0", 9000000, max);
    zone(root, "intel-rapl:0:0", "dram", 0, max);
    dc_energy *e = fx_energy_open_ok("rapl", NULL);
    dc_error err = { 0 };
    ck_assert_int_eq(dc_energy_poll(e, &err), DC_ERR_ARG); /* before start */
    fx_energy_start_ok(e);
    set_uj(root, "intel-rapl:0", 2000000); /* wrap 1: 1 J + 2 J */
    fx_energy_poll_ok(e);
    ck_assert_double_eq_tol(domain(e, "intel-rapl:0")->joules, 3.0, 1e-12);
    set_uj(root, "intel-rapl:0", 9500000); /* + 7.5 J */
    set_uj(root, "intel-rapl:0:0", 9000000);
    fx_energy_poll_ok(e);
    set_uj(root, "intel-rapl:0", 1000000); /* wrap 2: 0.5 J + 1 J */
    set_uj(root, "intel-rapl:0:0", 8000000); /* dram wraps too: 1 J + 8 J */
    fx_energy_poll_ok(e);
    set_uj(root, "intel-rapl:0", 1000001);
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 12.000001 + 18.0, 1e-12);
    ck_assert_double_eq_tol(domain(e, "intel-rapl:0")->joules, 12.000001, 1e-12);
    ck_assert_double_eq_tol(domain(e, "intel-rapl:0:0")->joules, 18.0, 1e-12);
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

/* ---- absent, unreadable, unusable -------------------------------------------------- */

/* auto gives the none source with a reason holding every `want`; rapl fails with code and
 * the same text. */
static void expect_unavailable(dc_status code, const char *want1, const char *want2)
{
    dc_energy *e = fx_energy_open_ok("auto", NULL);
    ck_assert(!dc_energy_available(e));
    ck_assert_str_eq(dc_energy_source_name(e), "none");
    const char *why = dc_energy_unavailable_reason(e);
    ck_assert_msg(strstr(why, want1) && strstr(why, want2), "reason '%s' lacks '%s' / '%s'",
                  why, want1, want2);
    ck_assert_str_eq(dc_energy_domains(e), "");
    fx_energy_start_ok(e); /* the run goes on */
    fx_energy_poll_ok(e);
    dc_error err = { 0 };
    double j = 123.0;
    ck_assert_int_eq(dc_energy_read(e, &j, &err), DC_ERR_UNSUPPORTED);
    ck_assert(j == 123.0);
    dc_energy_close(e);

    dc_energy *r = NULL;
    ck_assert_int_eq(dc_energy_open("rapl", &r, &err), code);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err.msg, want1) && strstr(err.msg, want2),
                  "error '%s' lacks '%s' / '%s'", err.msg, want1, want2);
}

START_TEST(test_no_tree)
{
    char root[FX_PATH_SIZE];
    make_root(root, "absent");
    fx_tree_remove(root); /* the root itself is missing */
    expect_unavailable(DC_ERR_UNSUPPORTED, "no RAPL", root);

    make_root(root, "empty"); /* there, but without zones */
    char want[FX_PATH_SIZE];
    fx_pathf(want, "%s/intel-rapl:0 not found", root);
    expect_unavailable(DC_ERR_UNSUPPORTED, "no RAPL", want);
    fx_tree_remove(root);
}
END_TEST

START_TEST(test_psys_only)
{
    char root[FX_PATH_SIZE];
    make_root(root, "psys");
    zone(root, "intel-rapl:0", "psys", 0, MAX_UJ);
    expect_unavailable(DC_ERR_UNSUPPORTED, "no RAPL package domain", "intel-rapl:0 psys");
    fx_tree_remove(root);
}
END_TEST

START_TEST(test_unreadable_directory)
{
    char root[FX_PATH_SIZE], path[FX_PATH_SIZE];
    make_root(root, "isdir");
    server_tree(root);
    energy_uj_path(path, root, "intel-rapl:0:2");
    ck_assert_int_eq(mkdir(path, 0755), 0);
    char want[FX_PATH_SIZE];
    fx_pathf(want, "RAPL unreadable: %s: ", path);
    expect_unavailable(DC_ERR_IO, want, strerror(EISDIR));
    fx_tree_remove(root);
}
END_TEST

START_TEST(test_unreadable_dangling_link)
{
    char root[FX_PATH_SIZE], path[FX_PATH_SIZE];
    make_root(root, "dangling");
    server_tree(root);
    energy_uj_path(path, root, "intel-rapl:1");
    ck_assert_int_eq(symlink("/nonexistent/energy_uj", path), 0);
    char want[FX_PATH_SIZE];
    fx_pathf(want, "RAPL unreadable: %s: ", path);
    expect_unavailable(DC_ERR_IO, want, strerror(ENOENT));
    fx_tree_remove(root);
}
END_TEST

/* chmod 000 stops only a non-root reader; as root this test checks what it can. */
START_TEST(test_unreadable_permission)
{
    char root[FX_PATH_SIZE], path[FX_PATH_SIZE];
    make_root(root, "denied");
    zone(root, "intel-rapl:0", "package-0", 0, MAX_UJ);
    fx_pathf(path, "%s/intel-rapl:0/energy_uj", root);
    ck_assert_int_eq(chmod(path, 0), 0);
    if (geteuid() != 0) {
        expect_unavailable(DC_ERR_IO, strerror(EACCES), "try running as root");
    } else {
        dc_energy *e = fx_energy_open_ok("auto", NULL);
        ck_assert(dc_energy_available(e));
        dc_energy_close(e);
    }
    fx_tree_remove(root);
}
END_TEST

START_TEST(test_bad_counter_text)
{
    char root[FX_PATH_SIZE];
    make_root(root, "garbage");
    zone(root, "intel-rapl:0", "package-0", 0, MAX_UJ);
    char dir[FX_PATH_SIZE];
    fx_pathf(dir, "%s/intel-rapl:0", root);
    fx_tree_put(dir, "energy_uj", "12ab\n");
    expect_unavailable(DC_ERR_FORMAT, "energy_uj", "'12ab'");
    fx_tree_remove(root);
}
END_TEST

/* A counter that becomes unreadable during a run fails the read, naming it. */
START_TEST(test_unreadable_later)
{
    char root[FX_PATH_SIZE], path[FX_PATH_SIZE];
    make_root(root, "later");
    zone(root, "intel-rapl:0", "package-0", 0, MAX_UJ);
    dc_energy *e = fx_energy_open_ok("auto", NULL);
    fx_energy_start_ok(e);
    energy_uj_path(path, root, "intel-rapl:0");
    dc_error err = { 0 };
    double j = 7.0;
    ck_assert_int_eq(dc_energy_read(e, &j, &err), DC_ERR_IO);
    ck_assert(j == 7.0);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

/* ---- the none source and bad arguments --------------------------------------------- */

START_TEST(test_none_source)
{
    char root[FX_PATH_SIZE];
    make_root(root, "none");
    server_tree(root); /* RAPL is there, but not asked for */
    dc_energy *e = fx_energy_open_ok("none", NULL);
    ck_assert(!dc_energy_available(e));
    ck_assert_str_eq(dc_energy_source_name(e), "none");
    ck_assert_str_ne(dc_energy_unavailable_reason(e), "");
    ck_assert_str_eq(dc_energy_domains(e), "");
    ck_assert_int_eq(dc_energy_domain_count(e), 0);
    ck_assert_ptr_null(dc_energy_domain_at(e, 0));
    fx_energy_poll_ok(e);
    fx_energy_start_ok(e);
    fx_energy_poll_ok(e);
    dc_error err = { 0 };
    double j = 0, w = 0;
    ck_assert_int_eq(dc_energy_read(e, &j, &err), DC_ERR_UNSUPPORTED);
    ck_assert_int_eq(dc_energy_measure_idle(e, 0.01, &w, &err), DC_ERR_UNSUPPORTED);
    dc_energy_close(e);
    dc_energy_close(NULL);

    dc_energy *bad = NULL;
    ck_assert_int_eq(dc_energy_open("nvml", &bad, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "'nvml'"));
    ck_assert_ptr_null(bad);

    e = fx_energy_open_ok("rapl", NULL);
    ck_assert_int_eq(dc_energy_read(e, &j, &err), DC_ERR_ARG); /* before start */
    ck_assert_int_eq(dc_energy_measure_idle(e, 0.0, &w, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_energy_measure_idle(e, -1.0, &w, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_energy_measure_idle(e, NAN, &w, &err), DC_ERR_ARG);
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

/* ---- the idle baseline ------------------------------------------------------------- */

START_TEST(test_idle_static)
{
    char root[FX_PATH_SIZE];
    make_root(root, "idle");
    server_tree(root);
    dc_energy *e = fx_energy_open_ok("auto", NULL);
    dc_error err = { 0 };
    double w = -1.0, t0 = fx_now();
    dc_status st = dc_energy_measure_idle(e, 0.3, &w, &err);
    double took = fx_now() - t0;
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    ck_assert(w == 0.0);
    ck_assert_msg(took >= 0.3 && took < 5.0, "idle baseline took %g s", took);
    ck_assert(fx_energy_read_ok(e) == 0.0); /* left running */
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

typedef struct {
    const char *root;
    double watts;
    atomic_bool stop;
} burner;

/* Advances package 0 as a `watts` load would, from the thread's start until stop (or 60 s). */
static void *burn(void *arg)
{
    burner *b = arg;
    double t0 = fx_now(), t;
    while (!atomic_load(&b->stop) && (t = fx_now()) - t0 < 60.0) {
        set_uj(b->root, "intel-rapl:0", (unsigned long long)(1e6 * b->watts * (t - t0)));
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

START_TEST(test_idle_thread)
{
    char root[FX_PATH_SIZE];
    make_root(root, "idle-thread");
    zone(root, "intel-rapl:0", "package-0", 0, MAX_UJ);
    dc_energy *e = fx_energy_open_ok("rapl", NULL);
    burner b = { .root = root, .watts = 20.0 };
    atomic_init(&b.stop, false);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, burn, &b), 0);
    dc_error err = { 0 };
    double w = -1.0;
    dc_status st = dc_energy_measure_idle(e, 1.2, &w, &err);
    atomic_store(&b.stop, true);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    ck_assert_msg(w > 15.0 && w < 25.0, "idle watts %g, expected about 20", w);
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

static Suite *energy_suite(void)
{
    Suite *s = suite_create("energy");
    TCase *t = fx_tcase(s, "energy", 0);
    tcase_add_test(t, test_normal_tree);
    tcase_add_test(t, test_amd_tree);
    tcase_add_test(t, test_nested_layout);
    tcase_add_test(t, test_mmio_only);
    tcase_add_test(t, test_wrap);
    tcase_add_test(t, test_poll_two_wraps);
    tcase_add_test(t, test_no_tree);
    tcase_add_test(t, test_psys_only);
    tcase_add_test(t, test_unreadable_directory);
    tcase_add_test(t, test_unreadable_dangling_link);
    tcase_add_test(t, test_unreadable_permission);
    tcase_add_test(t, test_bad_counter_text);
    tcase_add_test(t, test_unreadable_later);
    tcase_add_test(t, test_none_source);
    tcase_add_test(t, test_idle_static);
    tcase_add_test(t, test_idle_thread);
    return s;
}

int main(void)
{
    /* only the fake powercap tree: the other sources' roots point nowhere, so that "auto"
     * falls to none here on any machine (tests/test_energy_sources.c tests them) */
    setenv("DUALCNN_PERF_ROOT", "/nonexistent/dualcnn-test", 1);
    setenv("DUALCNN_HWMON_ROOT", "/nonexistent/dualcnn-test", 1);
    setenv("DUALCNN_INA3221X_ROOT", "/nonexistent/dualcnn-test", 1);
    return fx_run(energy_suite());
}
