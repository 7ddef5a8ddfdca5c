/* malscan_jit.c - engine "jit": one libtcc build of the whole ensemble per
 * run; each scorer owns one ensemble state (the generated code keeps no
 * mutable globals, so scorers run in parallel without locks).
 *
 * Calls are buffered and handed over JIT_BATCH at a time (step_many), which
 * runs them model by model, so one model's weights (~120 KB at H 100) stay
 * in the cache for the whole batch, and, under a rule whose windows do not
 * overlap, steps up to 16 windows side by side, so each weight is read once
 * for all of them. The states are those of call-by-call stepping. */
#include "malscan_jit.h"

#include <stdlib.h>
#include <string.h>

#include "malcc.h"

#define JIT_BATCH 4096

typedef struct jit_scorer {
    const malcc_jit *jit;
    void *state;
    size_t pending;          /* ids buffered, not yet stepped */
    int ids[JIT_BATCH];
} jit_scorer;

static void jit_flush(jit_scorer *sc)
{
    if (sc->pending > 0)
        sc->jit->step_many(sc->state, sc->ids, sc->pending);
    sc->pending = 0;
}

static void *jit_scorer_new(mal_engine *en, mal_error *e)
{
    const malcc_jit *j = en->impl;
    jit_scorer *sc = malloc(sizeof *sc);
    /* 64-byte alignment: the generated state holds arrays gcc/tcc may vectorise over */
    void *state = NULL;
    size_t size = (j->state_size + 63) / 64 * 64;
    if (!sc || posix_memalign(&state, 64, size ? size : 64) != 0) {
        free(sc);
        mal_error_set(e, "out of memory for a JIT scorer state (%zu bytes)", j->state_size);
        return NULL;
    }
    sc->jit = j;
    sc->state = state;
    sc->pending = 0;
    return sc;
}

static void jit_begin(void *opaque)
{
    jit_scorer *sc = opaque;
    sc->jit->init(sc->state);
    sc->pending = 0;
}

static void jit_calls(void *opaque, int32_t id, uint64_t count)
{
    jit_scorer *sc = opaque;
    for (uint64_t k = 0; k < count; k++) {
        sc->ids[sc->pending++] = id;
        if (sc->pending == JIT_BATCH)
            jit_flush(sc);
    }
}

static void jit_finish(void *opaque, float *probs)
{
    jit_scorer *sc = opaque;
    jit_flush(sc);
    sc->jit->score(sc->state, probs);
}

static void jit_scorer_free(void *opaque)
{
    jit_scorer *sc = opaque;
    if (sc)
        free(sc->state);
    free(sc);
}

static void jit_engine_free(mal_engine *en)
{
    malcc_jit_free(en->impl);
    free(en->impl);
    en->impl = NULL;
}

static const mal_engine_ops jit_ops = {"jit", jit_scorer_new, jit_begin, jit_calls, jit_finish,
                                       jit_scorer_free, jit_engine_free};

int mal_engine_jit(mal_engine *en, const mal_ensemble *ensemble, mal_error *e)
{
    malcc_jit *j = calloc(1, sizeof *j);
    if (!j)
        return mal_error_set(e, "out of memory");
    const mal_model *models[MAL_MAX_TYPES];
    for (int i = 0; i < ensemble->n; i++)
        models[i] = &ensemble->models[i];
    if (malcc_jit_build(models, ensemble->n, "malstm", j, e) < 0) {
        free(j);
        return mal_error_prefix(e, "JIT build of the models failed");
    }
    en->ops = &jit_ops;
    en->ensemble = ensemble;
    en->impl = j;
    return 0;
}
