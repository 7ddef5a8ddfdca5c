/* window_scorer.h - applies a model's scoring rule (model.h: dedup, window,
 * stride, max_windows, combine) to a stream of calls, in constant memory,
 * for any engine that can reset/step/score a window state.
 *
 * stride 0 (the paper): the last `window` calls, kept in a ring and run when
 * the trace ends. stride s > 0: windows start at calls 0, s, 2s, ... and run
 * as the calls arrive, at most ceil(window / s) at once; a window counts if it
 * is the first or full, and only the first max_windows (if > 0) are scored.
 * This is the streaming twin of mal_ref_score_trace(), which tests compare it to. */
#ifndef MAL_WINDOW_SCORER_H
#define MAL_WINDOW_SCORER_H

#include <stdint.h>

#include "mal_error.h"
#include "model.h"

/* What an engine provides for one model: window states and three operations. */
typedef struct mal_window_ops {
    void *(*state_new)(void *model);               /* NULL on out of memory */
    void (*state_free)(void *state);
    void (*reset)(void *model, void *state);       /* back to the zero state */
    void (*step)(void *model, void *state, int32_t id);
    float (*prob)(void *model, const void *state); /* calibrated probability */
} mal_window_ops;

typedef struct mal_window_scorer {
    mal_scoring rule;
    const mal_window_ops *ops;
    void *model;
    void **states;        /* live window states (nstates) */
    long *started;        /* position where each state's window started, -1 = free */
    int nstates;
    int32_t *ring;        /* stride 0: the last `window` ids */
    long ring_len;
    long pos;             /* calls seen after dedup */
    int32_t last_id;      /* for dedup; -1 = none yet */
    long windows_started;
    long windows_done;    /* scored windows */
    double sum;           /* of window probabilities */
    float max;
} mal_window_scorer;

int mal_window_scorer_init(mal_window_scorer *ws, const mal_scoring *rule,
                           const mal_window_ops *ops, void *model, mal_error *e);
void mal_window_scorer_free(mal_window_scorer *ws);

/* Start a new trace. */
void mal_window_scorer_begin(mal_window_scorer *ws);
/* `count` consecutive calls of `id` (the reader's run form). */
void mal_window_scorer_calls(mal_window_scorer *ws, int32_t id, uint64_t count);
/* End of trace: the trace's probability under the rule. */
float mal_window_scorer_finish(mal_window_scorer *ws);

/* The float reference as an engine (model = const mal_model *). */
extern const mal_window_ops mal_ref_window_ops;

#endif
