/* line_reader.c - Mal-API line files: one trace per line, names separated by
 * blanks. A byte-at-a-time state machine, so a line of any length costs the
 * same constant memory: only the first MAL_NAME_MAX + 1 bytes of a name are
 * kept, which is enough to tell that a longer name is not in the vocabulary. */
#include "trace_reader_impl.h"

#include <string.h>

enum { C_NAME = 0, C_BLANK, C_NL, C_NUL, C_HIGH };

#define H4 C_HIGH, C_HIGH, C_HIGH, C_HIGH
#define H32 H4, H4, H4, H4, H4, H4, H4, H4

/* Byte classes (C_NAME unless listed; every byte >= 0x80 is C_HIGH). '\r'
 * counts as a blank so CRLF files read like LF files. */
static const unsigned char classes[256] = {
    ['\0'] = C_NUL, [' '] = C_BLANK, ['\t'] = C_BLANK, ['\r'] = C_BLANK, ['\n'] = C_NL,
    [0x80] = H32, H32, H32, H32,
};

void mal_lines_init(mal_line_parser *p, const mal_reader_common *c)
{
    memset(p, 0, sizeof *p);
    p->c = c;
    p->info.input = c->path;
    p->info.record = 1;
}

static int begin_record(mal_line_parser *p, uint64_t offset)
{
    p->in_record = 1;
    p->info.calls = p->info.unknown = 0;
    p->info.offset = offset;
    const mal_trace_sink *s = p->c->sink;
    if (s->record_begin && s->record_begin(s->ctx, &p->info))
        return MAL_READ_STOPPED;
    return 0;
}

/* Vocabulary lookup behind a direct-mapped cache of exact byte strings: a
 * trace uses a few dozen names over and over, and the vocabulary's
 * case-folding hash costs more than this one (a profile showed 2/3 of the
 * reading time in lookups). */
static int lookup(mal_line_parser *p, const char *name, size_t len)
{
    if (len > MAL_NAME_CACHE_LEN || len < 1)
        return mal_vocab_lookup(p->c->vocab, name, len);
    uint64_t a = 0, b = 0;
    memcpy(&a, name, len < 8 ? len : 8);
    if (len > 8)
        memcpy(&b, name + len - 8, 8);
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15u) ^ len) * 0xff51afd7ed558ccdu;
    mal_name_cache_entry *c = &p->cache[h >> 56];   /* 256 entries */
    if (c->len == len && memcmp(c->name, name, len) == 0)
        return c->id;
    c->id = mal_vocab_lookup(p->c->vocab, name, len);
    c->len = (unsigned char)len;
    memcpy(c->name, name, len);
    return c->id;
}

static int end_name(mal_line_parser *p)
{
    size_t kept = p->tok_len < sizeof p->tok ? (size_t)p->tok_len : sizeof p->tok;
    /* a name longer than the kept prefix is longer than MAL_NAME_MAX: lookup says -1 */
    int id = lookup(p, p->tok, kept);
    const mal_trace_sink *s = p->c->sink;
    p->tok_len = 0;
    p->info.calls++;
    if (id >= 0)
        return s->calls && s->calls(s->ctx, id, 1) ? MAL_READ_STOPPED : 0;
    p->info.unknown++;
    if (s->unknown && s->unknown(s->ctx, p->tok, kept, 1))
        return MAL_READ_STOPPED;
    return 0;
}

static int end_record(mal_line_parser *p)
{
    const mal_trace_sink *s = p->c->sink;
    p->in_record = 0;
    int r = s->record_end ? s->record_end(s->ctx, &p->info) : 0;
    p->info.record++;
    return r ? MAL_READ_STOPPED : 0;
}

/* Check one byte of a multi-byte UTF-8 sequence (lead byte when utf8_need == 0).
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static int utf8_step(mal_line_parser *p, unsigned char c)
{
    if (p->utf8_need) {
        if (c < p->utf8_lo || c > p->utf8_hi)
            return -1;
        p->utf8_need--;
        p->utf8_lo = 0x80;
        p->utf8_hi = 0xbf;
        return 0;
    }
    p->utf8_lo = 0x80;
    p->utf8_hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        p->utf8_need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        p->utf8_need = 2;
        if (c == 0xe0)
            p->utf8_lo = 0xa0;
        else if (c == 0xed)
            p->utf8_hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        p->utf8_need = 3;
        if (c == 0xf0)
            p->utf8_lo = 0x90;
        else if (c == 0xf4)
            p->utf8_hi = 0x8f;
    } else {
        return -1;
    }
    return 0;
}

int mal_lines_feed(mal_line_parser *p, const unsigned char *d, size_t n)
{
    int r;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = d[i];
        if (!p->in_record && (r = begin_record(p, p->pos + i)) != 0)
            return r;
        unsigned char k = classes[c];
        if (p->utf8_need && k != C_HIGH)
            return mal_reader_fail(p->c, p->info.record, p->pos + i,
                                   "invalid UTF-8 (incomplete sequence)");
        switch (k) {
        case C_NAME: {
            /* the common case: find the end of the name, keep what fits */
            size_t j = i + 1;
            while (j < n && classes[d[j]] == C_NAME)
                j++;
            size_t run = j - i;
            if (p->tok_len < sizeof p->tok) {
                size_t room = sizeof p->tok - (size_t)p->tok_len;
                memcpy(p->tok + p->tok_len, d + i, run < room ? run : room);
            }
            p->tok_len += run;
            i = j - 1;
            break;
        }
        case C_HIGH:
            if (utf8_step(p, c) < 0)
                return mal_reader_fail(p->c, p->info.record, p->pos + i,
                                       "invalid UTF-8 (byte 0x%02x)", c);
            if (p->tok_len < sizeof p->tok)
                p->tok[p->tok_len] = (char)c;
            p->tok_len++;
            break;
        case C_BLANK:
            if (p->tok_len && (r = end_name(p)) != 0)
                return r;
            break;
        case C_NL:
            if (p->tok_len && (r = end_name(p)) != 0)
                return r;
            if ((r = end_record(p)) != 0)
                return r;
            break;
        default:
            return mal_reader_fail(p->c, p->info.record, p->pos + i, "NUL byte");
        }
    }
    p->pos += n;
    return 0;
}

int mal_lines_finish(mal_line_parser *p)
{
    int r;
    if (p->pos == 0)
        return mal_reader_fail(p->c, 1, 0, "empty input");
    if (p->utf8_need)
        return mal_reader_fail(p->c, p->info.record, p->pos,
                               "invalid UTF-8 (incomplete sequence at end of input)");
    if (!p->in_record)
        return 0;   /* the last line ended with '\n' */
    if (p->tok_len && (r = end_name(p)) != 0)
        return r;
    return end_record(p);
}
