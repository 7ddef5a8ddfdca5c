/* malscan.h - the malscan tool: one argument parser, one file per mode. */
#ifndef MALSCAN_H
#define MALSCAN_H

typedef enum malscan_mode {
    MALSCAN_NONE = 0,
    MALSCAN_COUNT,     /* --count: calls and unknown names per record (malscan_count.c) */
    MALSCAN_SCAN,      /* --models DIR: classify (a later issue) */
} malscan_mode;

typedef struct malscan_args {
    malscan_mode mode;
    int json;                  /* --json: JSON lines */
    const char *vocab;         /* --vocab FILE, or NULL */
    const char *models;        /* --models DIR, or NULL */
    const char *from;          /* --from FILE: more inputs, one per line, or NULL */
    char **inputs;             /* INPUT... ("-" = stdin; directories are walked) */
    int ninputs;
} malscan_args;

/* The vocabulary path: --vocab, else $MALSTM_VOCAB, else the compiled-in default. */
const char *malscan_vocab_path(const malscan_args *a);

/* Each mode returns the exit status: 0 ok, 1 some input failed. */
int malscan_count(const malscan_args *a);

/* JSON string literal (with quotes) of arbitrary bytes; invalid UTF-8 bytes become U+FFFD. */
#include <stdio.h>
void malscan_json_string(FILE *out, const char *s);

#endif
