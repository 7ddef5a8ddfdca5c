/* make_models.c - eight synthetic models (random weights of a trained
 * model's scale, fixed seeds) for the embedded test and bench when no
 * trained models are at hand. Host tool, linked against the project's
 * runtime and compiler libraries (malcc_synthetic_model, mal_model_save).
 *
 *   make_models VOCAB OUTDIR [SEED [odd]]
 *
 * Writes OUTDIR/<Type>.json for the eight Mal-API-2019 types with the paper's
 * shapes (Embedding 16, LSTM 100, LSTM 100) and its activation per type
 * (tanh: Adware, Backdoor, Downloader, Dropper; softsign: the others), the
 * default scoring rule (last 342 calls).
 *
 * With `odd`: malcc_odd_models, the compiler tests' four small odd-sized
 * models (every activation, the other scoring rules), seeds SEED..SEED+3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malcc.h"
#include "model.h"
#include "vocab.h"

/* malcc_odd_models (compiler/synthetic.c), saved as OUTDIR/<Type>.json */
static int odd_models(mal_vocab *v, const char *dir, uint64_t seed)
{
    mal_model m[4];
    mal_error e;
    int k, rc = 0;
    if (malcc_odd_models(m, v, seed, &e) < 0) {
        fprintf(stderr, "make_models: %s\n", e.msg);
        mal_vocab_free(v);
        return 1;
    }
    for (k = 0; k < 4; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.json", dir, m[k].type);
        if (rc == 0 && mal_model_save(&m[k], path, &e) < 0) {
            fprintf(stderr, "make_models: %s\n", e.msg);
            rc = 1;
        }
        mal_model_free(&m[k]);
    }
    mal_vocab_free(v);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const types[8] = { "Adware", "Backdoor", "Downloader", "Dropper",
                                          "Spyware", "Trojan",  "Virus",      "Worms" };
    mal_vocab v;
    mal_error e;
    uint64_t seed;
    int k;
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: make_models VOCAB OUTDIR [SEED [odd]]\n");
        return 2;
    }
    if (argc == 5 && strcmp(argv[4], "odd") != 0) {
        fprintf(stderr, "usage: make_models VOCAB OUTDIR [SEED [odd]]\n");
        return 2;
    }
    seed = argc >= 4 ? strtoull(argv[3], NULL, 10) : 1;
    if (mal_vocab_load(&v, argv[1], &e) < 0) {
        fprintf(stderr, "make_models: %s\n", e.msg);
        return 1;
    }
    if (argc == 5)
        return odd_models(&v, argv[2], seed);
    for (k = 0; k < 8; k++) {
        mal_model m;
        char path[4096];
        const mal_act act = k < 4 ? MAL_ACT_TANH : MAL_ACT_SOFTSIGN;
        if (malcc_synthetic_model(&m, &v, types[k], 16, 100, 100, act, seed * 8 + (uint64_t)k, 0.15f,
                                  &e) < 0) {
            fprintf(stderr, "make_models: %s\n", e.msg);
            mal_vocab_free(&v);
            return 1;
        }
        snprintf(path, sizeof path, "%s/%s.json", argv[2], types[k]);
        if (mal_model_save(&m, path, &e) < 0) {
            fprintf(stderr, "make_models: %s\n", e.msg);
            mal_model_free(&m);
            mal_vocab_free(&v);
            return 1;
        }
        mal_model_free(&m);
    }
    mal_vocab_free(&v);
    return 0;
}
