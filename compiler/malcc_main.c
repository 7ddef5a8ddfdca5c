/* malcc - compile trained models into specialised int8 C.
 *   malcc MODEL.json... -o DIR [--main] [--prefix NAME] [--target host|cortex-m]
 *         [--profile small|fast]
 * Exit status: 0 ok, 1 error, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malcc.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: malcc MODEL.json... -o DIR [--main] [--prefix NAME] [--target host|cortex-m]\n"
            "             [--profile small|fast]\n"
            "  -o DIR           output directory (written atomically, replaced if it exists)\n"
            "  --main           also emit main.c (stdio): cc -O2 *.c -o classify\n"
            "  --prefix NAME    prefix of every generated symbol (default malstm)\n"
            "  --target host    (default) the host build; the libtcc JIT uses the same code\n"
            "  --target cortex-m\n"
            "                   small devices (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb\n"
            "                   -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffp-contract=off): no OS,\n"
            "                   malloc or libm; lean per-model state; one shared name table\n"
            "                   (vocab.c); bit-identical on the board and the host\n"
            "  --profile P      the size/speed trade-off of layer 1's input side:\n"
            "                   fast   float table folded per token: 342 x 400 floats = 547 KB\n"
            "                          per paper-shape model, no work per token; the host\n"
            "                          target's scores bit for bit (host: the only profile)\n"
            "                   small  int8 embedding + int8 input matrix with per-row scales\n"
            "                          (~12 KB; ~150 KB flash per model in all), 6.4 k extra\n"
            "                          multiply-adds per call; scores differ slightly (one more\n"
            "                          quantisation). Default for cortex-m\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *outdir = NULL;
    malcc_opts o = {0};
    char *paths[MALCC_MAX_MODELS];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-o") == 0 && i + 1 < argc)
            outdir = argv[++i];
        else if (strcmp(a, "--main") == 0)
            o.with_main = 1;
        else if (strcmp(a, "--prefix") == 0 && i + 1 < argc)
            o.prefix = argv[++i];
        else if (strcmp(a, "--target") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "host") == 0)
                o.target = MALCC_TARGET_HOST;
            else if (strcmp(argv[i], "cortex-m") == 0)
                o.target = MALCC_TARGET_CORTEX_M;
            else {
                fprintf(stderr, "malcc: unknown target '%s' (known: host, cortex-m)\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--profile") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "fast") == 0)
                o.profile = MALCC_PROFILE_FAST;
            else if (strcmp(argv[i], "small") == 0)
                o.profile = MALCC_PROFILE_SMALL;
            else {
                fprintf(stderr, "malcc: unknown profile '%s' (known: small, fast)\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "malcc: unknown option '%s'\n", a);
            return usage();
        } else if (n >= MALCC_MAX_MODELS) {
            fprintf(stderr, "malcc: too many models (at most %d)\n", MALCC_MAX_MODELS);
            return 2;
        } else
            paths[n++] = argv[i];
    }
    if (!outdir || n == 0)
        return usage();
    if (o.target == MALCC_TARGET_HOST && o.profile == MALCC_PROFILE_SMALL) {
        fprintf(stderr, "malcc: --profile small needs --target cortex-m (the host target is fast only)\n");
        return 2;
    }
    /* the command line for the provenance comment (sanitised there) */
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *cmd = calloc(len, 1);
    for (int i = 0; cmd && i < argc; i++) {
        strcat(cmd, argv[i]);
        if (i + 1 < argc)
            strcat(cmd, " ");
    }
    o.command = cmd;
    mal_model *models = calloc((size_t)n, sizeof *models);
    const mal_model *ptrs[MALCC_MAX_MODELS];
    mal_error e = {{0}};
    int rc = 1, loaded = 0;
    if (!models) {
        fprintf(stderr, "malcc: out of memory\n");
        goto out;
    }
    for (; loaded < n; loaded++) {
        if (mal_model_load(&models[loaded], paths[loaded], &e) < 0) {
            fprintf(stderr, "malcc: %s\n", e.msg);
            goto out;
        }
        ptrs[loaded] = &models[loaded];
    }
    malcc_output out;
    if (malcc_generate(ptrs, n, &o, &out, &e) < 0) {
        fprintf(stderr, "malcc: %s\n", e.msg);
        goto out;
    }
    if (malcc_write_dir(&out, outdir, &e) < 0) {
        fprintf(stderr, "malcc: %s\n", e.msg);
        malcc_output_free(&out);
        goto out;
    }
    size_t bytes = 0;
    for (int i = 0; i < out.n; i++)
        bytes += out.files[i].len;
    printf("malcc: %d models -> %s (%d files, %zu bytes)\n", n, outdir, out.n, bytes);
    malcc_output_free(&out);
    rc = 0;
out:
    for (int i = 0; i < loaded; i++)
        mal_model_free(&models[i]);
    free(models);
    free(cmd);
    return rc;
}
