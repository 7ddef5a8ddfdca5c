/* report_reader.c - Cuckoo/CAPE report.json through yajl's streaming parser.
 *
 * Only behavior.processes[].calls[] matters; everything else (arguments with
 * nested values and huge strings, other sections) is parsed and dropped. A
 * stack of container roles says where the parser is; a call is emitted when
 * its object closes, because `repeated` may come before or after `api`.
 *
 * Memory: yajl keeps a token that spans two chunks in its own buffer, so a
 * pre-scan of each chunk measures strings and bare tokens and stops at
 * max_string; nesting is capped at MAL_REPORT_MAX_DEPTH. */
#include "trace_reader_impl.h"

#define MAL_INPUT_BLOCK_HINT 65536   /* first size of the hold-back buffer */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#define STR_(x) #x
#define STR(x) STR_(x)

enum role { R_OTHER, R_ROOT, R_BEHAVIOR, R_PROCESSES, R_PROCESS, R_CALLS, R_CALL };
enum key { K_OTHER, K_BEHAVIOR, K_PROCESSES, K_CALLS, K_API, K_REPEATED };

struct mal_report_parser {
    const mal_reader_common *c;
    yajl_handle h;
    uint64_t pos;                /* stream offset of the next byte yajl gets */
    uint64_t in_pos;             /* stream offset of the next byte fed to us */
    unsigned char *carry;        /* bytes held back: an unfinished token and what follows */
    size_t carry_len, carry_cap;
    int depth;                   /* open containers */
    unsigned char role[MAL_REPORT_MAX_DEPTH + 1];   /* role[d]: container at depth d */
    unsigned char key[MAL_REPORT_MAX_DEPTH + 1];    /* its current key (maps) */
    int failed;                  /* -1: error set, MAL_READ_STOPPED: sink stopped */
    const char *why;             /* our own reason for cancelling yajl */
    int saw_behavior, behavior_not_map, saw_processes;
    mal_record_info info;
    /* the call object being read */
    int have_api;
    size_t api_len;              /* bytes kept in api[] */
    uint64_t api_full_len;
    uint64_t repeated;
    char api[MAL_NAME_MAX + 1];
    /* pre-scan of tokens: strings and bare tokens (numbers, literals) */
    int in_string, escaped;
    uint64_t token_len;          /* bytes of the current token so far (0 between tokens,
                                  * and in a string before its first byte) */
    uint64_t token_cut;          /* where to cut the input to hold it back (see feed) */
    uint64_t last_struct;        /* offset + 1 of the last structural char when only
                                  * blanks follow it (0: none) */
};

static int cancel(mal_report_parser *p, const char *why)
{
    p->failed = -1;
    p->why = why;
    return 0;   /* yajl: client cancelled */
}

static int stop(mal_report_parser *p)
{
    p->failed = MAL_READ_STOPPED;
    return 0;
}

/* A scalar or container value is about to be read in the current container. */
static int value_check(mal_report_parser *p, int is_string)
{
    if (p->depth == 0)
        return cancel(p, "top-level JSON value is not an object (not a Cuckoo/CAPE report)");
    if (p->role[p->depth] == R_CALL && p->key[p->depth] == K_API && !is_string)
        return cancel(p, "a call's api is not a string");
    if (p->role[p->depth] == R_CALL && p->key[p->depth] == K_REPEATED)
        return cancel(p, "a call's repeated is not a non-negative integer");
    if (p->role[p->depth] == R_ROOT && p->key[p->depth] == K_BEHAVIOR)
        p->behavior_not_map = 1;
    return 1;
}

static int on_null(void *ctx)
{
    return value_check(ctx, 0);
}

static int on_boolean(void *ctx, int b)
{
    (void)b;
    return value_check(ctx, 0);
}

static int on_number(void *ctx, const char *s, size_t len)
{
    mal_report_parser *p = ctx;
    if (p->depth > 0 && p->role[p->depth] == R_CALL && p->key[p->depth] == K_REPEATED) {
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return cancel(p, "a call's repeated is not a non-negative integer");
            /* saturate: anything past the cap is capped anyway */
            v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(s[i] - '0');
        }
        p->repeated = v;
        return 1;
    }
    return value_check(p, 0);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    mal_report_parser *p = ctx;
    if (p->depth > 0 && p->role[p->depth] == R_CALL && p->key[p->depth] == K_API) {
        p->have_api = 1;
        p->api_full_len = len;
        p->api_len = len < sizeof p->api ? len : sizeof p->api;
        memcpy(p->api, s, p->api_len);
        return 1;
    }
    return value_check(p, 1);
}

static int key_is(const unsigned char *k, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(k, name, len) == 0;
}

static int on_map_key(void *ctx, const unsigned char *k, size_t len)
{
    mal_report_parser *p = ctx;
    unsigned char key = K_OTHER;
    switch (p->role[p->depth]) {
    case R_ROOT:
        if (key_is(k, len, "behavior"))
            key = K_BEHAVIOR;
        break;
    case R_BEHAVIOR:
        if (key_is(k, len, "processes"))
            key = K_PROCESSES;
        break;
    case R_PROCESS:
        if (key_is(k, len, "calls"))
            key = K_CALLS;
        break;
    case R_CALL:
        if (key_is(k, len, "api"))
            key = K_API;
        else if (key_is(k, len, "repeated"))
            key = K_REPEATED;
        break;
    default:
        break;
    }
    p->key[p->depth] = key;
    return 1;
}

static int open_container(mal_report_parser *p, int is_map)
{
    if (p->depth >= MAL_REPORT_MAX_DEPTH)
        return cancel(p, "JSON nested deeper than " STR(MAL_REPORT_MAX_DEPTH) " levels");
    unsigned char role = R_OTHER;
    if (p->depth == 0) {
        if (!is_map)
            return cancel(p, "top-level JSON value is not an object (not a Cuckoo/CAPE report)");
        role = R_ROOT;
    } else {
        unsigned char parent = p->role[p->depth], key = p->key[p->depth];
        if (parent == R_CALL && (key == K_API || key == K_REPEATED))
            return value_check(p, 0);
        if (parent == R_ROOT && key == K_BEHAVIOR) {
            if (is_map) {
                role = R_BEHAVIOR;
                p->saw_behavior = 1;
            } else {
                p->behavior_not_map = 1;
            }
        } else if (parent == R_BEHAVIOR && key == K_PROCESSES && !is_map) {
            role = R_PROCESSES;
            if (!p->saw_processes) {
                /* the one record of a report starts with the process list */
                p->saw_processes = 1;
                const mal_trace_sink *s = p->c->sink;
                if (s->record_begin && s->record_begin(s->ctx, &p->info))
                    return stop(p);
            }
        } else if (parent == R_PROCESSES && is_map) {
            role = R_PROCESS;
        } else if (parent == R_PROCESS && key == K_CALLS && !is_map) {
            role = R_CALLS;
        } else if (parent == R_CALLS && is_map) {
            role = R_CALL;
            p->have_api = 0;
            p->repeated = 0;
        }
    }
    p->depth++;
    p->role[p->depth] = role;
    p->key[p->depth] = K_OTHER;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, 1);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, 0);
}

static int emit_call(mal_report_parser *p)
{
    if (!p->have_api)
        return cancel(p, "a call has no api");
    uint64_t cap = p->c->max_repeat;
    uint64_t n = 1 + (p->repeated < cap ? p->repeated : cap);
    const mal_trace_sink *s = p->c->sink;
    /* an over-long name is kept only in part; the lookup of a part could
     * match a real name, so it is forced to miss */
    int id = p->api_full_len > MAL_NAME_MAX ? -1
                                            : mal_vocab_lookup(p->c->vocab, p->api, p->api_len);
    p->info.calls += n;
    if (id >= 0)
        return s->calls && s->calls(s->ctx, id, n) ? stop(p) : 1;
    p->info.unknown += n;
    if (s->unknown && s->unknown(s->ctx, p->api, p->api_len, n))
        return stop(p);
    return 1;
}

static int close_container(mal_report_parser *p)
{
    int r = 1;
    if (p->role[p->depth] == R_CALL)
        r = emit_call(p);
    p->depth--;
    return r;
}

static int on_end_map(void *ctx)
{
    return close_container(ctx);
}

static int on_end_array(void *ctx)
{
    return close_container(ctx);
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,   /* raw text: no overflow errors from yajl */
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

mal_report_parser *mal_report_new(const mal_reader_common *c)
{
    mal_report_parser *p = calloc(1, sizeof *p);
    if (!p) {
        mal_error_set(c->e, "%s: out of memory", c->path);
        return NULL;
    }
    p->c = c;
    p->info.input = c->path;
    p->info.record = 1;
    p->h = yajl_alloc(&callbacks, NULL, p);
    if (!p->h) {
        free(p);
        mal_error_set(c->e, "%s: out of memory", c->path);
        return NULL;
    }
    /* yajl's defaults already refuse comments, trailing garbage, several
     * top-level values and invalid UTF-8; set them anyway, as the contract */
    yajl_config(p->h, yajl_allow_comments, 0);
    yajl_config(p->h, yajl_dont_validate_strings, 0);
    yajl_config(p->h, yajl_allow_trailing_garbage, 0);
    yajl_config(p->h, yajl_allow_multiple_values, 0);
    yajl_config(p->h, yajl_allow_partial_values, 0);
    return p;
}

void mal_report_free(mal_report_parser *p)
{
    if (!p)
        return;
    yajl_free(p->h);
    free(p->carry);
    free(p);
}

/* Measure strings and bare tokens (numbers, literals) before yajl sees
 * them; `off` is the stream offset of d[0]. Returns the index of the byte that
 * passes the limit, or len. */
static size_t prescan(mal_report_parser *p, const unsigned char *d, size_t len, uint64_t off)
{
    uint64_t max = p->c->max_string, t = p->token_len, cut = p->token_cut, st = p->last_struct;
    int in_string = p->in_string, escaped = p->escaped;
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char c = d[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"') {
                in_string = 0;
                t = 0;
                continue;
            }
            if (++t > max)
                goto over;
        } else if (c == '"') {
            in_string = 1;
            t = 0;
            cut = st ? st - 1 : off + i;
            st = 0;
        } else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':') {
            t = 0;
            st = off + i + 1;
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            t = 0;
        } else {
            if (t == 0) {
                cut = st ? st - 1 : off + i;
                st = 0;
            }
            if (++t > max)
                goto over;
        }
    }
    i = len;
over:
    p->token_len = t;
    p->token_cut = cut;
    p->last_struct = st;
    p->in_string = in_string;
    p->escaped = escaped;
    return i;
}

/* yajl's message without its trailing newline. */
static int yajl_fail(mal_report_parser *p, const unsigned char *d, size_t len, uint64_t offset,
                     const char *what)
{
    unsigned char *m = yajl_get_error(p->h, 0, d, len);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", m ? (const char *)m : "error");
    if (m)
        yajl_free_error(p->h, m);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '.'))
        buf[--n] = '\0';
    return mal_reader_fail(p->c, p->info.record, offset, "%s (%s)", what, buf);
}

static int after_parse(mal_report_parser *p, yajl_status st, const unsigned char *d, size_t len,
                       uint64_t at_end)
{
    if (st == yajl_status_ok)
        return 0;
    uint64_t offset = d ? p->pos + yajl_get_bytes_consumed(p->h) : at_end;
    if (p->failed == MAL_READ_STOPPED)
        return MAL_READ_STOPPED;
    if (p->failed)
        return mal_reader_fail(p->c, p->info.record, offset, "%s", p->why);
    if (!d)
        return yajl_fail(p, d, len, offset, "truncated JSON: input ends inside a value");
    return yajl_fail(p, d, len, offset, "invalid JSON");
}

static int parse(mal_report_parser *p, const unsigned char *d, size_t len)
{
    if (len == 0)
        return 0;
    int r = after_parse(p, yajl_parse(p->h, d, len), d, len, 0);
    p->pos += len;
    return r;
}

static int carry_append(mal_report_parser *p, const unsigned char *d, size_t len)
{
    if (len == 0)
        return 0;
    if (p->carry_cap - p->carry_len < len) {
        size_t cap = p->carry_cap ? p->carry_cap : MAL_INPUT_BLOCK_HINT;
        while (cap - p->carry_len < len)
            cap *= 2;
        unsigned char *c = realloc(p->carry, cap);
        if (!c)
            return mal_reader_fail(p->c, p->info.record, p->in_pos, "out of memory");
        p->carry = c;
        p->carry_cap = cap;
    }
    memcpy(p->carry + p->carry_len, d, len);
    p->carry_len += len;
    return 0;
}

/* yajl re-reads a token that spans two chunks from its start each time a
 * chunk arrives, which is quadratic in the token's length (a 5 MB string took
 * 0.3 s). So a chunk is cut before an unfinished token, and the token is held
 * back until it is complete: yajl always gets whole tokens. The cut is placed
 * at the structural character before the token, because yajl copies the
 * first token of each chunk into its own buffer: that way the copy is of one
 * byte, not of the token. The prescan's limit bounds what is held. */
static int feed_part(mal_report_parser *p, const unsigned char *d, size_t len,
                                uint64_t off);

int mal_report_feed(mal_report_parser *p, const unsigned char *d, size_t len)
{
    if (p->failed)
        return p->failed;
    uint64_t off = p->in_pos;
    size_t ok = prescan(p, d, len, off);
    if (ok < len) {
        /* parse what comes before the long token first: an earlier error
         * wins, whatever the block size */
        int r = feed_part(p, d, ok, off);
        p->failed = -1;
        p->why = "";
        if (r)
            return r;
        return mal_reader_fail(p->c, p->info.record, off + ok,
                               "JSON string or number longer than %llu bytes",
                               (unsigned long long)p->c->max_string);
    }
    return feed_part(p, d, len, off);
}

/* Feed d[0..len) (prescanned) to yajl up to the cut; hold back the rest. */
static int feed_part(mal_report_parser *p, const unsigned char *d, size_t len,
                                uint64_t off)
{
    p->in_pos = off + len;
    /* bytes before `cut` (stream offset) are complete tokens */
    uint64_t cut = p->in_string || p->token_len ? p->token_cut
                   : p->last_struct ? p->last_struct - 1 : p->in_pos;
    if (cut < p->pos)
        cut = p->pos;   /* never before what yajl already has */
    int r;
    if (p->carry_len) {
        if (cut < off)
            return carry_append(p, d, len);   /* still inside the held token */
        size_t head = (size_t)(cut - off);
        if ((r = carry_append(p, d, head)) != 0)
            return r;
        r = parse(p, p->carry, p->carry_len);
        p->carry_len = 0;
        if (r)
            return r;
        return carry_append(p, d + head, len - head);
    }
    size_t head = (size_t)(cut - off);
    if ((r = parse(p, d, head)) != 0)
        return r;
    return carry_append(p, d + head, len - head);
}

int mal_report_finish(mal_report_parser *p)
{
    if (p->failed)
        return p->failed;
    if (p->in_pos == 0)
        return mal_reader_fail(p->c, 1, 0, "empty input");
    int r = parse(p, p->carry, p->carry_len);   /* an unfinished token: truncated input */
    p->carry_len = 0;
    if (r)
        return r;
    r = after_parse(p, yajl_complete_parse(p->h), NULL, 0, p->in_pos);
    if (r)
        return r;
    if (p->behavior_not_map && !p->saw_behavior)
        return mal_reader_fail(p->c, 1, p->in_pos, "behavior is not an object");
    if (!p->saw_behavior)
        return mal_reader_fail(p->c, 1, p->in_pos,
                               "no behavior section (a report without API calls)");
    if (!p->saw_processes)
        return mal_reader_fail(p->c, 1, p->in_pos, "behavior has no processes list");
    const mal_trace_sink *s = p->c->sink;
    if (s->record_end && s->record_end(s->ctx, &p->info))
        return MAL_READ_STOPPED;
    return 0;
}
