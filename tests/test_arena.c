/*
 * test_arena.c — the activation planner: tensors alive at the same time never share
 * memory, memory is reused when they are not, and real nets planned this way compute the
 * same thing batched as sample by sample.
 */
#include "fixtures.h"
#include "layers/net.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* True when no two tensors with overlapping lifetimes overlap in memory. */
static bool plan_is_safe(int n, const size_t *sizes, const int *first, const int *last,
                         const size_t *off)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (!sizes[i] || !sizes[j])
                continue;
            bool live_together = first[i] <= last[j] && first[j] <= last[i];
            bool share = off[i] < off[j] + sizes[j] && off[j] < off[i] + sizes[i];
            if (live_together && share)
                return false;
        }
    return true;
}

START_TEST(test_chain_reuses_two_buffers)
{
    /* a chain a -> b -> c -> d of equal tensors needs only two buffers */
    size_t sizes[4] = { 1000, 1000, 1000, 1000 }, off[4];
    int first[4] = { 0, 1, 2, 3 }, last[4] = { 1, 2, 3, 4 };
    size_t total = dc_arena_plan(4, sizes, first, last, off);
    ck_assert(plan_is_safe(4, sizes, first, last, off));
    ck_assert_uint_eq(total, 2 * 1008); /* 1000 rounded up to 16 floats */
}
END_TEST

START_TEST(test_skip_connection_stays_alive)
{
    /* x (0) is read by node 3: it must not share memory with 1 or 2 */
    size_t sizes[4] = { 64, 64, 64, 64 }, off[4];
    int first[4] = { 0, 1, 2, 3 }, last[4] = { 3, 2, 3, 4 };
    dc_arena_plan(4, sizes, first, last, off);
    ck_assert(plan_is_safe(4, sizes, first, last, off));
    ck_assert(off[0] != off[1] && off[0] != off[2]);
}
END_TEST

START_TEST(test_random_lifetimes_are_safe_and_bounded)
{
    fx_rng r = fx_rng_seed(7 + (uint64_t)_i);
    enum { N = 60 };
    size_t sizes[N], off[N];
    int first[N], last[N];
    size_t sum = 0;
    for (int i = 0; i < N; i++) {
        sizes[i] = 1 + fx_rng_u64(&r) % 5000;
        first[i] = i;
        last[i] = i + (int)(fx_rng_u64(&r) % 8);
        sum += (sizes[i] + 15) / 16 * 16;
    }
    size_t total = dc_arena_plan(N, sizes, first, last, off);
    ck_assert(plan_is_safe(N, sizes, first, last, off));
    ck_assert_uint_le(total, sum);
    /* lower bound: the largest set of tensors alive at one moment */
    for (int t = 0; t < N + 8; t++) {
        size_t live = 0;
        for (int i = 0; i < N; i++)
            if (first[i] <= t && t <= last[i])
                live += sizes[i];
        ck_assert_uint_ge(total, live);
    }
}
END_TEST

START_TEST(test_real_net_plan_is_safe)
{
    static const char *archs[] = { "resnet20", "shufflenetv2_x0_5", "mobilenetv2_x0_5",
                                   "vgg11_bn", "repvgg_a0" };
    dc_net *net;
    dc_error err;
    ck_assert_msg(dc_net_build_random(archs[_i], 10, 3, 4, &net, &err) == DC_OK, "%s",
                  err.msg);
    int n = net->n_nodes;
    size_t *sizes = calloc((size_t)n, sizeof *sizes), *off = calloc((size_t)n, sizeof *off);
    int *first = calloc((size_t)n, sizeof *first), *last = calloc((size_t)n, sizeof *last);
    size_t sum = 0;
    for (int i = 1; i < n; i++) {
        /* a conv fused into the add after it (dc_net_fuse) stores nothing */
        bool fused = net->nodes[i].op == DC_OP_FUSED;
        sizes[i] = fused ? 0 : dc_node_numel(&net->nodes[i]) * 4;
        first[i] = i;
        last[i] = net->nodes[i].last_use;
        off[i] = net->nodes[i].offset;
        sum += sizes[i];
        ck_assert_uint_le(off[i] + sizes[i], net->arena_floats);
        for (int j = 0; j < net->nodes[i].n_inputs; j++)
            ck_assert_int_ge(net->nodes[net->nodes[i].inputs[j]].last_use, i);
    }
    ck_assert(plan_is_safe(n, sizes, first, last, off));
    ck_assert_uint_lt(net->arena_floats, sum); /* memory was actually reused */
    free(sizes), free(off), free(first), free(last);
    dc_net_free(net);
}
END_TEST

/* Batch of 3 and of 9: from 8 samples some convs take batch paths (Winograd tiles across
 * samples, 1x1 convs on packed weights sample by sample, ops_conv.c). */
START_TEST(test_batch_equals_single_samples)
{
    static const char *archs[] = { "resnet20", "shufflenetv2_x0_5", "mobilenetv2_x0_5",
                                   "repvgg_a0", "vgg11_bn" };
    static const int batches[] = { 3, 9 };
    const char *arch = archs[_i % 5];
    const int B = batches[_i / 5];
    enum { PER = 3 * 32 * 32 };
    dc_net *net;
    dc_error err;
    ck_assert_msg(dc_net_build_random(arch, 10, 11, B, &net, &err) == DC_OK, "%s", err.msg);
    float *x = malloc((size_t)B * PER * sizeof *x), *yb = malloc((size_t)B * 10 * sizeof *yb);
    float y1[10];
    fx_rng r = fx_rng_seed(5);
    fx_fill_uniform(x, B * PER, &r, -2.0f, 2.0f);
    ck_assert_int_eq(dc_net_forward(net, x, B, yb, &err), DC_OK);
    for (int s = 0; s < B; s++) {
        ck_assert_int_eq(dc_net_forward(net, x + s * PER, 1, y1, &err), DC_OK);
        float tol = 1e-5f * (1.0f + fx_max_abs(y1, 10));
        ck_assert_msg(fx_max_abs_diff(y1, yb + s * 10, 10) <= tol, "%s batch %d sample %d",
                      arch, B, s);
    }
    /* a different input gives different logits: the net is not constant */
    ck_assert_float_gt(fx_max_abs_diff(yb, yb + 10, 10), 1e-6f);
    ck_assert_int_eq(dc_net_forward(net, x, B + 1, yb, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_net_forward(net, x, 0, yb, &err), DC_ERR_ARG);
    free(x);
    free(yb);
    dc_net_free(net);
}
END_TEST

static Suite *arena_suite(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = fx_tcase(s, "arena", 240);
    tcase_add_test(tc, test_chain_reuses_two_buffers);
    tcase_add_test(tc, test_skip_connection_stays_alive);
    tcase_add_loop_test(tc, test_random_lifetimes_are_safe_and_bounded, 0, 20);
    tcase_add_loop_test(tc, test_real_net_plan_is_safe, 0, 5);
    tcase_add_loop_test(tc, test_batch_equals_single_samples, 0, 10);
    return s;
}

FX_MAIN(arena_suite)
