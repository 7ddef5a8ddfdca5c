/* trace_reader_impl.h - push parsers behind mal_read_trace (internal).
 *
 * trace_reader.c reads blocks from a mal_byte_input and feeds them to one of
 * two parsers; each keeps only a bounded state between blocks. feed/finish
 * return 0, MAL_READ_STOPPED (a sink callback returned nonzero) or -1 with
 * the error set in c->e. */
#ifndef MAL_TRACE_READER_IMPL_H
#define MAL_TRACE_READER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "trace_reader.h"

typedef struct mal_reader_common {
    const char *path;
    const mal_vocab *vocab;
    const mal_trace_sink *sink;
    mal_error *e;
    uint64_t max_repeat;
    uint64_t max_string;
} mal_reader_common;

/* mal_read_trace_mem with the parsers fed `block` bytes at a time (0 = the
 * usual 64 KiB): tests and fuzzers use small blocks to reach every way a
 * token or a UTF-8 sequence can be cut between two blocks. */
int mal_read_trace_mem_blocks(const char *name, const void *data, size_t len, size_t block,
                              const mal_vocab *vocab, const mal_read_opts *opts,
                              const mal_trace_sink *sink, mal_error *e);

/* "<path>: record N, byte B: <what>"; returns -1. */
int mal_reader_fail(const mal_reader_common *c, uint64_t record, uint64_t offset, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* ---- Mal-API line files ---- */
#define MAL_NAME_CACHE 256        /* entries of the parser's name -> id cache */
#define MAL_NAME_CACHE_LEN 47     /* longer names always go to the vocabulary */

typedef struct mal_name_cache_entry {
    unsigned char len;            /* 0 = empty */
    char name[MAL_NAME_CACHE_LEN];
    int32_t id;                   /* -1 = not in the vocabulary */
} mal_name_cache_entry;

typedef struct mal_line_parser {
    const mal_reader_common *c;
    uint64_t pos;              /* stream offset of the next byte */
    mal_record_info info;      /* the current record */
    int in_record;             /* a record has begun and not ended */
    int utf8_need;             /* continuation bytes still expected */
    unsigned char utf8_lo, utf8_hi;   /* range of the next continuation byte */
    uint64_t tok_len;          /* length of the current name (may exceed what is kept) */
    char tok[MAL_NAME_MAX + 1];   /* its first bytes: one more than a vocabulary name */
    mal_name_cache_entry cache[MAL_NAME_CACHE];
} mal_line_parser;

void mal_lines_init(mal_line_parser *p, const mal_reader_common *c);
int mal_lines_feed(mal_line_parser *p, const unsigned char *data, size_t len);
int mal_lines_finish(mal_line_parser *p);

/* ---- Cuckoo/CAPE report.json (yajl) ---- */
typedef struct mal_report_parser mal_report_parser;

/* NULL when out of memory (e is set). */
mal_report_parser *mal_report_new(const mal_reader_common *c);
int mal_report_feed(mal_report_parser *p, const unsigned char *data, size_t len);
int mal_report_finish(mal_report_parser *p);
void mal_report_free(mal_report_parser *p);

#endif
