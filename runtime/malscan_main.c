/* malscan_main.c - command line of malscan: parse once, dispatch to a mode. */
#include "malscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MALSTM_DEFAULT_VOCAB
#define MALSTM_DEFAULT_VOCAB "data/mal-api-2019-sample/api_index.txt"
#endif

static const char usage[] =
    "usage: malscan --count [--json] [--vocab FILE] INPUT...\n"
    "\n"
    "  --count        print, per record (trace), the number of calls and of names\n"
    "                 not in the vocabulary: INPUT<TAB>RECORD<TAB>CALLS<TAB>UNKNOWN\n"
    "  --json         one JSON object per record instead:\n"
    "                 {\"input\": ..., \"record\": N, \"calls\": N, \"unknown\": N}\n"
    "  --vocab FILE   vocabulary (api_index.txt); default $MALSTM_VOCAB, else\n"
    "                 " MALSTM_DEFAULT_VOCAB "\n"
    "  -h, --help     this text\n"
    "\n"
    "INPUT: a Mal-API line file (one trace per line) or a Cuckoo/CAPE report.json,\n"
    "plain or gzip; \"-\" is stdin. Exit status: 0 ok, 1 an input failed (the others\n"
    "are still read), 2 usage error.\n";

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
    int i = 1;
    for (; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--") == 0) {
            i++;
            break;
        }
        if (s[0] != '-' || strcmp(s, "-") == 0)
            break;   /* first INPUT */
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(s, "--count") == 0) {
            a.mode = MALSCAN_COUNT;
        } else if (strcmp(s, "--json") == 0) {
            a.json = 1;
        } else if (strcmp(s, "--vocab") == 0 || strcmp(s, "--models") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs an argument", s);
            if (s[2] == 'v')
                a.vocab = argv[++i];
            else
                a.models = argv[++i];
        } else if (strncmp(s, "--vocab=", 8) == 0) {
            a.vocab = s + 8;
        } else if (strncmp(s, "--models=", 9) == 0) {
            a.models = s + 9;
        } else {
            return usage_error("unknown option '%s'", s);
        }
    }
    a.inputs = argv + i;
    a.ninputs = argc - i;
    if (a.models && a.mode != MALSCAN_COUNT)
        a.mode = MALSCAN_SCAN;
    switch (a.mode) {
    case MALSCAN_COUNT:
        if (a.ninputs == 0)
            return usage_error("%s", "no INPUT given");
        return malscan_count(&a);
    case MALSCAN_SCAN:
        return usage_error("%s", "scanning with --models is not implemented yet; use --count");
    default:
        return usage_error("%s", "nothing to do: give --count");
    }
}
