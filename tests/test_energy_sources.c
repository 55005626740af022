/*
 * test_energy_sources.c — the energy sources beside RAPL (cascade/energy.h) on fake sysfs
 * trees built under the test directory, their roots moved by $DUALCNN_HWMON_ROOT,
 * $DUALCNN_INA3221X_ROOT and $DUALCNN_PERF_ROOT:
 *   hwmon    exact joules by the summing rule (sockets, not cores), a 64-bit wrap, a
 *            counter unreadable (a directory in its place: works as root too) or removed
 *            mid-run, no counters at all;
 *   ina3221  both driver layouts (mainline hwmon V x I, L4T IIO mW): constant power against
 *            the wall time that brackets the measurement, and a piecewise-constant power
 *            profile written while the sampler thread reads, against its exact integral
 *            (see check_profile for the tolerance and why); a rail removed mid-run, an
 *            unreadable rail, no rails;
 *   perf     type, config (terms placed by their formats), scale, unit and cpumask read
 *            from a fake PMU tree; perf_event_open on a fake PMU number fails cleanly,
 *            naming the event and why (the call itself cannot be faked);
 *   meter    readings typed through a pseudo-terminal (units, retries, mAh at a voltage, a
 *            meter reset, the idle baseline's reading reused, cancel, end of input), and a
 *            meter_in that is not a terminal: none, with why, at once;
 *   auto     the documented order, rapl > perf > hwmon > ina3221.
 * Expected values are computed here from what the test wrote, never by the code under test.
 */
#define _GNU_SOURCE /* posix_openpt, ptsname */
#include "cascade/energy.h"
#include "cascade/energy_perf.h"
#include "fixtures.h"
#include "fx_energy.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- fake trees ---------------------------------------------------------------------- */

/* "<tmp>/esrc-<name>-<pid>", empty; every source root is pointed at a subdirectory of it
 * that does not exist yet (hwmon, iio, perf, powercap), so only what a test builds exists. */
static void make_root(char *root, const char *name)
{
    char sub[FX_PATH_SIZE];
    fx_tree_make(root, "esrc", name);
    setenv("DUALCNN_HWMON_ROOT", fx_pathf(sub, "%s/hwmon", root), 1);
    setenv("DUALCNN_INA3221X_ROOT", fx_pathf(sub, "%s/iio", root), 1);
    setenv("DUALCNN_PERF_ROOT", fx_pathf(sub, "%s/perf", root), 1);
    setenv("DUALCNN_POWERCAP_ROOT", fx_pathf(sub, "%s/powercap", root), 1);
}

/* Opening `kind` fails with code and a message holding want1 and want2; auto falls to
 * none with a reason holding both. */
static void expect_open_fails(const char *kind, dc_status code, const char *want1,
                              const char *want2)
{
    dc_energy *e = NULL;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_energy_open(kind, &e, &err), code);
    ck_assert_ptr_null(e);
    ck_assert_msg(strstr(err.msg, want1) && strstr(err.msg, want2),
                  "error '%s' lacks '%s' / '%s'", err.msg, want1, want2);
    char unavailable[64];
    snprintf(unavailable, sizeof unavailable, "energy source %s unavailable (", kind);
    ck_assert_msg(strstr(err.msg, unavailable), "error '%s' lacks '%s'", err.msg, unavailable);
    e = fx_energy_open_ok("auto", NULL);
    ck_assert_str_eq(dc_energy_source_name(e), "none");
    const char *why = dc_energy_unavailable_reason(e);
    ck_assert_msg(strstr(why, want1) && strstr(why, want2), "reason '%s' lacks '%s' / '%s'",
                  why, want1, want2);
    dc_energy_close(e);
}

/* ---- hwmon energy counters --------------------------------------------------------- */

/* hwmon0: a temperature chip; hwmon1: amd_energy with two cores and two sockets; hwmon2: a
 * chip with one unlabelled counter. */
static void hwmon_tree(const char *root)
{
    char d[FX_PATH_SIZE];
    fx_tree_mkdirf("%s/hwmon", root);
    fx_tree_mkdirf("%s/hwmon/hwmon0", root);
    fx_tree_put(fx_pathf(d, "%s/hwmon/hwmon0", root), "name", "k10temp\n");
    fx_tree_put(d, "temp1_input", "45000\n");
    fx_tree_mkdirf("%s/hwmon/hwmon1", root);
    fx_pathf(d, "%s/hwmon/hwmon1", root);
    fx_tree_put(d, "name", "amd_energy\n");
    const char *labels[] = { "Ecore000", "Ecore001", "Esocket0", "Esocket1" };
    for (int k = 0; k < 4; k++) {
        char f[32];
        snprintf(f, sizeof f, "energy%d_label", k + 1);
        fx_tree_putf(d, f, "%s\n", labels[k]);
        snprintf(f, sizeof f, "energy%d_input", k + 1);
        fx_tree_putf(d, f, "%d\n", 1000 * (k + 1));
    }
    fx_tree_mkdirf("%s/hwmon/hwmon2", root);
    fx_tree_put(fx_pathf(d, "%s/hwmon/hwmon2", root), "name", "foo\n");
    fx_tree_put(d, "energy7_input", "5\n");
}

START_TEST(test_hwmon_counters)
{
    char root[FX_PATH_SIZE], d1[FX_PATH_SIZE], d2[FX_PATH_SIZE];
    make_root(root, "hwmon");
    hwmon_tree(root);
    fx_pathf(d1, "%s/hwmon/hwmon1", root);
    fx_pathf(d2, "%s/hwmon/hwmon2", root);
    const char *kinds[] = { "hwmon", "auto" };
    for (int k = 0; k < 2; k++) {
        dc_energy *e = fx_energy_open_ok(kinds[k], NULL);
        ck_assert_str_eq(dc_energy_source_name(e), "hwmon");
        ck_assert_str_eq(dc_energy_domains(e), "amd_energy Esocket0, amd_energy Esocket1, "
                                               "foo energy7");
        ck_assert_int_eq(dc_energy_domain_count(e), 3);
        ck_assert_str_eq(dc_energy_domain_at(e, 0)->id, "hwmon1/energy3_input");
        ck_assert_str_eq(dc_energy_domain_at(e, 2)->id, "hwmon2/energy7_input");
        dc_energy_sampling si;
        ck_assert(!dc_energy_sampling_info(e, &si));
        fx_energy_start_ok(e);
        fx_tree_put(d1, "energy1_input", "9000001\n");          /* a core: not read */
        fx_tree_put(d1, "energy3_input", "2500000\n");          /* socket 0: +2.497 J */
        fx_tree_put(d1, "energy4_input", "4000000\n");          /* socket 1: +3.996 J */
        fx_tree_put(d2, "energy7_input", "1000005\n");          /* +1 J */
        ck_assert_double_eq_tol(fx_energy_read_ok(e), 2.497 + 3.996 + 1.0, 1e-9);
        ck_assert_double_eq_tol(dc_energy_domain_at(e, 1)->joules, 3.996, 1e-9);
        dc_energy_close(e);
        fx_tree_put(d1, "energy3_input", "3000\n"); /* back as it was, for the next kind */
        fx_tree_put(d1, "energy4_input", "4000\n");
        fx_tree_put(d2, "energy7_input", "5\n");
    }
    fx_tree_remove(root);
}
END_TEST

START_TEST(test_hwmon_wrap)
{
    char root[FX_PATH_SIZE], d[FX_PATH_SIZE];
    make_root(root, "hwmon-wrap");
    fx_tree_mkdirf("%s/hwmon", root);
    fx_tree_mkdirf("%s/hwmon/hwmon0", root);
    fx_pathf(d, "%s/hwmon/hwmon0", root);
    fx_tree_put(d, "name", "amd_energy\n");
    fx_tree_put(d, "energy1_label", "Esocket0\n");
    fx_tree_put(d, "energy1_input", "18446744073709550616\n"); /* 2^64 - 1000 */
    dc_energy *e = fx_energy_open_ok("hwmon", NULL);
    fx_energy_start_ok(e);
    fx_tree_put(d, "energy1_input", "500\n"); /* wrapped: 1000 + 500 µJ */
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 1500e-6, 1e-15);
    fx_tree_put(d, "energy1_input", "2500\n");
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 3500e-6, 1e-15);
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

/* A counter that cannot be read: a directory in its place (refused to root too). */
START_TEST(test_hwmon_unreadable)
{
    char root[FX_PATH_SIZE], path[FX_PATH_SIZE];
    make_root(root, "hwmon-dir");
    hwmon_tree(root);
    fx_pathf(path, "%s/hwmon/hwmon2/energy7_input", root);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    char want[FX_PATH_SIZE + 32];
    snprintf(want, sizeof want, "hwmon unreadable: %s: ", path);
    expect_open_fails("hwmon", DC_ERR_IO, want, strerror(EISDIR));
    fx_tree_remove(root);
}
END_TEST

/* A counter removed during a run: the read fails, naming it; nothing crashes. */
START_TEST(test_hwmon_removed)
{
    char root[FX_PATH_SIZE], path[FX_PATH_SIZE];
    make_root(root, "hwmon-gone");
    hwmon_tree(root);
    dc_energy *e = fx_energy_open_ok("hwmon", NULL);
    fx_energy_start_ok(e);
    fx_pathf(path, "%s/hwmon/hwmon1/energy4_input", root);
    ck_assert_int_eq(unlink(path), 0);
    dc_error err = { 0 };
    double j = 7.0;
    ck_assert_int_eq(dc_energy_read(e, &j, &err), DC_ERR_IO);
    ck_assert(j == 7.0);
    ck_assert_msg(strstr(err.msg, path), "'%s' does not name %s", err.msg, path);
    ck_assert_int_eq(dc_energy_poll(e, &err), DC_ERR_IO);
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

START_TEST(test_hwmon_absent)
{
    char root[FX_PATH_SIZE], want[FX_PATH_SIZE];
    make_root(root, "hwmon-none");
    expect_open_fails("hwmon", DC_ERR_UNSUPPORTED, "no hwmon",
                      fx_pathf(want, "%s/hwmon not found", root));
    hwmon_tree(root);
    fx_tree_remove(fx_pathf(want, "%s/hwmon/hwmon1", root));
    fx_tree_remove(fx_pathf(want, "%s/hwmon/hwmon2", root));
    expect_open_fails("hwmon", DC_ERR_UNSUPPORTED, "no hwmon energy counters under",
                      fx_pathf(want, "%s/hwmon", root));
    fx_tree_remove(root);
}
END_TEST

/* ---- INA3221 rails ----------------------------------------------------------------- */

typedef enum { MAINLINE, IIO } layout;

#define VOLTS_MV 5000 /* the mainline layout's bus voltage: power is set through the current */

/* Three rails: the board input and two parts of it, at the given watts. Returns (in dir,
 * FX_PATH_SIZE) the directory of the rails' files. */
static void rails_tree(const char *root, layout l, const double w[3], char *dir)
{
    const char *iio_names[] = { "POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU" };
    const char *hw_names[] = { "VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC" };
    char f[64];
    if (l == IIO) {
        fx_tree_mkdirf("%s/iio", root);
        fx_tree_put(fx_pathf(dir, "%s/iio", root), "bind", "");  /* the driver's own files */
        fx_tree_mkdirf("%s/iio/6-0040", root);
        fx_tree_mkdirf("%s/iio/6-0040/iio:device0", root);
        fx_pathf(dir, "%s/iio/6-0040/iio:device0", root);
        for (int k = 0; k < 3; k++) {
            snprintf(f, sizeof f, "rail_name_%d", k);
            fx_tree_putf(dir, f, "%s\n", iio_names[k]);
            snprintf(f, sizeof f, "in_power%d_input", k);
            fx_tree_putf(dir, f, "%ld\n", lround(1e3 * w[k]));
        }
    } else {
        fx_tree_mkdirf("%s/hwmon", root);
        fx_tree_mkdirf("%s/hwmon/hwmon0", root);
        fx_tree_put(fx_pathf(dir, "%s/hwmon/hwmon0", root), "name", "nvme\n");
        fx_tree_mkdirf("%s/hwmon/hwmon3", root);
        fx_pathf(dir, "%s/hwmon/hwmon3", root);
        fx_tree_put(dir, "name", "ina3221\n");
        for (int k = 1; k <= 3; k++) {
            snprintf(f, sizeof f, "in%d_label", k);
            fx_tree_putf(dir, f, "%s\n", hw_names[k - 1]);
            snprintf(f, sizeof f, "in%d_input", k);
            fx_tree_putf(dir, f, "%d\n", VOLTS_MV);
            snprintf(f, sizeof f, "curr%d_input", k);
            fx_tree_putf(dir, f, "%ld\n", lround(1e6 * w[k - 1] / VOLTS_MV));
            snprintf(f, sizeof f, "in%d_enable", k);
            fx_tree_put(dir, f, "1\n");
        }
        fx_tree_put(dir, "in4_label", "VDD_DISABLED\n"); /* a disabled channel is skipped */
        fx_tree_put(dir, "in4_enable", "0\n");
    }
}

/* Sets the board input rail (rail 0) of a tree to w watts. */
static void set_input_watts(const char *dir, layout l, double w)
{
    if (l == IIO)
        fx_tree_putf(dir, "in_power0_input", "%ld\n", lround(1e3 * w));
    else
        fx_tree_putf(dir, "curr1_input", "%ld\n", lround(1e6 * w / VOLTS_MV));
}

static const char *input_file(layout l)
{
    return l == IIO ? "in_power0_input" : "curr1_input";
}

/* Constant power: the joules lie between power x the shortest and the longest wall time
 * that can separate the start's reading from the read's (each taken inside its call). */
static void check_constant(layout l)
{
    char root[FX_PATH_SIZE], dir[FX_PATH_SIZE];
    make_root(root, l == IIO ? "rails-const-iio" : "rails-const-hw");
    const double w[3] = { 2.0, 1.0, 0.5 };
    rails_tree(root, l, w, dir);
    dc_energy *e = fx_energy_open_ok("ina3221", NULL);
    ck_assert_str_eq(dc_energy_source_name(e), "ina3221");
    ck_assert_str_eq(dc_energy_domains(e), l == IIO ? "POM_5V_IN (POM_5V_GPU, POM_5V_CPU)"
                                                    : "VDD_IN (VDD_CPU_GPU_CV, VDD_SOC)");
    double t0 = fx_now();
    fx_energy_start_ok(e);
    double t1 = fx_now();
    fx_sleep(0.3);
    double t2 = fx_now();
    double j = fx_energy_read_ok(e);
    double t3 = fx_now();
    double lo = w[0] * (t2 - t1), hi = w[0] * (t3 - t0);
    ck_assert_msg(j >= lo - 1e-6 && j <= hi + 1e-6, "%g J outside [%g, %g]", j, lo, hi);
    for (int i = 0; i < dc_energy_domain_count(e); i++) {
        const dc_energy_domain *d = dc_energy_domain_at(e, i);
        double wi = strstr(d->name, "IN") ? w[0] : strstr(d->name, "GPU") ? w[1] : w[2];
        if (l == MAINLINE && strcmp(d->name, "VDD_SOC") == 0)
            wi = w[2];
        ck_assert_msg(d->joules >= wi * (t2 - t1) - 1e-6 && d->joules <= wi * (t3 - t0) + 1e-6,
                      "%s: %g J for %g W over %g..%g s", d->name, d->joules, wi, t2 - t1,
                      t3 - t0);
        ck_assert_int_eq(d->counted, i == 0);
    }
    dc_energy_sampling si;
    ck_assert(dc_energy_sampling_info(e, &si));
    ck_assert_double_eq_tol(si.period_s, 0.010, 1e-12);
    /* 0.3 s at 10 ms is 30 ticks; a fifth of them proves the thread sampled */
    ck_assert_msg(si.samples >= 6, "%llu readings in 0.3 s", (unsigned long long)si.samples);
    ck_assert(si.bound_j == 0.0); /* constant power: no step */
    ck_assert_msg(strstr(dc_energy_note(e), "sampled every 10 ms"), "%s", dc_energy_note(e));
    dc_energy_close(e);
    fx_tree_remove(root);
}

START_TEST(test_rails_constant_iio)
{
    check_constant(IIO);
}
END_TEST

START_TEST(test_rails_constant_hwmon)
{
    check_constant(MAINLINE);
}
END_TEST

/*
 * A piecewise-constant profile on the board input, written while the sampler thread
 * reads: 1 W, 6, 2, 8, 1 W, each held 200 ms. The exact integral is computed here from the
 * levels and the moments of the switches (each the middle of the rename that made it, the
 * rename's duration counted as uncertainty). The tolerance:
 *   - the period's bound, T x sum |jumps| / 2 with T = 10 ms (cascade/energy_sampler.h);
 *   - scheduling: the sampler thread may wake late, stretching a step beyond T. On two
 *     cores shared with other builds and under ASan a wake-up delay of tens of
 *     milliseconds happens; 40 ms more per step at every jump is allowed (a run whose
 *     delays exceed it would fail here: then raise it, it is not a bug of the sampler);
 *   - the window's ends: the start's and the read's readings are taken somewhere inside
 *     their calls, so the level there times each call's duration;
 *   - each switch's rename, |jump| x its duration.
 * Also the sampler's own a-posteriori bound (sum over its steps of gap x |power step| / 2,
 * reported by dc_energy_sampling_info) must cover the error, up to the same window and
 * rename uncertainties plus |jump| x 2 ms per switch (a reading of three files, stamped at
 * its middle, takes far less than 2 ms even under ASan). A sampler that did not sample in
 * between (only the start's and the read's readings) would be off by about 2.6 J, a wrong
 * unit by a factor of 1000.
 */
static void check_profile(layout l)
{
    char root[FX_PATH_SIZE], dir[FX_PATH_SIZE];
    make_root(root, l == IIO ? "rails-profile-iio" : "rails-profile-hw");
    const double levels[] = { 1.0, 6.0, 2.0, 8.0, 1.0 };
    const int n_levels = 5;
    const double hold = 0.2, period = 0.010, slack = 0.040;
    const double w[3] = { levels[0], 0.5, 0.25 };
    rails_tree(root, l, w, dir);
    dc_energy *e = fx_energy_open_ok(NULL, NULL); /* auto: only the rails are there */
    ck_assert_str_eq(dc_energy_source_name(e), "ina3221");

    double a0 = fx_now();
    fx_energy_start_ok(e);
    double a1 = fx_now();
    double exact = 0.0, jumps = 0.0, rename_err = 0.0, t_prev = 0.5 * (a0 + a1);
    for (int k = 1; k < n_levels; k++) {
        fx_sleep(hold);
        double b0 = fx_now();
        set_input_watts(dir, l, levels[k]);
        double b1 = fx_now(), t = 0.5 * (b0 + b1);
        exact += levels[k - 1] * (t - t_prev);
        double jump = fabs(levels[k] - levels[k - 1]);
        jumps += jump;
        rename_err += jump * (b1 - b0);
        t_prev = t;
    }
    fx_sleep(hold);
    double c0 = fx_now();
    double j = fx_energy_read_ok(e); /* the board input alone is summed */
    double c1 = fx_now();
    exact += levels[n_levels - 1] * (0.5 * (c0 + c1) - t_prev);
    double window = levels[0] * (a1 - a0) / 2 + levels[n_levels - 1] * (c1 - c0) / 2;
    double tol = jumps * (period + slack) / 2 + window + rename_err;
    ck_assert_msg(fabs(j - exact) <= tol, "%s: %.4f J, exact %.4f J, tolerance %.4f J",
                  l == IIO ? "IIO" : "hwmon", j, exact, tol);
    dc_energy_sampling si;
    ck_assert(dc_energy_sampling_info(e, &si));
    double claimed = si.bound_j + window + rename_err + jumps * 0.002;
    ck_assert_msg(fabs(j - exact) <= claimed, "error %.4f J beyond the sampler's bound "
                  "%.4f J (+ %.4f)", fabs(j - exact), si.bound_j, claimed - si.bound_j);
    ck_assert_msg(si.bound_j <= jumps * si.max_gap_s / 2 + 1e-9, "bound %g > %g x %g / 2",
                  si.bound_j, jumps, si.max_gap_s);
    ck_assert_msg(si.samples >= 20, "%llu readings in 1 s", (unsigned long long)si.samples);
    dc_energy_close(e);
    fx_tree_remove(root);
}

START_TEST(test_rails_profile_iio)
{
    check_profile(IIO);
}
END_TEST

START_TEST(test_rails_profile_hwmon)
{
    check_profile(MAINLINE);
}
END_TEST

/* A rail's file removed while the sampler runs: the next read fails naming the file and
 * saying sampling stopped; close stops the thread. */
static void check_removed(layout l)
{
    char root[FX_PATH_SIZE], dir[FX_PATH_SIZE], path[FX_PATH_SIZE];
    make_root(root, l == IIO ? "rails-gone-iio" : "rails-gone-hw");
    const double w[3] = { 3.0, 1.0, 1.0 };
    rails_tree(root, l, w, dir);
    dc_energy_opts o = dc_energy_default_opts();
    o.period_ms = 2;
    dc_energy *e = fx_energy_open_ok("ina3221", &o);
    fx_energy_start_ok(e);
    fx_sleep(0.05);
    fx_pathf(path, "%s/%s", dir, input_file(l));
    ck_assert_int_eq(unlink(path), 0);
    fx_sleep(0.05); /* the thread meets the missing file */
    dc_error err = { 0 };
    double j = 7.0;
    ck_assert_int_eq(dc_energy_read(e, &j, &err), DC_ERR_IO);
    ck_assert(j == 7.0);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "sampling stopped"), "%s", err.msg);
    ck_assert_int_eq(dc_energy_poll(e, &err), DC_ERR_IO); /* and stays failed */
    ck_assert_msg(strstr(err.msg, path), "%s", err.msg);
    dc_energy_close(e);
    fx_tree_remove(root);
}

START_TEST(test_rails_removed_iio)
{
    check_removed(IIO);
}
END_TEST

START_TEST(test_rails_removed_hwmon)
{
    check_removed(MAINLINE);
}
END_TEST

/* A rail that cannot be read (a directory in its place: refused to root too). */
START_TEST(test_rails_unreadable)
{
    for (int k = 0; k < 2; k++) {
        layout l = k ? MAINLINE : IIO;
        char root[FX_PATH_SIZE], dir[FX_PATH_SIZE], path[FX_PATH_SIZE];
        make_root(root, "rails-dir");
        const double w[3] = { 3.0, 1.0, 1.0 };
        rails_tree(root, l, w, dir);
        fx_pathf(path, "%s/%s", dir, input_file(l));
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        char want[FX_PATH_SIZE + 32];
        snprintf(want, sizeof want, "INA3221 unreadable: %s: ", path);
        expect_open_fails("ina3221", DC_ERR_IO, want, strerror(EISDIR));
        fx_tree_remove(root);
    }
}
END_TEST

START_TEST(test_rails_absent)
{
    char root[FX_PATH_SIZE], want[FX_PATH_SIZE];
    make_root(root, "rails-none");
    hwmon_tree(root); /* hwmon chips, none an ina3221: and no iio tree */
    fx_tree_remove(fx_pathf(want, "%s/hwmon/hwmon1", root));
    fx_tree_remove(fx_pathf(want, "%s/hwmon/hwmon2", root));
    expect_open_fails("ina3221", DC_ERR_UNSUPPORTED, "no INA3221 rails",
                      fx_pathf(want, "%s/iio", root));
    fx_tree_remove(root);
}
END_TEST

START_TEST(test_rails_period)
{
    char root[FX_PATH_SIZE], dir[FX_PATH_SIZE];
    make_root(root, "rails-period");
    const double w[3] = { 3.0, 1.0, 1.0 };
    rails_tree(root, IIO, w, dir);
    dc_energy_opts o = dc_energy_default_opts();
    o.period_ms = 50;
    dc_energy *e = fx_energy_open_ok("ina3221", &o);
    fx_energy_start_ok(e);
    fx_sleep(0.22);
    fx_energy_read_ok(e);
    dc_energy_sampling si;
    ck_assert(dc_energy_sampling_info(e, &si));
    ck_assert_double_eq_tol(si.period_s, 0.050, 1e-12);
    /* 4 ticks of the thread in 0.22 s, and the start's and the read's readings (a 10 ms
     * thread would give about 24) */
    ck_assert_msg(si.samples >= 3 && si.samples <= 8, "%llu", (unsigned long long)si.samples);
    ck_assert_msg(si.max_gap_s >= 0.045, "longest gap %g s", si.max_gap_s);
    dc_energy_close(e);
    dc_error err = { 0 };
    const double bad[] = { 0.0, -1.0, 1e5, NAN };
    for (int k = 0; k < 4; k++) {
        o.period_ms = bad[k];
        ck_assert_int_eq(dc_energy_open_with("ina3221", &o, &e, &err), DC_ERR_ARG);
        ck_assert_ptr_null(e);
    }
    fx_tree_remove(root);
}
END_TEST

/* ---- perf --------------------------------------------------------------------------- */

/* power/ with type, cpumask, the two events and the formats. */
static void perf_tree(const char *root, const char *type, const char *pkg_event,
                      const char *cpumask)
{
    char d[FX_PATH_SIZE];
    fx_tree_mkdirf("%s/perf", root);
    fx_tree_mkdirf("%s/perf/power", root);
    fx_pathf(d, "%s/perf/power", root);
    fx_tree_putf(d, "type", "%s\n", type);
    if (cpumask)
        fx_tree_putf(d, "cpumask", "%s\n", cpumask);
    fx_tree_mkdirf("%s/perf/power/events", root);
    fx_tree_mkdirf("%s/perf/power/format", root);
    fx_tree_put(fx_pathf(d, "%s/perf/power/format", root), "event", "config:0-7\n");
    fx_tree_put(d, "umask", "config:8-15\n");
    fx_pathf(d, "%s/perf/power/events", root);
    fx_tree_putf(d, "energy-pkg", "%s\n", pkg_event);
    fx_tree_put(d, "energy-pkg.scale", "2.3283064365386962890625e-10\n");
    fx_tree_put(d, "energy-pkg.unit", "Joules\n");
    fx_tree_put(d, "energy-ram", "event=0x03\n");
    fx_tree_put(d, "energy-ram.scale", "1.52587890625e-05\n");
    fx_tree_put(d, "energy-ram.unit", "Joules\n");
}

static dc_status perf_parse(const char *root, const char *event, dc_perf_event *ev,
                            dc_error *err)
{
    char pmu[FX_PATH_SIZE];
    return dc_perf_event_read(fx_pathf(pmu, "%s/perf/power", root), event, ev, err);
}

START_TEST(test_perf_parse)
{
    char root[FX_PATH_SIZE], d[FX_PATH_SIZE];
    make_root(root, "perf");
    perf_tree(root, "23", "event=0x02", "0,2-3");
    dc_perf_event ev;
    dc_error err = { 0 };
    ck_assert_msg(perf_parse(root, "energy-pkg", &ev, &err) == DC_OK, "%s", err.msg);
    ck_assert_uint_eq(ev.type, 23);
    ck_assert_uint_eq(ev.config, 0x02);
    ck_assert(ev.scale == 2.3283064365386962890625e-10); /* exact in binary: 2^-32 */
    ck_assert_int_eq(ev.n_cpus, 3);
    ck_assert_int_eq(ev.cpus[0], 0);
    ck_assert_int_eq(ev.cpus[1], 2);
    ck_assert_int_eq(ev.cpus[2], 3);
    ck_assert_msg(perf_parse(root, "energy-ram", &ev, &err) == DC_OK, "%s", err.msg);
    ck_assert_uint_eq(ev.config, 0x03);
    ck_assert(ev.scale == 1.52587890625e-05); /* 2^-16 */
    fx_tree_remove(root);

    /* several terms, each placed by its format; no cpumask: CPU 0 */
    make_root(root, "perf2");
    perf_tree(root, "4242", "event=0x3,umask=0x1", NULL);
    ck_assert_msg(perf_parse(root, "energy-pkg", &ev, &err) == DC_OK, "%s", err.msg);
    ck_assert_uint_eq(ev.config, 0x103);
    ck_assert_int_eq(ev.n_cpus, 1);
    ck_assert_int_eq(ev.cpus[0], 0);
    fx_tree_remove(fx_pathf(d, "%s/perf", root));
    fx_pathf(d, "%s/perf/power/events", root);

    struct { const char *file, *text; dc_status code; const char *want; } bad[] = {
        { "energy-pkg.unit", "Watts\n", DC_ERR_FORMAT, "unit 'Watts'" },
        { "energy-pkg.scale", "abc\n", DC_ERR_FORMAT, "'abc' is not a positive number" },
        { "energy-pkg.scale", "-1e-10\n", DC_ERR_FORMAT, "not a positive number" },
        { "energy-pkg", "event=0x1ff\n", DC_ERR_FORMAT, "does not fit config:0-7" },
        { "energy-pkg", "edge=1\n", DC_ERR_FORMAT, "format/edge not found" },
        { "energy-pkg", "event=zz\n", DC_ERR_FORMAT, "'zz' is not a number" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        perf_tree(root, "4242", "event=0x02", "0"); /* rebuilt after each case */
        fx_tree_put(d, bad[k].file, bad[k].text);
        ck_assert_int_eq(perf_parse(root, "energy-pkg", &ev, &err), bad[k].code);
        ck_assert_msg(strstr(err.msg, bad[k].want), "case %zu: '%s' lacks '%s'", k, err.msg,
                      bad[k].want);
        fx_tree_remove(fx_pathf(d, "%s/perf", root));
        fx_pathf(d, "%s/perf/power/events", root);
    }
    perf_tree(root, "x1", "event=0x02", "0");
    ck_assert_int_eq(perf_parse(root, "energy-pkg", &ev, &err), DC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "type: 'x1' is not a PMU number"));
    fx_tree_remove(fx_pathf(d, "%s/perf", root));
    perf_tree(root, "7", "event=0x02", "0,,1");
    ck_assert_int_eq(perf_parse(root, "energy-pkg", &ev, &err), DC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "cpumask: '0,,1' is not a list of CPUs"));
    fx_tree_remove(fx_pathf(d, "%s/perf", root));
    /* a directory in place of the type file: unreadable, named */
    perf_tree(root, "7", "event=0x02", "0");
    char type[FX_PATH_SIZE];
    fx_pathf(type, "%s/perf/power/type", root);
    ck_assert_int_eq(unlink(type), 0);
    ck_assert_int_eq(mkdir(type, 0755), 0);
    ck_assert_int_eq(perf_parse(root, "energy-pkg", &ev, &err), DC_ERR_IO);
    ck_assert_msg(strstr(err.msg, type) && strstr(err.msg, strerror(EISDIR)), "%s", err.msg);
    fx_tree_remove(root);
}
END_TEST

/* The call itself cannot be faked: on a fake PMU number it fails, naming the event, the
 * numbers read from the tree and why, and auto goes on to the next source. */
START_TEST(test_perf_open_fails)
{
    char root[FX_PATH_SIZE], want[FX_PATH_SIZE];
    make_root(root, "perf-open");
    expect_open_fails("perf", DC_ERR_UNSUPPORTED, "no perf power PMU",
                      fx_pathf(want, "%s/perf/power/type not found", root));
    perf_tree(root, "2147483000", "event=0x02", "0");
    expect_open_fails("perf", DC_ERR_UNSUPPORTED, "perf_event_open(power/energy-pkg/: type "
                      "2147483000, config 0x2, scale 2.32831e-10 J, cpu 0) failed: ",
                      "perf_event_open");
    /* auto: rapl absent, perf failing, then hwmon counters: hwmon it is, and the reason
     * for passing perf over is not an error */
    hwmon_tree(root);
    dc_energy *e = fx_energy_open_ok("auto", NULL);
    ck_assert_str_eq(dc_energy_source_name(e), "hwmon");
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

/* ---- the automatic order ------------------------------------------------------------- */

START_TEST(test_auto_order)
{
    char root[FX_PATH_SIZE], dir[FX_PATH_SIZE], d[FX_PATH_SIZE];
    make_root(root, "auto");
    dc_energy *e = fx_energy_open_ok("auto", NULL); /* nothing at all */
    ck_assert_str_eq(dc_energy_source_name(e), "none");
    const char *why = dc_energy_unavailable_reason(e);
    const char *order[] = { "rapl: ", "; perf: ", "; hwmon: ", "; ina3221: " };
    const char *at = why;
    for (int k = 0; k < 4; k++) {
        const char *p = strstr(at, order[k]);
        ck_assert_msg(p, "reason '%s' lacks '%s' after the previous source", why, order[k]);
        at = p;
    }
    ck_assert_ptr_null(strstr(why, "meter")); /* never chosen automatically */
    dc_energy_close(e);

    const double w[3] = { 3.0, 1.0, 1.0 };
    rails_tree(root, IIO, w, dir);
    e = fx_energy_open_ok("auto", NULL);
    ck_assert_str_eq(dc_energy_source_name(e), "ina3221");
    dc_energy_close(e);
    hwmon_tree(root); /* hwmon counters beat the rails */
    e = fx_energy_open_ok("auto", NULL);
    ck_assert_str_eq(dc_energy_source_name(e), "hwmon");
    dc_energy_close(e);
    fx_tree_mkdirf("%s/powercap", root); /* RAPL beats them all */
    fx_tree_mkdirf("%s/powercap/intel-rapl:0", root);
    fx_pathf(d, "%s/powercap/intel-rapl:0", root);
    fx_tree_put(d, "name", "package-0\n");
    fx_tree_put(d, "energy_uj", "1\n");
    fx_tree_put(d, "max_energy_range_uj", "262143328850\n");
    e = fx_energy_open_ok("auto", NULL);
    ck_assert_str_eq(dc_energy_source_name(e), "rapl");
    dc_energy_close(e);
    fx_tree_remove(root);
}
END_TEST

/* ---- the meter ----------------------------------------------------------------------- */

typedef struct {
    int master, slave;
} fake_tty;

/* A pseudo-terminal: the meter reads and prompts on the slave side, the test types on the
 * master side. Echo is off so that the master reads back only the prompts. */
static fake_tty tty_open(void)
{
    fake_tty t;
    t.master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_msg(t.master >= 0, "posix_openpt: %s", strerror(errno));
    ck_assert_int_eq(grantpt(t.master), 0);
    ck_assert_int_eq(unlockpt(t.master), 0);
    t.slave = open(ptsname(t.master), O_RDWR | O_NOCTTY);
    ck_assert_msg(t.slave >= 0, "open %s: %s", ptsname(t.master), strerror(errno));
    struct termios tio;
    ck_assert_int_eq(tcgetattr(t.slave, &tio), 0);
    tio.c_lflag &= ~(tcflag_t)ECHO;
    ck_assert_int_eq(tcsetattr(t.slave, TCSANOW, &tio), 0);
    ck_assert_int_eq(fcntl(t.master, F_SETFL, O_NONBLOCK), 0);
    return t;
}

static void tty_close(fake_tty *t)
{
    close(t->slave);
    close(t->master);
}

static void type_line(const fake_tty *t, const char *line)
{
    size_t n = strlen(line);
    ck_assert_int_eq(write(t->master, line, n), (ssize_t)n);
}

/* What the meter wrote since the last call (its prompts and complaints). */
static void tty_output(const fake_tty *t, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t k;
    while (len + 1 < cap && (k = read(t->master, buf + len, cap - 1 - len)) > 0)
        len += (size_t)k;
    buf[len] = '\0';
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

static dc_energy_opts tty_opts(const fake_tty *t, double volts)
{
    dc_energy_opts o = dc_energy_default_opts();
    o.meter_in = t->slave;
    o.meter_out = t->slave;
    o.meter_volts = volts;
    return o;
}

START_TEST(test_meter_readings)
{
    fake_tty t = tty_open();
    dc_energy_opts o = tty_opts(&t, 0.0);
    dc_energy *e = fx_energy_open_ok("meter", &o);
    ck_assert(dc_energy_available(e));
    ck_assert_str_eq(dc_energy_source_name(e), "meter");
    ck_assert_str_eq(dc_energy_domains(e), "meter");
    /* typed ahead: a line without a number, one without a unit, mAh without volts, then a
     * good one */
    type_line(&t, "hello\n3\n10 mAh\n12.5 mWh\n");
    fx_energy_start_ok(e);
    char out[4096];
    tty_output(&t, out, sizeof out);
    ck_assert_int_eq(count(out, "reset the meter"), 4);
    ck_assert_msg(strstr(out, "'hello' is not a reading"), "%s", out);
    ck_assert_msg(strstr(out, "'3' has no unit"), "%s", out);
    ck_assert_msg(strstr(out, "--meter-volts"), "%s", out);
    dc_error err = { 0 };
    ck_assert_int_eq(dc_energy_poll(e, &err), DC_OK); /* asks nothing */
    tty_output(&t, out, sizeof out);
    ck_assert_str_eq(out, "");
    type_line(&t, "0.0143 Wh\n"); /* 14.3 mWh: 1.8 mWh = 6.48 J */
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 1.8 * 3.6, 1e-9);
    tty_output(&t, out, sizeof out);
    ck_assert_int_eq(count(out, "type the meter's reading now"), 1);
    ck_assert_msg(strstr(dc_energy_note(e), "'12.5 mWh' at the start, '0.0143 Wh' at the end"),
                  "%s", dc_energy_note(e));
    /* a meter reset in between: the second reading is the energy */
    type_line(&t, "40 J\n");
    fx_energy_start_ok(e);
    type_line(&t, "2.5 J\n");
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 2.5, 1e-9);
    dc_energy_close(e);

    /* mAh at 5 V: 1 mAh = 18 J */
    o.meter_volts = 5.0;
    e = fx_energy_open_ok("meter", &o);
    type_line(&t, "100 mAh\n");
    fx_energy_start_ok(e);
    type_line(&t, "110.5 mAh\n");
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 10.5 * 3.6 * 5.0, 1e-9);
    ck_assert_msg(strstr(dc_energy_note(e), "mAh taken at 5 V"), "%s", dc_energy_note(e));
    dc_energy_close(e);
    tty_close(&t);
}
END_TEST

/* The idle baseline takes two readings, and its closing one starts the measurement: three
 * readings in all, not four. */
START_TEST(test_meter_idle_baseline)
{
    fake_tty t = tty_open();
    dc_energy_opts o = tty_opts(&t, 0.0);
    dc_energy *e = fx_energy_open_ok("meter", &o);
    type_line(&t, "0 mWh\n1 mWh\n");
    dc_error err = { 0 };
    double w = -1.0, t0 = fx_now();
    ck_assert_msg(dc_energy_measure_idle(e, 0.2, &w, &err) == DC_OK, "%s", err.msg);
    double took = fx_now() - t0;
    ck_assert_msg(w > 3.6 / took - 1e-9 && w <= 3.6 / 0.2 + 1e-9, "idle %g W over %g s", w,
                  took);
    fx_energy_start_ok(e);
    type_line(&t, "4 mWh\n");
    ck_assert_double_eq_tol(fx_energy_read_ok(e), 3.0 * 3.6, 1e-9);
    char out[4096];
    tty_output(&t, out, sizeof out);
    ck_assert_int_eq(count(out, "energy meter: "), 3);
    dc_energy_close(e);
    tty_close(&t);
}
END_TEST

static bool always_cancelled(void)
{
    return true;
}

START_TEST(test_meter_cancel_and_eof)
{
    fake_tty t = tty_open();
    dc_energy_opts o = tty_opts(&t, 0.0);
    o.cancelled = always_cancelled;
    dc_energy *e = fx_energy_open_ok("meter", &o);
    dc_error err = { 0 };
    ck_assert_int_eq(dc_energy_start(e, &err), DC_ERR_IO);
    ck_assert_msg(strstr(err.msg, "interrupted"), "%s", err.msg);
    dc_energy_close(e);
    o.cancelled = NULL;
    e = fx_energy_open_ok("meter", &o);
    type_line(&t, "\x04"); /* Ctrl-D on an empty line: end of input */
    ck_assert_int_eq(dc_energy_start(e, &err), DC_ERR_IO);
    ck_assert_msg(strstr(err.msg, "end of input"), "%s", err.msg);
    dc_energy_close(e);
    tty_close(&t);
}
END_TEST

/* Not a terminal: none, with why, without waiting for anything. */
START_TEST(test_meter_not_a_terminal)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    dc_energy_opts o = dc_energy_default_opts();
    o.meter_in = p[0];
    double t0 = fx_now();
    dc_energy *e = fx_energy_open_ok("meter", &o);
    ck_assert(!dc_energy_available(e));
    ck_assert_str_eq(dc_energy_source_name(e), "none");
    ck_assert_msg(strstr(dc_energy_unavailable_reason(e), "is not a terminal"), "%s",
                  dc_energy_unavailable_reason(e));
    fx_energy_start_ok(e);
    dc_error err = { 0 };
    double j = 5.0;
    ck_assert_int_eq(dc_energy_read(e, &j, &err), DC_ERR_UNSUPPORTED);
    ck_assert(j == 5.0);
    ck_assert_msg(fx_now() - t0 < 1.0, "took %g s", fx_now() - t0);
    dc_energy_close(e);
    close(p[0]);
    close(p[1]);
}
END_TEST

static Suite *sources_suite(void)
{
    Suite *s = suite_create("energy_sources");
    TCase *t = fx_tcase(s, "energy_sources", 0);
    tcase_add_test(t, test_hwmon_counters);
    tcase_add_test(t, test_hwmon_wrap);
    tcase_add_test(t, test_hwmon_unreadable);
    tcase_add_test(t, test_hwmon_removed);
    tcase_add_test(t, test_hwmon_absent);
    tcase_add_test(t, test_rails_constant_iio);
    tcase_add_test(t, test_rails_constant_hwmon);
    tcase_add_test(t, test_rails_profile_iio);
    tcase_add_test(t, test_rails_profile_hwmon);
    tcase_add_test(t, test_rails_removed_iio);
    tcase_add_test(t, test_rails_removed_hwmon);
    tcase_add_test(t, test_rails_unreadable);
    tcase_add_test(t, test_rails_absent);
    tcase_add_test(t, test_rails_period);
    tcase_add_test(t, test_perf_parse);
    tcase_add_test(t, test_perf_open_fails);
    tcase_add_test(t, test_auto_order);
    tcase_add_test(t, test_meter_readings);
    tcase_add_test(t, test_meter_idle_baseline);
    tcase_add_test(t, test_meter_cancel_and_eof);
    tcase_add_test(t, test_meter_not_a_terminal);
    return s;
}

FX_MAIN(sources_suite)
