/* vocab.h - the fixed API-call vocabulary (api_index.txt: `name=index`).
 *
 * Ids are the dataset's indices (0..size-1; gaps allowed, e.g. 109 and 111 in
 * Mal-API-2019). Names are stored lower-case; lookup is case-insensitive and
 * O(1) (open addressing on a lower-cased FNV-1a hash), so CamelCase names from
 * Cuckoo/CAPE reports map to the same ids as Mal-API's lower-case traces. */
#ifndef MAL_VOCAB_H
#define MAL_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "mal_error.h"

#define MAL_VOCAB_MAX_SIZE 65536   /* largest index + 1 accepted */
#define MAL_NAME_MAX 255           /* longest API name accepted in a vocabulary */

typedef struct mal_vocab {
    int size;          /* largest index + 1 (342 for Mal-API-2019) */
    int count;         /* names present (340 for Mal-API-2019) */
    char **names;      /* names[id], lower-case, NULL where the index is unused */
    int32_t *slots;    /* hash table of ids, -1 = empty */
    uint32_t nslots;   /* power of two, >= 2 * count */
} mal_vocab;

/* Load api_index.txt. Rejects (with file:line) bad lines, names outside
 * [a-z0-9_] after lower-casing, empty or overlong names, duplicate names
 * (case-insensitively), duplicate indices and indices out of range. */
int mal_vocab_load(mal_vocab *v, const char *path, mal_error *e);

/* Build from names[0..size-1] (NULL = unused index), same rules. `what`
 * names the source in errors (e.g. "model.json: vocabulary"). */
int mal_vocab_from_names(mal_vocab *v, const char *const *names, int size,
                         const char *what, mal_error *e);

/* Id of a name of `len` bytes (any case), or -1 if it is not in the vocabulary. */
int mal_vocab_lookup(const mal_vocab *v, const char *name, size_t len);

/* Name of an id, or NULL (unused index or out of range). */
const char *mal_vocab_name(const mal_vocab *v, int id);

/* Same names at the same ids. */
int mal_vocab_equal(const mal_vocab *a, const mal_vocab *b);

void mal_vocab_free(mal_vocab *v);

#endif
