/* malscan_main.c - command line of malscan: parse once, dispatch to a mode. */
#include "malscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MALSTM_DEFAULT_VOCAB
#define MALSTM_DEFAULT_VOCAB "data/mal-api-2019-sample/api_index.txt"
#endif

static const char usage[] =
    "usage: malscan --count [--json] [--vocab FILE] [--from FILE] INPUT...\n"
    "\n"
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
    "names). Exit status: 0 ok, 1 an input failed (the others are still read),\n"
    "2 usage error.\n";

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

int main(int argc, char **argv)
{
    malscan_args a = {0};
    /* options may come before, between or after the inputs; "--" ends them */
    char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    if (!inputs) {
        fputs("malscan: out of memory\n", stderr);
        return 1;
    }
    int only_inputs = 0;
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
        } else if (strcmp(s, "--vocab") == 0 || strcmp(s, "--models") == 0 ||
                   strcmp(s, "--from") == 0) {
            if (i + 1 >= argc) {
                free(inputs);
                return usage_error("%s needs an argument", s);
            }
            if (s[2] == 'v')
                a.vocab = argv[++i];
            else if (s[2] == 'm')
                a.models = argv[++i];
            else
                a.from = argv[++i];
        } else if (strncmp(s, "--vocab=", 8) == 0) {
            a.vocab = s + 8;
        } else if (strncmp(s, "--from=", 7) == 0) {
            a.from = s + 7;
        } else if (strncmp(s, "--models=", 9) == 0) {
            a.models = s + 9;
        } else {
            free(inputs);
            return usage_error("unknown option '%s'", s);
        }
    }
    a.inputs = inputs;
    if (a.models && a.mode != MALSCAN_COUNT)
        a.mode = MALSCAN_SCAN;
    int status;
    switch (a.mode) {
    case MALSCAN_COUNT:
        if (a.ninputs == 0 && !a.from)
            status = usage_error("%s", "no INPUT given");
        else
            status = malscan_count(&a);
        break;
    case MALSCAN_SCAN:
        status = usage_error("%s", "scanning with --models is not implemented yet; use --count");
        break;
    default:
        status = usage_error("%s", "nothing to do: give --count");
        break;
    }
    free(inputs);
    return status;
}
