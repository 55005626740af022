/*
 * net.c — planning and running a net (see net.h): the forward pass is one loop over
 * the nodes in order, each node run by its op's entry in the op table (ops.h).
 */
#include "layers/net.h"
#include "base/alloc.h"

#include "base/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

dc_net *dc_net_new(void)
{
    dc_net *net = dc_calloc(1, sizeof *net);
    if (net)
        net->output = -1;
    return net;
}

static void run_state_free(dc_run_state *rs)
{
    free(rs->arena);
    free(rs->workspace);
    free(rs->shared_cols);
    memset(rs, 0, sizeof *rs);
}

/* The arena and the shared im2col matrix of a planned net (the workspace comes with the
 * first pass, sized for the pool's threads). */
static dc_status run_state_alloc(const dc_net *net, dc_run_state *rs, dc_error *err)
{
    memset(rs, 0, sizeof *rs);
    /* without it, single-tile convs split by channels each redo their im2col */
    if (net->shared_floats)
        rs->shared_cols = dc_aligned_alloc(64, (net->shared_floats + 15) / 16 * 16 *
                                                   sizeof(float));
    size_t total = net->arena_floats;
    rs->arena = dc_aligned_alloc(64, (total ? total : 16) * sizeof(float));
    if (!rs->arena) {
        run_state_free(rs);
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot allocate %zu MB of activations",
                       net->arch, total * sizeof(float) >> 20);
    }
    return DC_OK;
}

void dc_net_free(dc_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_nodes; i++) {
        free(net->nodes[i].inputs);
        for (int k = 0; k < net->nodes[i].n_tensors; k++)
            free(net->nodes[i].tensors[k]);
    }
    free(net->nodes);
    if (net->class_names)
        for (int i = 0; i < net->num_classes; i++)
            free(net->class_names[i]);
    free(net->class_names);
    run_state_free(&net->own);
    free(net);
}

void dc_set_threads(int n)
{
    if (n <= 0)
        return;
    dc_pool_set_default_threads(n);
}

/* ---- fusion -------------------------------------------------------------- */

/* Readers of each node (the output counts as one more). */
static int *count_readers(const dc_net *net)
{
    int *readers = dc_calloc((size_t)net->n_nodes, sizeof *readers);
    if (!readers)
        return NULL;
    for (int i = 0; i < net->n_nodes; i++)
        for (int j = 0; j < net->nodes[i].n_inputs; j++)
            readers[net->nodes[i].inputs[j]]++;
    if (net->output >= 0)
        readers[net->output]++;
    return readers;
}

/* A conv that can take the add `add` into its epilogue: dense (not depthwise), no
 * activation of its own, no residual yet, read by nothing else, same shape. */
static bool fusable_conv(const dc_net *net, const int *readers, int id, const dc_node *add)
{
    const dc_node *c = &net->nodes[id];
    return id > 0 && c->op == DC_OP_CONV && c->conv.act == DC_ACT_NONE &&
           !c->conv.residual && readers[id] == 1 && c->c == add->c && c->h == add->h &&
           c->w == add->w;
}

void dc_net_fuse(dc_net *net)
{
    int *readers = count_readers(net);
    if (!readers)
        return; /* fusion is an optimisation: without memory, run unfused */
    for (int a = 1; a < net->n_nodes; a++) {
        dc_node *add = &net->nodes[a];
        if (add->op != DC_OP_ADD || add->n_inputs != 2 || add->inputs[0] == add->inputs[1])
            continue;
        /* the later of two candidate convs: the other input is then ready before it */
        int x = add->inputs[0], y = add->inputs[1];
        int conv = -1, other = -1;
        if (fusable_conv(net, readers, y, add) && (y > x || !fusable_conv(net, readers, x, add)))
            conv = y, other = x;
        else if (fusable_conv(net, readers, x, add))
            conv = x, other = y;
        if (conv < 0)
            continue;
        dc_node *c = &net->nodes[conv];
        dc_node fused = *c;
        fused.inputs = add->inputs; /* reuse the add's array of two: [conv input, other] */
        fused.inputs[0] = c->inputs[0];
        fused.inputs[1] = other;
        fused.n_inputs = 2;
        fused.conv.residual = true;
        fused.conv.act = add->eltwise.act;
        /* its output is the add's: so is the PyTorch module it matches */
        memcpy(fused.module, add->module, sizeof fused.module);
        fused.module_act = add->module_act;
        fused.macs = c->macs + add->macs;
        /* the conv's slot keeps nothing: its parameters now belong to the fused node */
        char name[sizeof c->name];
        memcpy(name, c->name, sizeof name);
        free(c->inputs);
        memset(c, 0, sizeof *c);
        c->op = DC_OP_FUSED;
        c->fused.into = a;
        snprintf(c->name, sizeof c->name, "%s", name);
        c->c = fused.c, c->h = fused.h, c->w = fused.w;
        *add = fused;
    }
    free(readers);
}

/* ---- planning ----------------------------------------------------------- */

/*
 * Concatenation in place (planned at batch 1 only: one sample's tensor is contiguous, so
 * torch.cat along channels is the inputs one after the other). A concat whose every input
 * may live inside it becomes a view: input j is placed at the concat's offset plus the
 * sizes of inputs 0..j-1, so its producer writes straight into the concat, and the concat
 * node copies nothing (DenseNet's running concatenation: 58 copies in densenet121;
 * GoogLeNet's, Inception's and SqueezeNet's branches). An input may not be the net's
 * input (the caller's buffer), the net's output, another concat's input already, or read
 * twice by this one; each must start on the arena's alignment. Nested concats (DenseNet's
 * concat of the last concat) form one tree whose root is placed as one tensor, alive
 * from the first member written to the last read of any. member_of[i] is the concat that
 * node i lies in (-1: none), sub_offset[i] where. DC_CONCAT_IN_PLACE=0 turns it off
 * (measuring, tests).
 */
static void plan_concats_in_place(dc_net *net, int max_batch, int *member_of,
                                  size_t *sub_offset)
{
    const int n = net->n_nodes;
    for (int i = 0; i < n; i++) {
        member_of[i] = -1;
        sub_offset[i] = 0;
        net->nodes[i].in_place = false;
    }
    const char *env = getenv("DC_CONCAT_IN_PLACE");
    if (max_batch != 1 || (env && *env == '0'))
        return;
    for (int c = 1; c < n; c++) {
        dc_node *cat = &net->nodes[c];
        if (cat->op != DC_OP_CONCAT)
            continue;
        bool ok = true;
        size_t at = 0;
        for (int j = 0; j < cat->n_inputs && ok; j++) {
            const int in = cat->inputs[j];
            const dc_op op = net->nodes[in].op;
            ok = in > 0 && in != net->output && op != DC_OP_FUSED && member_of[in] < 0 &&
                 at % DC_ARENA_ALIGN_FLOATS == 0;
            for (int k = 0; k < j && ok; k++)
                ok = cat->inputs[k] != in;
            at += dc_node_numel(&net->nodes[in]);
        }
        if (!ok)
            continue;
        at = 0;
        for (int j = 0; j < cat->n_inputs; j++) {
            const int in = cat->inputs[j];
            member_of[in] = c;
            sub_offset[in] = at;
            at += dc_node_numel(&net->nodes[in]);
        }
        cat->in_place = true;
    }
}

/*
 * The depth-first head. At a batch, each node runs on all samples before the next starts,
 * so a tensor of B samples that outgrows the caches goes to memory and comes back. The
 * worst is the stem's output, the largest activation of most nets for the fewest MACs
 * (a CIFAR-10 stem writes 256 KiB an image for 1.8 MMACs: at batch 64 its 16 MiB cost the
 * stem a read for ownership of every line, and its reader reads them back). The head is
 * the stem and the nodes up to the last that reads it (its consumers: the next conv, a
 * pooling, a residual add); they run on DC_HEAD_CHUNK_BYTES' worth of the stem's output
 * at a time, then the rest of the net runs on the whole batch. A tensor read only inside
 * the head (the stem's output, a block's inner conv) holds one chunk, at the same place
 * for every chunk (dc_net_plan: head_chunked), so the next chunk's stem writes lines its
 * consumers have just read, in L2. vgg16_bn at batch 64, one thread, AMD Zen 5: the stem
 * 0.0227-0.0230 -> 0.0193-0.0197 ms an image, the conv that reads it 0.215 -> 0.167-0.174.
 * No head for a stem whose output for one sample passes the chunk (ImageNet's 1.6 MiB
 * and more: not kept in L2 anyway), or for the whole batch fits DC_HEAD_MIN_BYTES (it stays
 * in the cache anyway), or a batch too small for two chunks. DC_HEAD=0 turns it off;
 * DC_HEAD_CHUNK_KIB sets the chunk's bytes and drops both limits (measuring, tests).
 * Every op reads and writes its samples through dc_op_data and dc_op_out, which start at
 * the job's first sample (at 0 for a head_chunked tensor), so a chunk is a pass of fewer
 * samples.
 */
#define DC_HEAD_CHUNK_BYTES (512 * 1024)
#define DC_HEAD_MIN_BYTES (2 * 1024 * 1024)

static void head_plan(dc_net *net, int max_batch)
{
    net->head_end = 0;
    net->head_chunk = 0;
    const char *off = getenv("DC_HEAD");
    if (max_batch < 2 || (off && *off == '0'))
        return;
    int stem = 1;
    while (stem < net->n_nodes && net->nodes[stem].op == DC_OP_FUSED)
        stem++;
    if (stem >= net->n_nodes)
        return;
    const dc_node *nd = &net->nodes[stem];
    const size_t bytes = dc_node_numel(nd) * sizeof(float);
    const int end = nd->last_use;
    const char *kib_env = getenv("DC_HEAD_CHUNK_KIB");
    const long kib = kib_env ? atol(kib_env) : 0;
    const bool forced = kib > 0;
    if (end >= net->output || bytes == 0 ||
        (!forced && (bytes > DC_HEAD_CHUNK_BYTES ||
                     bytes * (size_t)max_batch <= DC_HEAD_MIN_BYTES)))
        return;
    const size_t budget = forced ? (size_t)kib * 1024 : DC_HEAD_CHUNK_BYTES;
    const size_t chunk = budget / bytes > 0 ? budget / bytes : 1;
    if (chunk * 2 > (size_t)max_batch)
        return;
    net->head_end = end;
    net->head_chunk = (int)chunk;
}

dc_status dc_net_plan(dc_net *net, int max_batch, dc_error *err)
{
    int n = net->n_nodes;
    if (n < 2 || net->nodes[0].op != DC_OP_INPUT)
        return dc_fail(err, DC_ERR_ARG, "%s: a net needs an input node and one more",
                       net->arch);
    if (max_batch < 1)
        return dc_fail(err, DC_ERR_ARG, "max batch %d must be at least 1", max_batch);
    if (net->output < 0)
        net->output = n - 1;
    dc_net_fuse(net);

    size_t *sizes = dc_calloc((size_t)n, sizeof *sizes);
    size_t *offsets = dc_calloc((size_t)n, sizeof *offsets);
    int *first = dc_calloc((size_t)n, sizeof *first);
    int *last = dc_calloc((size_t)n, sizeof *last);
    int *member_of = dc_calloc((size_t)n, sizeof *member_of);
    size_t *sub_offset = dc_calloc((size_t)n, sizeof *sub_offset);
    if (!sizes || !offsets || !first || !last || !member_of || !sub_offset) {
        free(sizes), free(offsets), free(first), free(last), free(member_of), free(sub_offset);
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory planning", net->arch);
    }
    size_t ws = 0, shared = 0;
    net->pass_macs = 0;
    for (int i = 0; i < n; i++) {
        dc_node *nd = &net->nodes[i];
        net->pass_macs += nd->macs;
        const dc_op_def *def = dc_op_def_of(nd->op);
        if (def->prepare)
            def->prepare(nd, max_batch);
        size_t need = def->shared_floats ? def->shared_floats(nd) : 0;
        shared = need > shared ? need : shared;
        need = def->workspace_floats ? def->workspace_floats(nd, max_batch) : 0;
        ws = need > ws ? need : ws;
        first[i] = last[i] = nd->last_use = i;
        for (int j = 0; j < nd->n_inputs; j++) {
            dc_node *src = &net->nodes[nd->inputs[j]];
            if (src->last_use < i)
                src->last_use = i;
        }
    }
    net->nodes[net->output].last_use = n; /* the logits outlive the loop */
    for (int i = 0; i < n; i++) {
        last[i] = net->nodes[i].last_use;
        /* the input lives in the caller's buffer, fused nodes nowhere */
        bool stored = i > 0 && net->nodes[i].op != DC_OP_FUSED;
        sizes[i] = stored ? dc_node_numel(&net->nodes[i]) * (size_t)max_batch : 0;
    }
    /* a concat planned in place is one tensor with its inputs inside: each member
     * widens the lifetime of the concat it lies in (members have smaller ids, so the
     * widening reaches the root), and takes no room of its own */
    plan_concats_in_place(net, max_batch, member_of, sub_offset);
    for (int i = 1; i < n; i++) {
        const int c = member_of[i];
        if (c < 0)
            continue;
        first[c] = first[i] < first[c] ? first[i] : first[c];
        last[c] = last[i] > last[c] ? last[i] : last[c];
        sizes[i] = 0;
    }
    /* the head's tensors all live from its first node to its last: a chunk's nodes must
     * not overwrite what the previous chunk's later nodes wrote */
    head_plan(net, max_batch);
    for (int i = 1; i < n; i++)
        net->nodes[i].head_chunked = false;
    for (int i = 1; i <= net->head_end; i++) {
        /* a tensor read only inside the head holds one chunk, the same floats for every
         * chunk: the next chunk's stem writes lines its consumers just read from L2 */
        dc_node *nd = &net->nodes[i];
        if (sizes[i] > 0 && last[i] <= net->head_end && member_of[i] < 0 && !nd->in_place) {
            sizes[i] = dc_node_numel(nd) * (size_t)net->head_chunk;
            nd->head_chunked = true;
        }
        first[i] = 1;
        last[i] = last[i] > net->head_end ? last[i] : net->head_end;
    }
    size_t total = dc_arena_plan(n, sizes, first, last, offsets);
    for (int i = n - 1; i > 0; i--) /* the root first: a concat after its inputs */
        if (member_of[i] >= 0)
            offsets[i] = offsets[member_of[i]] + sub_offset[i];
    for (int i = 0; i < n; i++)
        net->nodes[i].offset = offsets[i];
    free(sizes), free(offsets), free(first), free(last), free(member_of), free(sub_offset);
    if (total == (size_t)-1)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory planning", net->arch);

    run_state_free(&net->own);
    net->shared_floats = shared;
    net->workspace_floats = (ws + 15) / 16 * 16 + 16; /* per thread, 64-byte aligned */
    net->arena_floats = total;
    dc_status st = run_state_alloc(net, &net->own, err);
    if (st != DC_OK)
        return st;
    net->max_batch = max_batch;
    return DC_OK;
}

/* Makes sure every thread of the pool has its scratch; allocates only when the thread
 * count grew since the last pass. */
static dc_status ensure_workspace(const dc_net *net, dc_run_state *rs, int threads,
                                  dc_error *err)
{
    if (rs->workspace && rs->workspace_threads >= threads)
        return DC_OK;
    free(rs->workspace);
    rs->workspace = dc_aligned_alloc(64, net->workspace_floats * (size_t)threads * sizeof(float));
    rs->workspace_threads = rs->workspace ? threads : 0;
    if (!rs->workspace)
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot allocate %zu MB of scratch for %d "
                       "threads", net->arch,
                       net->workspace_floats * (size_t)threads * sizeof(float) >> 20, threads);
    return DC_OK;
}

/* ---- running ------------------------------------------------------------ */

double dc_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs node id for n samples on the pool: its op's run cuts it into tasks. The node is cut
 * for all of the pool's threads even when rs->max_threads lets fewer run it: a per-call
 * limit changes who runs the tasks, never the tasks, so the outputs are the same bit for
 * bit (docs/threads.md). */
static void run_node(const dc_net *net, dc_run_state *rs, int id, int first, int n,
                     int cut, dc_pool *pool)
{
    const dc_node *nd = &net->nodes[id];
    const dc_op_def *def = dc_op_def_of(nd->op);
    if (!def->run)
        return; /* the input, a fused node */
    dc_op_job job = { .net = net, .rs = rs, .nd = nd, .n = n, .first = first, .parts = 1,
                      .threads = cut };
    def->run(&job, pool);
}

/* Runs nodes [begin, end] on samples [first, first + n), timing each when profiling. */
static void run_nodes(const dc_net *net, dc_run_state *rs, dc_net *profile, int begin,
                      int end, int first, int n, int cut, dc_pool *pool)
{
    for (int i = begin; i <= end; i++) {
        double t0 = profile ? dc_now_seconds() : 0.0;
        run_node(net, rs, i, first, n, cut, pool);
        if (profile) {
            profile->nodes[i].seconds += dc_now_seconds() - t0;
            profile->nodes[i].runs += n;
        }
    }
}

/* The depth-first head (head_plan) on n samples, chunk by chunk: its head_chunked tensors
 * hold one chunk. An observer sees each node's output for all n samples, so then each
 * such tensor's chunks are also gathered in a buffer of the pass (an observed pass is a
 * debugging tool: it may allocate), and the head's nodes are observed after the last
 * chunk, in order. */
static dc_status run_head(const dc_net *net, dc_run_state *rs, dc_net *profile, int n,
                          int cut, dc_pool *pool, dc_node_observer observe, void *ctx,
                          dc_error *err)
{
    const int end = net->head_end;
    float **whole = NULL;
    if (observe) {
        whole = dc_calloc((size_t)end + 1, sizeof *whole);
        bool ok = whole != NULL;
        for (int i = 1; ok && i <= end; i++)
            if (net->nodes[i].head_chunked)
                ok = (whole[i] = dc_malloc(dc_node_numel(&net->nodes[i]) * (size_t)n *
                                           sizeof(float))) != NULL;
        if (!ok) {
            for (int i = 1; whole && i <= end; i++)
                free(whole[i]);
            free(whole);
            return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory gathering the first %d "
                           "nodes' outputs of %d samples for an observer", net->arch, end, n);
        }
    }
    for (int first = 0; first < n; first += net->head_chunk) {
        const int m = n - first < net->head_chunk ? n - first : net->head_chunk;
        run_nodes(net, rs, profile, 1, end, first, m, cut, pool);
        for (int i = 1; whole && i <= end; i++) {
            const size_t numel = dc_node_numel(&net->nodes[i]);
            if (whole[i])
                memcpy(whole[i] + (size_t)first * numel, rs->arena + net->nodes[i].offset,
                       numel * (size_t)m * sizeof(float));
        }
    }
    dc_status st = DC_OK;
    for (int i = 1; whole && i <= end && st == DC_OK; i++)
        if (net->nodes[i].op != DC_OP_FUSED)
            st = observe(ctx, i, whole[i] ? whole[i] : rs->arena + net->nodes[i].offset, n,
                         err);
    for (int i = 1; whole && i <= end; i++)
        free(whole[i]);
    free(whole);
    return st;
}

/* A pass of fewer MACs than this runs its nodes whole, one task each: splitting them cost
 * more than it gained. shufflenetv2_x0_5 (10.9 MMACs) at batch 1: 0.258 ms on one thread,
 * 0.307 ms cut for two; mobilenetv2_x0_5 (28 MMACs) still gains 1.34x from a second. */
#define DC_SMALL_PASS_MACS (16 * 1000 * 1000)

int dc_net_cut_threads(const dc_net *net, int n, int pool_threads)
{
    return net->pass_macs * n < DC_SMALL_PASS_MACS ? 1 : pool_threads;
}

/* One forward pass of net over n samples, writing only rs (and, when profiling, the
 * net's own per-node counters: profile is the net itself then); observe, when not NULL,
 * sees each node's output as soon as it is computed (dc_net_forward_observed). */
static dc_status forward_in(const dc_net *net, dc_run_state *rs, dc_net *profile,
                            const float *in, int n, float *out, dc_node_observer observe,
                            void *ctx, dc_error *err)
{
    if (net->shape_only)
        return dc_fail(err, DC_ERR_ARG, "%s: a shape-only net cannot run", net->arch);
    if (n < 1 || n > net->max_batch)
        return dc_fail(err, DC_ERR_ARG, "%s: batch of %d samples; this net was planned "
                       "for 1..%d", net->arch, n, net->max_batch);
    dc_blas_single_thread();
    dc_pool *pool = dc_pool_default();
    const int cut = dc_net_cut_threads(net, n, dc_pool_threads(pool));
    int runners = dc_pool_threads(pool); /* thread ids the tasks may see */
    if (rs->max_threads > 0 && rs->max_threads < runners)
        runners = rs->max_threads;
    dc_status st = ensure_workspace(net, rs, runners, err);
    if (st != DC_OK)
        return st;
    rs->input = in;
    int next = 1; /* the first node not yet run on all n samples */
    if (observe)
        st = observe(ctx, 0, in, n, err);
    if (net->head_end > 0 && st == DC_OK) {
        st = run_head(net, rs, profile, n, cut, pool, observe, ctx, err);
        next = net->head_end + 1;
    }
    for (int i = next; i < net->n_nodes && st == DC_OK; i++) {
        run_nodes(net, rs, profile, i, i, 0, n, cut, pool);
        if (observe && net->nodes[i].op != DC_OP_FUSED)
            st = observe(ctx, i, rs->arena + net->nodes[i].offset, n, err);
    }
    const dc_node *o = &net->nodes[net->output];
    if (st == DC_OK)
        memcpy(out, rs->arena + o->offset, dc_node_numel(o) * (size_t)n * sizeof(float));
    rs->input = NULL;
    return st;
}

dc_status dc_net_forward(dc_net *net, const float *in, int n, float *out, dc_error *err)
{
    return forward_in(net, &net->own, net->profiling ? net : NULL, in, n, out, NULL, NULL,
                      err);
}

dc_status dc_net_forward_observed(dc_net *net, const float *in, int n, float *out,
                                  dc_node_observer observe, void *ctx, dc_error *err)
{
    return forward_in(net, &net->own, net->profiling ? net : NULL, in, n, out, observe, ctx,
                      err);
}

/* ---- contexts: one net, several threads ---------------------------------- */

struct dc_ctx {
    const dc_net *net;
    dc_run_state rs;
};

dc_status dc_ctx_create(const dc_net *net, dc_ctx **out, dc_error *err)
{
    *out = NULL;
    if (net->shape_only)
        return dc_fail(err, DC_ERR_ARG, "%s: a shape-only net cannot run", net->arch);
    dc_ctx *c = dc_calloc(1, sizeof *c);
    if (!c)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", net->arch);
    c->net = net;
    dc_status st = run_state_alloc(net, &c->rs, err);
    if (st != DC_OK) {
        free(c);
        return st;
    }
    *out = c;
    return DC_OK;
}

dc_status dc_ctx_forward(dc_ctx *ctx, const float *in, int n, float *out, dc_error *err)
{
    return forward_in(ctx->net, &ctx->rs, NULL, in, n, out, NULL, NULL, err);
}

/* The per-call thread limit of a run state (dc_net_set_threads, dc_ctx_set_threads). */
static dc_status set_max_threads(dc_run_state *rs, const char *arch, int n, dc_error *err)
{
    if (n < 0)
        return dc_fail(err, DC_ERR_ARG, "%s: %d threads per pass; the count must be 0 (all "
                       "of the pool's) or more", arch, n);
    rs->max_threads = n;
    return DC_OK;
}

dc_status dc_ctx_set_threads(dc_ctx *ctx, int n, dc_error *err)
{
    return set_max_threads(&ctx->rs, ctx->net->arch, n, err);
}

dc_status dc_net_set_threads(dc_net *net, int n, dc_error *err)
{
    return set_max_threads(&net->own, net->arch, n, err);
}

void dc_ctx_free(dc_ctx *ctx)
{
    if (!ctx)
        return;
    run_state_free(&ctx->rs);
    free(ctx);
}

/* ---- information -------------------------------------------------------- */

dc_net_info dc_net_get_info(const dc_net *net)
{
    dc_net_info info = { 0 };
    info.arch = net->arch;
    info.dataset = net->dataset;
    info.in_c = net->in_c;
    info.in_h = net->in_h;
    info.in_w = net->in_w;
    info.num_classes = net->num_classes;
    memcpy(info.mean, net->mean, sizeof info.mean);
    memcpy(info.std, net->std, sizeof info.std);
    info.resize = net->resize;
    info.bicubic = net->bicubic;
    for (int i = 0; i < net->n_nodes; i++)
        info.macs += net->nodes[i].macs;
    info.params = net->params;
    info.num_nodes = net->n_nodes;
    info.max_batch = net->max_batch;
    info.arena_bytes = net->arena_floats * sizeof(float);
    return info;
}

static const char *act_name(dc_act act)
{
    static const char *const names[] = {
        [DC_ACT_NONE] = "", [DC_ACT_RELU] = "relu", [DC_ACT_RELU6] = "relu6",
        [DC_ACT_SIGMOID] = "sigmoid", [DC_ACT_SILU] = "silu",
        [DC_ACT_HARDSIGMOID] = "hardsigmoid", [DC_ACT_HARDSWISH] = "hardswish",
        [DC_ACT_GELU] = "gelu",
    };
    return act >= 0 && (size_t)act < sizeof names / sizeof names[0] && names[act] ? names[act]
                                                                                  : "?";
}

dc_node_info dc_net_node_info(const dc_net *net, int id)
{
    const dc_node *nd = &net->nodes[id];
    const bool with_add = nd->op == DC_OP_CONV && nd->conv.residual;
    dc_node_info info = {
        .name = nd->name, .op = with_add ? "conv+add" : dc_op_name(nd->op),
        .module = nd->module,
        .module_act = act_name(nd->module_act), .c = nd->c, .h = nd->h, .w = nd->w,
        .macs = nd->macs, .n_inputs = nd->n_inputs, .inputs = nd->inputs,
        .fused_into = nd->op == DC_OP_FUSED ? nd->fused.into : -1,
    };
    return info;
}

const char *dc_net_class_name(const dc_net *net, int i)
{
    if (!net->class_names || i < 0 || i >= net->num_classes)
        return NULL;
    return net->class_names[i];
}

void dc_net_set_profiling(dc_net *net, int profile)
{
    net->profiling = profile != 0;
    for (int i = 0; i < net->n_nodes; i++) {
        net->nodes[i].seconds = 0.0;
        net->nodes[i].runs = 0;
    }
}

void dc_net_print_profile(const dc_net *net, void *file)
{
    FILE *f = file;
    double total = 0.0;
    for (int i = 1; i < net->n_nodes; i++)
        total += net->nodes[i].seconds;
    fprintf(f, "%4s  %-34s %-8s %-16s %10s %9s %8s %6s\n", "id", "node", "op", "output",
            "ms/sample", "MMACs", "GFLOP/s", "share");
    for (int i = 1; i < net->n_nodes; i++) {
        const dc_node *nd = &net->nodes[i];
        if (nd->op == DC_OP_FUSED)
            continue; /* its work is in the node it was fused into */
        double per = nd->runs ? nd->seconds / (double)nd->runs : 0.0;
        double gflops = per > 0 ? 2.0 * (double)nd->macs / per * 1e-9 : 0.0;
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", nd->c, nd->h, nd->w);
        fprintf(f, "%4d  %-34.34s %-8s %-16s %10.4f %9.3f %8.2f %5.1f%%\n", i, nd->name,
                dc_op_name(nd->op), shape, per * 1e3, (double)nd->macs * 1e-6, gflops,
                total > 0 ? 100.0 * nd->seconds / total : 0.0);
    }
    int64_t macs = dc_net_get_info(net).macs;
    int64_t runs = net->n_nodes > 1 ? net->nodes[1].runs : 0;
    double per = runs ? total / (double)runs : 0.0;
    fprintf(f, "total: %.4f ms/sample, %.3f MMACs, %.2f GFLOP/s\n", per * 1e3,
            (double)macs * 1e-6, per > 0 ? 2.0 * (double)macs / per * 1e-9 : 0.0);
}
