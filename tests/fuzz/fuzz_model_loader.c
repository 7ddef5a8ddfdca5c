/* fuzz_model_loader.c - mal_model_parse on arbitrary bytes: it must either
 * return a valid model (which then validates and saves to memory-free text)
 * or fail with a message, never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mal_model m;
    mal_error e;
    e.msg[0] = '\0';
    if (mal_model_parse(&m, (const char *)data, size, "fuzz.json", &e) == 0) {
        /* an accepted model is valid by the same rules the saver checks */
        if (mal_model_validate(&m, "fuzz.json", &e) != 0)
            __builtin_trap();
        mal_model_free(&m);
    } else if (e.msg[0] == '\0' || strncmp(e.msg, "fuzz.json", 9) != 0) {
        __builtin_trap();   /* every error names its source */
    }
    return 0;
}
