/* mal_error.h - error reporting for the runtime library.
 *
 * Library code never prints or exits: a failing call fills a mal_error with a
 * one-line message that names the file and the position (line, record, byte,
 * field) and returns -1. Only the tools' main() prints it. */
#ifndef MAL_ERROR_H
#define MAL_ERROR_H

#include <stddef.h>

typedef struct mal_error {
    char msg[1024];
} mal_error;

/* printf-style; NULL e is allowed (the message is dropped). Always returns -1
 * so that callers can write `return mal_error_set(e, ...)`. */
int mal_error_set(mal_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix an existing message: "<prefix>: <old message>". Returns -1. */
int mal_error_prefix(mal_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
