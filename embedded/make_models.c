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
 * With `odd`: four small models of odd sizes (Embedding 5, LSTM 7, LSTM 9:
 * every remainder path of the int8 kernels), one per activation, and the
 * other scoring rules (dedup, strided windows with max / mean combine,
 * max_windows, mean pooling, calibration). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malcc.h"
#include "model.h"
#include "vocab.h"

static int odd_models(mal_vocab *v, const char *dir, uint64_t seed)
{
    static const char *const types[4] = {"Alpha", "Beta", "Delta-x", "Gamma"};
    static const mal_act acts[4] = {MAL_ACT_TANH, MAL_ACT_SIGMOID, MAL_ACT_SOFTMAX, MAL_ACT_SOFTSIGN};
    mal_error e;
    int k, rc = 0;
    for (k = 0; k < 4 && rc == 0; k++) {
        mal_model m;
        char path[4096];
        if (malcc_synthetic_model(&m, v, types[k], 5, 7, 9, acts[k], seed * 4 + (uint64_t)k, 0.4f, &e) < 0) {
            fprintf(stderr, "make_models: %s\n", e.msg);
            rc = 1;
            break;
        }
        switch (k) {
        case 0:   /* dedup, the last 20 calls */
            m.scoring.window = 20;
            m.scoring.dedup = 1;
            break;
        case 1:   /* windows of 5 every 2 calls, max combine, mean pool, calibrated */
            m.scoring = (mal_scoring){.window = 5, .stride = 2, .max_windows = 0, .dedup = 1,
                                      .combine = MAL_COMBINE_MAX, .calib_a = 2.0f, .calib_b = -0.5f};
            m.pool = MAL_POOL_MEAN;
            break;
        case 2:   /* the last 6 calls, mean pool */
            m.scoring.window = 6;
            m.pool = MAL_POOL_MEAN;
            break;
        default:  /* the first 2 windows of 4 every 3 calls, mean combine (double) */
            m.scoring = (mal_scoring){.window = 4, .stride = 3, .max_windows = 2, .dedup = 0,
                                      .combine = MAL_COMBINE_MEAN, .calib_a = 1.0f, .calib_b = 0.0f};
            break;
        }
        snprintf(path, sizeof path, "%s/%s.json", dir, types[k]);
        if (mal_model_save(&m, path, &e) < 0) {
            fprintf(stderr, "make_models: %s\n", e.msg);
            rc = 1;
        }
        mal_model_free(&m);
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
