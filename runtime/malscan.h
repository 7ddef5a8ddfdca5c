/* malscan.h - the malscan tool: one argument parser, one file per mode. */
#ifndef MALSCAN_H
#define MALSCAN_H

typedef enum malscan_mode {
    MALSCAN_NONE = 0,
    MALSCAN_COUNT,     /* --count: calls and unknown names per record (malscan_count.c) */
    MALSCAN_SCAN,      /* --models DIR: classify every record (malscan_scan.c) */
} malscan_mode;

typedef struct malscan_args {
    malscan_mode mode;
    int json;                  /* --json: JSON lines */
    const char *vocab;         /* --vocab FILE, or NULL */
    const char *models;        /* --models DIR, or NULL */
    const char *engine;        /* --engine jit|ref (scan mode; default jit) */
    const char *labels;        /* --labels FILE: true type per record, or NULL */
    int jobs;                  /* -j N: scanning threads (default 1) */
    const char *from;          /* --from FILE: more inputs, one per line, or NULL */
    char **inputs;             /* INPUT... ("-" = stdin; directories are walked) */
    int ninputs;
} malscan_args;

/* The vocabulary path: --vocab, else $MALSTM_VOCAB, else the compiled-in default. */
const char *malscan_vocab_path(const malscan_args *a);

/* Each mode returns the exit status: 0 ok, 1 some input failed, 2 unusable
 * models or labels (scan). */
int malscan_count(const malscan_args *a);
int malscan_scan(const malscan_args *a);

/* The INPUTs and --from lists expanded into files (directories walked);
 * problems are printed to stderr. Returns 1 if there were any, else 0. */
struct mal_input_list;
int malscan_collect_inputs(const malscan_args *a, struct mal_input_list *list);

/* Read every file of the list into `sink`. A file that fails is reported on
 * stderr (after the records read before the error are flushed) and the next
 * one is read; on_error(ctx), if given, runs after each failure. Returns 1 if
 * any failed, else 0. */
struct mal_vocab;
struct mal_trace_sink;
int malscan_read_inputs(const struct mal_input_list *list, const struct mal_vocab *vocab,
                        const struct mal_trace_sink *sink, void (*on_error)(void *ctx), void *ctx);

/* JSON string literal (with quotes) of arbitrary bytes; invalid UTF-8 bytes become U+FFFD. */
#include <stdio.h>
void malscan_json_string(FILE *out, const char *s);

#endif
