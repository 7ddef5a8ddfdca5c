/* malscan_main.c - command line of malscan: parse once, dispatch to a mode. */
#include "malscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input_list.h"
#include "trace_reader.h"
#include "vocab.h"

#ifndef MALSTM_DEFAULT_VOCAB
#define MALSTM_DEFAULT_VOCAB "data/mal-api-2019-sample/api_index.txt"
#endif

static const char usage[] =
    "usage: malscan --models DIR [--engine jit|ref] [--labels FILE] [--json] [-j N]\n"
    "               [--from FILE] INPUT...\n"
    "       malscan --count [--json] [--vocab FILE] [--from FILE] INPUT...\n"
    "\n"
    "Scanning (--models): every model in DIR (one <Type>.json per type, as maltrain\n"
    "writes them) scores each record; the highest probability names its type.\n"
    "  --models DIR   the model files to load\n"
    "  --engine E     jit: the models compiled by malcc and built in-process with\n"
    "                 libtcc (default); ref: the float reference forward pass\n"
    "                 (slow, the oracle the JIT is tested against)\n"
    "  --labels FILE  the true type of each record, one a line in scan order: adds a\n"
    "                 summary (accuracy, macro-F1, per-type precision/recall/F1,\n"
    "                 confusion matrix) and a \"truth\" key per JSON line\n"
    "  -j N           N scanning threads, 1..64 (output stays in record order)\n"
    "  --json         one JSON object per record:\n"
    "                 {\"input\", \"record\", \"calls\", \"unknown\", \"label\", \"scores\"}\n"
    "                 and with --labels a last {\"summary\": ...} line; without\n"
    "                 --json: an aligned table (label, score, record,\n"
    "                 calls, unknown, input)\n"
    "\n"
    "Reading only (--count):\n"
    "  --count        print, per record (trace), the number of calls and of names\n"
    "                 not in the vocabulary: INPUT<TAB>RECORD<TAB>CALLS<TAB>UNKNOWN\n"
    "  --json         one JSON object per record instead:\n"
    "                 {\"input\": ..., \"record\": N, \"calls\": N, \"unknown\": N}\n"
    "  --vocab FILE   vocabulary (api_index.txt); default $MALSTM_VOCAB, else\n"
    "                 " MALSTM_DEFAULT_VOCAB "\n"
    "  --from FILE    also read the inputs listed in FILE, one per line (\"-\": stdin)\n"
    "  -h, --help     this text\n"
    "\n"
    "INPUT: a Mal-API line file (one trace per line) or a Cuckoo/CAPE report.json,\n"
    "plain or gzip; \"-\" is stdin; a directory is walked (files in byte order of\n"
    "names). Names not in the vocabulary are skipped and counted.\n"
    "Exit status: 0 ok, 1 an input failed (the others are still read and\n"
    "reported), 2 usage error or models/labels that cannot be used.\n";

#include <stdarg.h>

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("malscan: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (try 'malscan --help')\n", stderr);
    return 2;
}

int malscan_collect_inputs(const malscan_args *a, mal_input_list *list)
{
    mal_error e;
    int status = 0;
    mal_input_list_init(list);
    for (int i = 0; i < a->ninputs; i++)
        if (mal_input_list_add(list, a->inputs[i], &e) < 0) {
            fprintf(stderr, "malscan: %s\n", e.msg);
            status = 1;
        }
    if (a->from && mal_input_list_add_from(list, a->from, &e) < 0) {
        fprintf(stderr, "malscan: %s\n", e.msg);
        status = 1;
    }
    for (size_t i = 0; i < list->nproblems; i++) {
        fprintf(stderr, "malscan: %s\n", list->problems[i]);
        status = 1;
    }
    return status;
}

int malscan_read_inputs(const mal_input_list *list, const mal_vocab *vocab,
                        const mal_trace_sink *sink, void (*on_error)(void *ctx), void *ctx)
{
    int status = 0;
    mal_error e;
    for (size_t i = 0; i < list->n; i++) {
        if (mal_read_trace(list->paths[i], vocab, NULL, sink, &e) < 0) {
            fflush(stdout);   /* records read before the error come first */
            fprintf(stderr, "malscan: %s\n", e.msg);
            status = 1;
            if (on_error)
                on_error(ctx);
        }
    }
    return status;
}

const char *malscan_vocab_path(const malscan_args *a)
{
    if (a->vocab)
        return a->vocab;
    const char *env = getenv("MALSTM_VOCAB");
    return env && *env ? env : MALSTM_DEFAULT_VOCAB;
}

void malscan_json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    putc('"', out);
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            putc('\\', out);
            putc(c, out);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            putc(c, out);
            p++;
        } else {
            /* copy a well-formed UTF-8 sequence; anything else is U+FFFD */
            int need = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2
                       : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
            unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
            unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
            int ok = need > 0;
            for (int k = 1; ok && k <= need; k++) {
                unsigned char d = p[k];
                ok = k == 1 ? d >= lo && d <= hi : d >= 0x80 && d <= 0xbf;
            }
            if (ok) {
                fwrite(p, 1, (size_t)need + 1, out);
                p += need + 1;
            } else {
                fputs("\\ufffd", out);
                p++;
            }
        }
    }
    putc('"', out);
}

/* "--name VALUE", "--name=VALUE" (and "-jN" for short options): stores VALUE
 * and returns 1; *i moves past what was used. A missing VALUE leaves *i at
 * argc, so argv[*i] is NULL. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *s = argv[*i];
    size_t n = strlen(name);
    if (strncmp(s, name, n) != 0)
        return 0;
    if (s[n] == '\0') {
        if (*i + 1 < argc)
            *value = argv[*i + 1];
        *i += 1;
        return 1;
    }
    if (s[n] == '=' || (name[1] != '-' && s[n] != '\0')) {
        *value = s + n + (s[n] == '=');
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    malscan_args a = {.engine = "jit", .jobs = 1};
    /* options may come before, between or after the inputs; "--" ends them */
    char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    if (!inputs) {
        fputs("malscan: out of memory\n", stderr);
        return 1;
    }
    int only_inputs = 0;
    const char *jobs = NULL;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (only_inputs || s[0] != '-' || strcmp(s, "-") == 0) {
            inputs[a.ninputs++] = argv[i];
        } else if (strcmp(s, "--") == 0) {
            only_inputs = 1;
        } else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fputs(usage, stdout);
            free(inputs);
            return 0;
        } else if (strcmp(s, "--count") == 0) {
            a.mode = MALSCAN_COUNT;
        } else if (strcmp(s, "--json") == 0) {
            a.json = 1;
        } else if (option_value(argc, argv, &i, "--vocab", &a.vocab) ||
                   option_value(argc, argv, &i, "--models", &a.models) ||
                   option_value(argc, argv, &i, "--from", &a.from) ||
                   option_value(argc, argv, &i, "--engine", &a.engine) ||
                   option_value(argc, argv, &i, "--labels", &a.labels) ||
                   option_value(argc, argv, &i, "-j", &jobs)) {
            if (!argv[i]) {   /* option_value stepped past the end: no argument */
                free(inputs);
                return usage_error("%s needs an argument", s);
            }
        } else {
            free(inputs);
            return usage_error("unknown option '%s'", s);
        }
    }
    a.inputs = inputs;
    if (a.models && a.mode != MALSCAN_COUNT)
        a.mode = MALSCAN_SCAN;
    if (jobs) {
        char *end;
        long j = strtol(jobs, &end, 10);
        if (end == jobs || *end || j < 1 || j > 64) {
            free(inputs);
            return usage_error("-j takes a number of threads from 1 to 64, not '%s'", jobs);
        }
        a.jobs = (int)j;
    }
    if (strcmp(a.engine, "jit") != 0 && strcmp(a.engine, "ref") != 0) {
        free(inputs);
        return usage_error("--engine is jit or ref, not '%s'", a.engine);
    }
    if (a.mode == MALSCAN_SCAN && a.vocab) {
        free(inputs);
        return usage_error("%s", "--vocab is for --count; model files carry their own vocabulary");
    }
    int status;
    switch (a.mode) {
    case MALSCAN_COUNT:
        if (a.ninputs == 0 && !a.from)
            status = usage_error("%s", "no INPUT given");
        else
            status = malscan_count(&a);
        break;
    case MALSCAN_SCAN:
        if (a.ninputs == 0 && !a.from)
            status = usage_error("%s", "no INPUT given");
        else
            status = malscan_scan(&a);
        break;
    default:
        status = usage_error("%s", "nothing to do: give --models DIR or --count");
        break;
    }
    free(inputs);
    return status;
}
