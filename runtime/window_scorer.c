/* window_scorer.c - the scoring rule, streaming (see window_scorer.h). */
#include "window_scorer.h"

#include <stdlib.h>
#include <string.h>

#include "reference.h"

int mal_window_scorer_init(mal_window_scorer *ws, const mal_scoring *rule,
                           const mal_window_ops *ops, void *model, mal_error *e)
{
    memset(ws, 0, sizeof *ws);
    if (rule->window < 1 || rule->stride < 0)
        return mal_error_set(e, "scoring rule: window %d, stride %d out of range", rule->window,
                             rule->stride);
    ws->rule = *rule;
    ws->ops = ops;
    ws->model = model;
    ws->nstates = rule->stride ? (rule->window + rule->stride - 1) / rule->stride : 1;
    if (rule->stride && rule->max_windows > 0 && ws->nstates > rule->max_windows)
        ws->nstates = rule->max_windows;
    ws->states = calloc((size_t)ws->nstates, sizeof *ws->states);
    ws->started = calloc((size_t)ws->nstates, sizeof *ws->started);
    if (rule->stride == 0)
        ws->ring = malloc((size_t)rule->window * sizeof *ws->ring);
    if (!ws->states || !ws->started || (rule->stride == 0 && !ws->ring))
        goto oom;
    for (int i = 0; i < ws->nstates; i++)
        if (!(ws->states[i] = ops->state_new(model)))
            goto oom;
    return 0;
oom:
    mal_window_scorer_free(ws);
    return mal_error_set(e, "out of memory for %d window states", ws->nstates);
}

void mal_window_scorer_free(mal_window_scorer *ws)
{
    if (ws->states)
        for (int i = 0; i < ws->nstates; i++)
            if (ws->states[i])
                ws->ops->state_free(ws->states[i]);
    free(ws->states);
    free(ws->started);
    free(ws->ring);
    memset(ws, 0, sizeof *ws);
}

void mal_window_scorer_begin(mal_window_scorer *ws)
{
    ws->pos = 0;
    ws->ring_len = 0;
    ws->last_id = -1;
    ws->windows_started = ws->windows_done = 0;
    ws->sum = 0;
    ws->max = 0;
    for (int i = 0; i < ws->nstates; i++)
        ws->started[i] = -1;
}

static void record_window(mal_window_scorer *ws, float p)
{
    ws->sum += p;
    if (ws->windows_done == 0 || p > ws->max)
        ws->max = p;
    ws->windows_done++;
}

/* One call after dedup, stride > 0: maybe open a window, step the live ones,
 * close the ones that are full. */
static void step_strided(mal_window_scorer *ws, int32_t id)
{
    const mal_scoring *r = &ws->rule;
    int limit_reached = r->max_windows > 0 && ws->windows_started >= r->max_windows;
    if (ws->pos % r->stride == 0 && !limit_reached) {
        for (int i = 0; i < ws->nstates; i++)
            if (ws->started[i] < 0) {
                ws->ops->reset(ws->model, ws->states[i]);
                ws->started[i] = ws->pos;
                ws->windows_started++;
                break;
            }
    }
    for (int i = 0; i < ws->nstates; i++) {
        if (ws->started[i] < 0)
            continue;
        ws->ops->step(ws->model, ws->states[i], id);
        if (ws->pos - ws->started[i] + 1 == r->window) {
            record_window(ws, ws->ops->prob(ws->model, ws->states[i]));
            ws->started[i] = -1;
        }
    }
    ws->pos++;
}

void mal_window_scorer_calls(mal_window_scorer *ws, int32_t id, uint64_t count)
{
    if (ws->rule.dedup) {
        if (id == ws->last_id)
            return;
        count = 1;
    }
    ws->last_id = id;
    if (ws->rule.stride == 0) {
        /* only the last `window` calls matter: a run longer than that fills the ring */
        uint64_t w = (uint64_t)ws->rule.window;
        for (uint64_t k = count > w ? count - w : 0; k < count; k++) {
            ws->ring[ws->pos % ws->rule.window] = id;
            ws->pos++;
        }
        return;
    }
    for (uint64_t k = 0; k < count; k++) {
        if (ws->rule.max_windows > 0 && ws->windows_done >= ws->rule.max_windows)
            return;   /* every window that can count has been scored */
        step_strided(ws, id);
    }
}

float mal_window_scorer_finish(mal_window_scorer *ws)
{
    if (ws->rule.stride == 0) {
        void *st = ws->states[0];
        ws->ops->reset(ws->model, st);
        long n = ws->pos < ws->rule.window ? ws->pos : ws->rule.window;
        for (long k = ws->pos - n; k < ws->pos; k++)
            ws->ops->step(ws->model, st, ws->ring[k % ws->rule.window]);
        return ws->ops->prob(ws->model, st);
    }
    /* the first window counts even when the trace is shorter than a window */
    if (ws->windows_done == 0) {
        int first = -1;
        for (int i = 0; i < ws->nstates; i++)
            if (ws->started[i] == 0)
                first = i;
        if (first < 0) {   /* empty trace: the zero state's score */
            first = 0;
            ws->ops->reset(ws->model, ws->states[0]);
        }
        record_window(ws, ws->ops->prob(ws->model, ws->states[first]));
    }
    return ws->rule.combine == MAL_COMBINE_MAX ? ws->max : (float)(ws->sum / (double)ws->windows_done);
}

/* ---- the float reference as an engine ---- */
static void *ref_state_new(void *model)
{
    mal_ref_state *s = malloc(sizeof *s);
    if (s && mal_ref_state_init(model, s, NULL) < 0) {
        free(s);
        s = NULL;
    }
    return s;
}

static void ref_state_free(void *state)
{
    mal_ref_state_free(state);
    free(state);
}

static void ref_reset(void *model, void *state)
{
    mal_ref_state_reset(model, state);
}

static void ref_step(void *model, void *state, int32_t id)
{
    mal_ref_step(model, state, id);
}

static float ref_prob(void *model, const void *state)
{
    return mal_ref_prob(model, state);
}

const mal_window_ops mal_ref_window_ops = {ref_state_new, ref_state_free, ref_reset, ref_step,
                                           ref_prob};
