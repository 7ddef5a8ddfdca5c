/* ensemble.h - the set of one-vs-rest models a scan votes over, loaded from a
 * models directory (<Type>.json files, as maltrain writes them), and the
 * engines that score a trace with all of them.
 *
 * Loading validates every model and requires one vocabulary for all; types are
 * kept in alphabetical order (the order of scores, votes and confusion rows). */
#ifndef MAL_ENSEMBLE_H
#define MAL_ENSEMBLE_H

#include <stdint.h>

#include "mal_error.h"
#include "metrics.h"
#include "model.h"

typedef struct mal_ensemble {
    int n;
    mal_model *models;                    /* [n], sorted by type */
    const char *types[MAL_MAX_TYPES];     /* models[i].type */
} mal_ensemble;

/* Load every <Type>.json (one dot in the name) of a directory. */
int mal_ensemble_load_dir(mal_ensemble *en, const char *dir, mal_error *e);
/* Load the given model files. */
int mal_ensemble_load_files(mal_ensemble *en, char *const *paths, int n, mal_error *e);
void mal_ensemble_free(mal_ensemble *en);

/* The vote: index of the highest probability; ties go to the first type in
 * alphabetical order. */
int mal_ensemble_vote(const float *probs, int n);

/* An engine scores whole traces with every model of an ensemble. One scorer
 * per thread; scorers of one engine may run in parallel. */
typedef struct mal_engine mal_engine;

typedef struct mal_engine_ops {
    const char *name;
    /* a scorer is the engine's own per-thread state, opaque to callers */
    void *(*scorer_new)(mal_engine *en, mal_error *e);
    void (*begin)(void *sc);
    void (*calls)(void *sc, int32_t id, uint64_t count);
    void (*finish)(void *sc, float *probs);   /* probs[ensemble->n] */
    void (*scorer_free)(void *sc);
    void (*engine_free)(mal_engine *en);
} mal_engine_ops;

struct mal_engine {
    const mal_engine_ops *ops;
    const mal_ensemble *ensemble;
    void *impl;
};

/* The float reference engine: window_scorer over mal_ref_* for each model. */
int mal_engine_ref(mal_engine *en, const mal_ensemble *ensemble, mal_error *e);

#endif
