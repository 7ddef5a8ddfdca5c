/* ensemble.c - loading a models directory; the vote; the reference engine. */
#include "ensemble.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "window_scorer.h"

static int by_type(const void *a, const void *b)
{
    return strcmp(((const mal_model *)a)->type, ((const mal_model *)b)->type);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void mal_ensemble_free(mal_ensemble *en)
{
    for (int i = 0; i < en->n; i++)
        mal_model_free(&en->models[i]);
    free(en->models);
    memset(en, 0, sizeof *en);
}

int mal_ensemble_load_files(mal_ensemble *en, char *const *paths, int n, mal_error *e)
{
    memset(en, 0, sizeof *en);
    if (n < 1 || n > MAL_MAX_TYPES)
        return mal_error_set(e, "need 1..%d model files, got %d", MAL_MAX_TYPES, n);
    en->models = calloc((size_t)n, sizeof *en->models);
    if (!en->models)
        return mal_error_set(e, "out of memory");
    for (int i = 0; i < n; i++) {
        if (mal_model_load(&en->models[i], paths[i], e) < 0) {
            mal_ensemble_free(en);
            return -1;
        }
        en->n = i + 1;
        if (i > 0 && !mal_vocab_equal(&en->models[0].vocab, &en->models[i].vocab)) {
            mal_error_set(e, "%s: vocabulary differs from %s's (all models must share one)",
                          paths[i], paths[0]);
            mal_ensemble_free(en);
            return -1;
        }
    }
    qsort(en->models, (size_t)n, sizeof *en->models, by_type);
    for (int i = 0; i < n; i++) {
        en->types[i] = en->models[i].type;
        if (i > 0 && strcmp(en->types[i - 1], en->types[i]) == 0) {
            mal_error_set(e, "two model files detect the same type '%s'", en->types[i]);
            mal_ensemble_free(en);
            return -1;
        }
    }
    return 0;
}

int mal_ensemble_load_dir(mal_ensemble *en, const char *dir, mal_error *e)
{
    memset(en, 0, sizeof *en);
    DIR *d = opendir(dir);
    if (!d)
        return mal_error_set(e, "%s: cannot open models directory: %s", dir, strerror(errno));
    char *paths[MAL_MAX_TYPES];
    int n = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name, *dot = strchr(name, '.');
        /* <Type>.json only: metrics, checkpoints and temp files have other names */
        if (name[0] == '.' || !dot || strcmp(dot, ".json") != 0)
            continue;
        if (n == MAL_MAX_TYPES) {
            rc = mal_error_set(e, "%s: more than %d model files", dir, MAL_MAX_TYPES);
            break;
        }
        size_t len = strlen(dir) + strlen(name) + 2;
        if (!(paths[n] = malloc(len))) {
            rc = mal_error_set(e, "out of memory");
            break;
        }
        snprintf(paths[n++], len, "%s/%s", dir, name);
    }
    closedir(d);
    if (rc == 0 && n == 0)
        rc = mal_error_set(e, "%s: no model files (<Type>.json); train them with maltrain", dir);
    if (rc == 0) {
        qsort(paths, (size_t)n, sizeof *paths, by_name);
        rc = mal_ensemble_load_files(en, paths, n, e);
    }
    for (int i = 0; i < n; i++)
        free(paths[i]);
    return rc;
}

int mal_ensemble_vote(const float *probs, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (probs[i] > probs[best])
            best = i;
    return best;
}

/* ---- the reference engine: one window scorer per model ---- */
typedef struct ref_scorer {
    mal_engine *engine;
    mal_window_scorer ws[MAL_MAX_TYPES];
} ref_scorer;

static void *ref_scorer_new(mal_engine *en, mal_error *e)
{
    ref_scorer *sc = calloc(1, sizeof *sc);
    if (!sc) {
        mal_error_set(e, "out of memory");
        return NULL;
    }
    sc->engine = en;
    for (int i = 0; i < en->ensemble->n; i++) {
        mal_model *m = &en->ensemble->models[i];
        if (mal_window_scorer_init(&sc->ws[i], &m->scoring, &mal_ref_window_ops, m, e) < 0) {
            for (int k = 0; k < i; k++)
                mal_window_scorer_free(&sc->ws[k]);
            free(sc);
            return NULL;
        }
    }
    return sc;
}

static void ref_begin(void *opaque)
{
    ref_scorer *sc = opaque;
    for (int i = 0; i < sc->engine->ensemble->n; i++)
        mal_window_scorer_begin(&sc->ws[i]);
}

static void ref_calls(void *opaque, int32_t id, uint64_t count)
{
    ref_scorer *sc = opaque;
    for (int i = 0; i < sc->engine->ensemble->n; i++)
        mal_window_scorer_calls(&sc->ws[i], id, count);
}

static void ref_finish(void *opaque, float *probs)
{
    ref_scorer *sc = opaque;
    for (int i = 0; i < sc->engine->ensemble->n; i++)
        probs[i] = mal_window_scorer_finish(&sc->ws[i]);
}

static void ref_scorer_free(void *opaque)
{
    ref_scorer *sc = opaque;
    if (!sc)
        return;
    for (int i = 0; i < sc->engine->ensemble->n; i++)
        mal_window_scorer_free(&sc->ws[i]);
    free(sc);
}

static void ref_engine_free(mal_engine *en)
{
    (void)en;
}

static const mal_engine_ops ref_ops = {"ref", ref_scorer_new, ref_begin, ref_calls, ref_finish,
                                       ref_scorer_free, ref_engine_free};

int mal_engine_ref(mal_engine *en, const mal_ensemble *ensemble, mal_error *e)
{
    (void)e;
    en->ops = &ref_ops;
    en->ensemble = ensemble;
    en->impl = NULL;
    return 0;
}
