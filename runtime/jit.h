/* jit.h - compile C sources in memory with libtcc and get function pointers.
 *
 * All libtcc use in the process goes through here, behind one global mutex
 * (libtcc releases are not reentrant). Run-time files (libtcc1.a, tcc's
 * include/) come from the `tcc` package: /usr/lib/x86_64-linux-gnu/tcc, or
 * $MALSTM_TCC_DIR. Large constant tables are best bound by address
 * (symbols[]) and declared `extern` in the source, so tcc parses little.
 *
 * A compile error comes back as "<unit>:<line>: error: <what>" followed by the
 * offending source line. */
#ifndef MAL_JIT_H
#define MAL_JIT_H

#include <stddef.h>

#include "mal_error.h"

#define MAL_TCC_DIR_DEFAULT "/usr/lib/x86_64-linux-gnu/tcc"

typedef struct mal_jit mal_jit;   /* the compiled code; valid until mal_jit_free */

typedef struct mal_jit_unit {
    const char *name;   /* e.g. "adware.c", used in error messages */
    const char *text;   /* C source, NUL-terminated */
} mal_jit_unit;

typedef struct mal_jit_symbol {
    const char *name;
    const void *addr;   /* host object the source declares extern */
} mal_jit_symbol;

/* Compile the units (each its own translation unit) into one image, bind the
 * symbols, relocate. On success *out holds the image. Times in ms (may be NULL). */
int mal_jit_compile(const mal_jit_unit *units, int nunits, const mal_jit_symbol *symbols,
                    int nsymbols, mal_jit **out, double *compile_ms, double *relocate_ms,
                    mal_error *e);

/* Address of a global symbol of the image, or NULL. */
void *mal_jit_symbol_addr(mal_jit *j, const char *name);

/* Bytes of code and data tcc produced (tcc_relocate's size). */
size_t mal_jit_code_size(const mal_jit *j);

void mal_jit_free(mal_jit *j);

#endif
