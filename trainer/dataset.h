/* dataset.h - a training/evaluation dataset directory loaded into memory as
 * per-trace id sequences (design.md: calls.txt[.gz] + labels.csv +
 * api_index.txt, optional split file of `train`/`test` words).
 *
 * Memory stays bounded whatever the trace length: per trace only the last
 * `tail_cap` raw ids (the paper's window) and the de-duplicated sequence
 * (runs of one id collapsed), capped at `dd_cap` ids, are kept, as uint16. */
#ifndef MT_DATASET_H
#define MT_DATASET_H

#include <stdint.h>

#include "mal_error.h"
#include "vocab.h"

#define MT_NTYPES 8
extern const char *const mt_type_names[MT_NTYPES];   /* alphabetical: Adware .. Worms */

enum { MT_SPLIT_TRAIN = 0, MT_SPLIT_TEST = 1 };

typedef struct mt_trace {
    int label;          /* index into mt_type_names */
    int split;          /* MT_SPLIT_*; TRAIN when no split file */
    uint64_t calls;     /* known calls in the trace */
    uint32_t ntail, ndd;
    uint16_t *tail;     /* last ntail raw ids, in order */
    uint16_t *dd;       /* first ndd ids of the de-duplicated trace */
} mt_trace;

typedef struct mt_data {
    int n;
    mt_trace *t;
    mal_vocab vocab;
    uint32_t crc;       /* zlib crc32 of the calls file, labels.csv and the split file */
    uint64_t unknown;   /* calls skipped: names not in the vocabulary */
} mt_data;

/* Type index of a name (exact, case-sensitive), or -1. */
int mt_type_index(const char *name);

int mt_data_load(mt_data *d, const char *dir, const char *split_path, int tail_cap,
                 uint32_t dd_cap, mal_error *e);
void mt_data_free(mt_data *d);

#endif
