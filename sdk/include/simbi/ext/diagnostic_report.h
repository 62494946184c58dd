/* simbi/ext/diagnostic_report.h: extension "simbi.diagnostic-report/1", a diagnostic's headline
 * and figures.
 *
 * A diagnostic library that offers this extension says, after each run(), what the results mean
 * (a verdict and a few named numbers) and how to draw them. The host's report shows the headline
 * and draws the figures of any diagnostic the same way, knowing none by its id; without the
 * extension it lists the diagnostic's scalar results. The host asks for it through
 * simbi_factory.get_extension(factory, SIMBI_EXT_DIAGNOSTIC_REPORT) and ignores NULL.
 *
 * The report is a JSON object:
 *   {"headline": {"verdict": "calibrated", "numbers": [["worst gap", -0.012], ["pairs", 500]]},
 *    "figures": [FIGURE, ...], "booleans": ["calibrated", ...]}
 * "booleans" (optional) names the scalar results put as 1 or 0 that mean true or false; the host
 * records them as JSON booleans.
 * Each FIGURE has "kind", an optional "title", "caption", "x_label" and "y_label", and:
 *   "curve":     "x": [n], "y": [n]; optional "low": [n], "high": [n] (a band around the curve),
 *                "diagonal": true (the line y = x), "x_range" / "y_range": [lo, hi],
 *                "marks": {"x": [m], "y": [m]} (points drawn over the curve, e.g. observations),
 *                "reference": {"x": [r], "y": [r]} (a dashed line, e.g. the truth)
 *   "histogram": "counts": [n]; optional "edges": [n + 1] (default 0, 1, ..., n),
 *                "band": [lo, hi] (a horizontal band), "expected": a height (a line)
 *   "points":    "x": [n], "y": [n]; optional "labels": [n strings], "flagged": [n] (non-zero
 *                drawn as flagged), "x_band": [lo, hi] (a vertical band), "x_line": a value
 *   "table":     "columns": [strings], "rows": [[numbers or strings], ...]
 * Numbers are finite or null. The host checks every figure's shape and refuses a report that
 * does not fit this form, naming the figure; it then counts as the diagnostic's failure. */
#ifndef SIMBI_EXT_DIAGNOSTIC_REPORT_H
#define SIMBI_EXT_DIAGNOSTIC_REPORT_H

#include "../diagnostic.h"
#include "../types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIMBI_EXT_DIAGNOSTIC_REPORT "simbi.diagnostic-report/1"

typedef struct simbi_diagnostic_report {
    uint64_t size;

    /* Writes the report of the last run() of `diagnostic` (an instance this library created) as
     * a NUL-terminated JSON object into caller-owned text[capacity], and sets *needed to the
     * bytes it takes, NUL included. When capacity is smaller, it writes nothing and returns
     * SIMBI_DISCARD: the caller asks again with *needed bytes. A diagnostic with nothing to
     * report writes "{}". [main-thread] */
    simbi_status (*describe)(const struct simbi_diagnostic_report *self, simbi_diagnostic *diagnostic, char *text, uint64_t capacity,
                             uint64_t *needed, simbi_error *err);
} simbi_diagnostic_report;

#ifdef __cplusplus
}
#endif
#endif
