/* trace_reader.c - mal_read_trace: pick the format, feed blocks to a parser. */
#include "trace_reader_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_input.h"

int mal_reader_fail(const mal_reader_common *c, uint64_t record, uint64_t offset, const char *fmt,
                    ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mal_error_set(c->e, "%s: record %llu, byte %llu: %s", c->path,
                         (unsigned long long)record, (unsigned long long)offset, what);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* AUTO: a .json name means a report (see trace_reader.h); otherwise the first
 * non-blank byte of the first block decides. A first block of nothing but
 * blanks is a line file (of empty records). */
static mal_trace_format detect(const char *path, const unsigned char *d, size_t n)
{
    if (ends_with(path, ".json") || ends_with(path, ".json.gz"))
        return MAL_FORMAT_REPORT;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = d[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        return c == '{' ? MAL_FORMAT_REPORT : MAL_FORMAT_LINES;
    }
    return MAL_FORMAT_LINES;
}

static int read_all(mal_byte_input *in, size_t block, const char *path, const mal_vocab *vocab,
                    const mal_read_opts *opts, const mal_trace_sink *sink, mal_error *e)
{
    mal_reader_common c = {
        .path = path,
        .vocab = vocab,
        .sink = sink,
        .e = e,
        .max_repeat = opts && opts->max_repeat ? opts->max_repeat : MAL_DEFAULT_MAX_REPEAT,
        .max_string = opts && opts->max_string ? opts->max_string : MAL_DEFAULT_MAX_STRING,
    };
    unsigned char *buf = malloc(block);
    if (!buf)
        return mal_error_set(e, "%s: out of memory", path);
    mal_line_parser lines;
    memset(&lines, 0, sizeof lines);
    mal_report_parser *report = NULL;
    mal_trace_format format = opts ? opts->format : MAL_FORMAT_AUTO;
    int r = 0, started = 0;
    for (;;) {
        long n = mal_input_read(in, buf, block, e);
        if (n < 0) {
            /* the parsers know the record; this error comes from below them */
            uint64_t rec = !started ? 1
                           : format == MAL_FORMAT_LINES ? lines.info.record : 1;
            r = mal_error_prefix(e, "%s: record %llu, byte %llu", path, (unsigned long long)rec,
                                 (unsigned long long)in->offset);
            break;
        }
        if (!started) {
            if (format == MAL_FORMAT_AUTO)
                format = detect(path, buf, (size_t)n);
            if (format == MAL_FORMAT_REPORT) {
                report = mal_report_new(&c);
                if (!report) {
                    r = -1;
                    break;
                }
            } else {
                format = MAL_FORMAT_LINES;
                mal_lines_init(&lines, &c);
            }
            started = 1;
        }
        if (n == 0) {
            r = format == MAL_FORMAT_REPORT ? mal_report_finish(report) : mal_lines_finish(&lines);
            break;
        }
        r = format == MAL_FORMAT_REPORT ? mal_report_feed(report, buf, (size_t)n)
                                        : mal_lines_feed(&lines, buf, (size_t)n);
        if (r)
            break;
    }
    mal_report_free(report);
    free(buf);
    return r;
}

int mal_read_trace(const char *path, const mal_vocab *vocab, const mal_read_opts *opts,
                   const mal_trace_sink *sink, mal_error *e)
{
    mal_byte_input in;
    if (mal_input_open(&in, path, e) < 0)
        return -1;
    int r = read_all(&in, MAL_INPUT_BLOCK, path, vocab, opts, sink, e);
    mal_input_close(&in);
    return r;
}

int mal_read_trace_mem_blocks(const char *name, const void *data, size_t len, size_t block,
                              const mal_vocab *vocab, const mal_read_opts *opts,
                              const mal_trace_sink *sink, mal_error *e)
{
    mal_byte_input in;
    mal_input_open_mem(&in, data, len);
    int r = read_all(&in, block ? block : MAL_INPUT_BLOCK, name, vocab, opts, sink, e);
    mal_input_close(&in);
    return r;
}

int mal_read_trace_mem(const char *name, const void *data, size_t len, const mal_vocab *vocab,
                       const mal_read_opts *opts, const mal_trace_sink *sink, mal_error *e)
{
    return mal_read_trace_mem_blocks(name, data, len, MAL_INPUT_BLOCK, vocab, opts, sink, e);
}
