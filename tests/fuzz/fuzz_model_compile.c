/* fuzz_model_compile.c - any model file the loader accepts, and the compiler's
 * check passes, must compile with libtcc in-process (so no text from the file
 * can break or inject into the generated C) and score within [0, 1];
 * the loader or checker otherwise fail with a message. Seeds: small valid
 * models (tests/fuzz/corpus/model_compile). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "malcc.h"
#include "model.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mal_model m;
    mal_error e;
    e.msg[0] = '\0';
    if (mal_model_parse(&m, (const char *)data, size, "fuzz.json", &e) != 0) {
        CHECK(e.msg[0] != '\0');
        return 0;
    }
    const mal_model *models[1] = {&m};
    if (malcc_check(models, 1, &e) == 0) {
        malcc_jit j;
        memset(&j, 0, sizeof j);
        if (malcc_jit_build(models, 1, "fz", &j, &e) != 0)
            abort();   /* a checked model that does not compile is a compiler bug */
        void *state = NULL;   /* aligned like malscan's JIT engine allocates it */
        CHECK(posix_memalign(&state, 64, (j.state_size + 63) / 64 * 64 + 64) == 0);
        float p[MALCC_MAX_MODELS];
        j.init(state);
        for (int k = 0; k < 300; k++)
            if (mal_vocab_name(&m.vocab, k % m.vocab.size))
                j.step(state, k % m.vocab.size);
        j.step_name(state, "NtClose\"*/", 10);   /* by name, as readers may */
        j.score(state, p);
        CHECK(p[0] >= 0.0f && p[0] <= 1.0f);   /* also false for NaN */
        free(state);
        malcc_jit_free(&j);
    } else {
        CHECK(e.msg[0] != '\0');
    }
    mal_model_free(&m);
    return 0;
}
