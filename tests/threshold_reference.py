#!/usr/bin/python3
"""The paper's threshold search, ported from its threshold.py and utils/search.py, as the
reference for tests/test_threshold.c and bench/threshold_compare.py.

Usage: /usr/bin/python3 threshold_reference.py TABLE N_VALUES [--literal] [--no-quirks]
                                               [--time REPEATS]

TABLE is written by dc_threshold_write_table (cascade/threshold.h):
    # dualcnn threshold table 1
    n macs1 macs2
    label pred1 pred2 maxp1 difference1 entropy1 maxp2 difference2 entropy2   (n lines)

What is kept from the original, step for step:
  - the grid is np.linspace(0, 1, N_VALUES);
  - threshold.py splits it over n_threads = 16 processes, chunk i being
    threshold_params[i * step:(i + 1) * step] with step = N_VALUES // 16, and concatenates
    the chunks' results in order, so the values past 16 * step are never evaluated
    (--no-quirks evaluates them all);
  - per threshold, search.py counts the correct answers without and with post-check:
    maxp/difference keep A when score_a >= threshold, else use B (post-check: B only when
    score_b > score_a); entropy ("reverse") keeps A when score_a <= threshold, else B
    (post-check: B only when score_b < score_a);
  - the entropy frames are reversed (iloc[::-1].reset_index) and the threshold printed is
    the row of idxmax() of the 'accuracy' column: the first maximum.
The scores are the float32 values the models produced (the original took .item() of float32
tensors), compared in double precision as Python floats are.

The default evaluates each threshold with numpy over all samples at once (the same
comparisons, vectorised); --literal runs search.py's per-sample Python loop unchanged.

Prints one line per (score, post-check): "<score> <0|1> <threshold repr> <correct> <usage>",
in the order maxp, difference, entropy, each without then with post-check. With --time R it
instead runs the whole search (3 scores) R times and prints "grid_search_s <median>".
"""
import sys
import time

import numpy as np


def threshold_search(trues, preds_a, preds_b, preds_score_a, preds_score_b, param_range,
                     reverse):
    """utils/search.py, line for line."""
    acc = []
    acc_ps = []
    if not reverse:
        for threshold in param_range:
            max_p_correct = 0
            max_p_correct_ps = 0
            max_p_model_b_usage = 0
            for true, pred_a, pred_b, pred_score_a, pred_score_b in zip(
                    trues, preds_a, preds_b, preds_score_a, preds_score_b):
                if pred_score_a >= threshold:
                    max_p_correct += pred_a == true
                    max_p_correct_ps += pred_a == true
                else:
                    max_p_model_b_usage += 1
                    max_p_correct += pred_b == true
                    if pred_score_b > pred_score_a:
                        max_p_correct_ps += pred_b == true
                    else:
                        max_p_correct_ps += pred_a == true
            acc.append({'threshold': threshold, 'accuracy': max_p_correct,
                        'model_b_usage': max_p_model_b_usage})
            acc_ps.append({'threshold': threshold, 'accuracy': max_p_correct_ps,
                           'model_b_usage': max_p_model_b_usage})
    else:
        for threshold in param_range:
            max_p_correct = 0
            max_p_correct_ps = 0
            max_p_model_b_usage = 0
            for true, pred_a, pred_b, pred_score_a, pred_score_b in zip(
                    trues, preds_a, preds_b, preds_score_a, preds_score_b):
                if pred_score_a <= threshold:
                    max_p_correct += pred_a == true
                    max_p_correct_ps += pred_a == true
                else:
                    max_p_model_b_usage += 1
                    max_p_correct += pred_b == true
                    if pred_score_b < pred_score_a:
                        max_p_correct_ps += pred_b == true
                    else:
                        max_p_correct_ps += pred_a == true
            acc.append({'threshold': threshold, 'accuracy': max_p_correct,
                        'model_b_usage': max_p_model_b_usage})
            acc_ps.append({'threshold': threshold, 'accuracy': max_p_correct_ps,
                           'model_b_usage': max_p_model_b_usage})
    return (acc, acc_ps)


def threshold_search_np(trues, preds_a, preds_b, preds_score_a, preds_score_b, param_range,
                        reverse):
    """The same counts, one numpy pass over the samples per threshold."""
    right_a = preds_a == trues
    right_b = preds_b == trues
    if not reverse:
        b_better = preds_score_b > preds_score_a
    else:
        b_better = preds_score_b < preds_score_a
    right_ps = np.where(b_better, right_b, right_a)
    acc = []
    acc_ps = []
    for threshold in param_range:
        if not reverse:
            keep_a = preds_score_a >= threshold
        else:
            keep_a = preds_score_a <= threshold
        escalated = ~keep_a
        usage = int(np.count_nonzero(escalated))
        correct = int(np.count_nonzero(right_a & keep_a) + np.count_nonzero(right_b & escalated))
        correct_ps = int(np.count_nonzero(right_a & keep_a) +
                         np.count_nonzero(right_ps & escalated))
        acc.append({'threshold': threshold, 'accuracy': correct, 'model_b_usage': usage})
        acc_ps.append({'threshold': threshold, 'accuracy': correct_ps, 'model_b_usage': usage})
    return (acc, acc_ps)


def read_table(path):
    with open(path) as f:
        head = f.readline()
        if not head.startswith('# dualcnn threshold table 1'):
            sys.exit(f'{path}: not a dualcnn threshold table')
        n = int(f.readline().split()[0])
        rows = np.loadtxt(f, dtype=np.float64, ndmin=2)
    if rows.shape != (n, 9):
        sys.exit(f'{path}: expected {n} rows of 9 columns, got {rows.shape}')
    ints = rows[:, :3].astype(np.int64)
    # the decimal text reads back as the float32 the model produced; compare as doubles
    scores = rows[:, 3:].astype(np.float32).astype(np.float64)
    return ints[:, 0], ints[:, 1], ints[:, 2], scores


def idxmax(results):
    """pandas' DataFrame(results)['accuracy'].idxmax() after reset_index: first maximum."""
    if not results:
        raise ValueError('attempt to get argmax of an empty sequence')
    return int(np.argmax(np.array([r['accuracy'] for r in results])))


def search_all(table, n_values, literal, quirks):
    true, pred_a, pred_b, s = table
    search = threshold_search if literal else threshold_search_np
    if literal:  # what iterating pandas columns yields
        true, pred_a, pred_b = true.tolist(), pred_a.tolist(), pred_b.tolist()
    threshold_params = np.linspace(0, 1, n_values)
    n_threads = 16
    step = n_values // n_threads
    if quirks:
        chunks = [threshold_params[i * step:(i + 1) * step] for i in range(n_threads)]
    else:
        chunks = [threshold_params]
    out = []
    for k, name in enumerate(['maxp', 'difference', 'entropy']):
        sa, sb = s[:, k], s[:, 3 + k]
        if literal:
            sa, sb = sa.tolist(), sb.tolist()
        results, results_ps = [], []
        for chunk in chunks:
            ret = search(true, pred_a, pred_b, sa, sb, chunk, name == 'entropy')
            results += ret[0]
            results_ps += ret[1]
        for pc, res in enumerate([results, results_ps]):
            if name == 'entropy':
                res = res[::-1]  # .iloc[::-1].reset_index(drop=True)
            best = res[idxmax(res)]
            out.append((name, pc, float(best['threshold']), int(best['accuracy']),
                        int(best['model_b_usage'])))
    return out


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    path, n_values = args[0], int(args[1])
    literal = '--literal' in args
    quirks = '--no-quirks' not in args
    table = read_table(path)
    if '--time' in args:
        repeats = int(args[args.index('--time') + 1])
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            search_all(table, n_values, literal, quirks)
            times.append(time.perf_counter() - t0)
        print(f'grid_search_s {sorted(times)[len(times) // 2]:.6f}')
        return
    try:
        rows = search_all(table, n_values, literal, quirks)
    except ValueError as e:
        print(f'error {e}')
        return
    for name, pc, lam, correct, usage in rows:
        print(f'{name} {pc} {lam!r} {correct} {usage}')


if __name__ == '__main__':
    main()
