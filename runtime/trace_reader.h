/* trace_reader.h - streaming readers for API-call traces.
 *
 * Inputs: Mal-API line files (one trace per line, API names separated by
 * spaces; plain or gzip, detected by magic bytes) and Cuckoo/CAPE report.json
 * (plain or gzip; the names of behavior.processes[].calls[].api in order, CAPE's
 * `repeated: N` expanded into N further calls, capped per entry). "-" is stdin.
 *
 * Readers push calls to a sink as they are read and never hold a whole line
 * or file: memory stays constant whatever the input size. Names not in the
 * vocabulary are skipped and counted (policy documented in docs/readers.md).
 *
 * A malformed input stops with an error naming the file, the record and the
 * byte offset (uncompressed); records before it were already delivered. */
#ifndef MAL_TRACE_READER_H
#define MAL_TRACE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "mal_error.h"
#include "vocab.h"

typedef enum mal_trace_format {
    MAL_FORMAT_AUTO = 0,   /* first non-blank byte '{' -> report, else lines; but a path
                            * ending in .json or .json.gz is always read as a report, so a
                            * broken report fails instead of passing as a line trace */
    MAL_FORMAT_LINES = 1,
    MAL_FORMAT_REPORT = 2,
} mal_trace_format;

typedef struct mal_record_info {
    const char *input;     /* the path as given; "-" for stdin */
    uint64_t record;       /* 1-based: line number in a line file, 1 for a report */
    uint64_t calls;        /* calls in the record (known + unknown, repeats expanded) */
    uint64_t unknown;      /* calls whose name is not in the vocabulary (skipped) */
    uint64_t offset;       /* uncompressed byte offset where the record starts */
} mal_record_info;

typedef struct mal_trace_sink {
    void *ctx;
    /* Optional: a record starts (info->calls and ->unknown are 0). */
    int (*record_begin)(void *ctx, const mal_record_info *info);
    /* `count` >= 1 consecutive known calls with vocabulary id `id` (count > 1
     * only for CAPE's repeated entries). */
    int (*calls)(void *ctx, int32_t id, uint64_t count);
    /* Optional: a name not in the vocabulary, `count` times. */
    int (*unknown)(void *ctx, const char *name, size_t len, uint64_t count);
    /* The record is complete; info holds its totals. */
    int (*record_end)(void *ctx, const mal_record_info *info);
    /* Any callback returning nonzero stops reading; mal_read_trace then
     * returns MAL_READ_STOPPED without an error message. */
} mal_trace_sink;

#define MAL_READ_STOPPED 1

typedef struct mal_read_opts {
    mal_trace_format format;   /* default AUTO */
    uint64_t max_repeat;       /* cap on CAPE `repeated` per entry; 0 = default (see docs/readers.md) */
    uint64_t max_string;       /* longest JSON string or number in a report, bytes; 0 = default */
} mal_read_opts;

#define MAL_DEFAULT_MAX_REPEAT 100000u         /* an entry gives at most 1 + this many calls */
#define MAL_DEFAULT_MAX_STRING (64u << 20)     /* 64 MiB: bounds yajl's token buffer */
#define MAL_REPORT_MAX_DEPTH 128               /* deeper JSON nesting is an error */

/* Read every record of `path` into the sink. Returns 0, MAL_READ_STOPPED, or
 * -1 with e set ("<path>: record N, byte B: <what>"). opts may be NULL. */
int mal_read_trace(const char *path, const mal_vocab *vocab, const mal_read_opts *opts,
                   const mal_trace_sink *sink, mal_error *e);

/* The same from memory (plain or gzip); `name` stands for the path in
 * records and messages. For tests and fuzzing. */
int mal_read_trace_mem(const char *name, const void *data, size_t len, const mal_vocab *vocab,
                       const mal_read_opts *opts, const mal_trace_sink *sink, mal_error *e);

#endif
