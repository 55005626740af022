/*
 * svg.h — the plots of `dualcnn threshold` and `dualcnn complementarity`, written as
 * standalone SVG files by the program itself (no plotting library, no external fonts,
 * scripts or images). Every file is written to "<path>.tmp-<pid>" and renamed into place,
 * so a failed write leaves the old file (or none) and never a half-written one.
 * Text is XML-escaped; bytes that are not valid UTF-8 are written as '?'.
 */
#ifndef DC_CASCADE_SVG_H
#define DC_CASCADE_SVG_H

#include "cascade/scores.h"
#include "cascade/threshold.h"
#include "dualcnn.h"

/* One score kind: accuracy against lambda without (index 0, blue) and with (index 1,
 * orange) post-check, solid, on the left axis in %; the second model's usage, dashed grey
 * on the right axis in % (drawn once: post-check does not change which samples escalate).
 * Curves are drawn as the step functions they are. marked[i] is the index of the chosen
 * point of curve i: a vertical line, dots on its accuracy and usage, and the label
 * "λ = %.4f: <accuracy>%, usage <usage>%"; -1 for none. A curve may be NULL / empty; long
 * curves are thinned to the pixel grid (first, lowest, highest and last vertex of every
 * half pixel), so 50,000 points cost no more than a few thousand. */
dc_status dc_svg_threshold_curve(const char *path, const char *title, dc_score_kind kind,
                                 const dc_threshold_point *const curve[2], const int count[2],
                                 const int marked[2], dc_error *err);

/* The same for maxp, difference and entropy, one panel each under one title and legend
 * (`dualcnn threshold --svg`). curves[k][pc]: score kind k, post-check pc; best[k][pc]
 * the marked point (-1 none). The arrays are only read. */
dc_status dc_svg_threshold_plot(const char *path, const char *title,
                                const dc_threshold_point *curves[3][2], int counts[3][2],
                                int best[3][2], dc_error *err);

/* A k x k heatmap of matrix (row-major): each cell coloured by its value (viridis, from the
 * smallest to the largest value of the matrix) with the value printed in it (%.3f), the
 * model names along the rows and, rotated, along the columns, and a colour bar labelled
 * value_name. k >= 1; NaN cells are grey. */
dc_status dc_svg_heatmap(const char *path, const char *title, const char *const *names, int k,
                         const double *matrix, const char *value_name, dc_error *err);

#endif /* DC_CASCADE_SVG_H */
