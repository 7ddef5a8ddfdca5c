/* malcc - compile trained models into specialised int8 C.
 *   malcc MODEL.json... -o DIR [--main] [--prefix NAME] [--target host]
 * Exit status: 0 ok, 1 error, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malcc.h"

static int usage(void)
{
    fprintf(stderr, "usage: malcc MODEL.json... -o DIR [--main] [--prefix NAME] [--target host]\n"
                    "  -o DIR         output directory (written atomically, replaced if it exists)\n"
                    "  --main         also emit main.c: cc -O2 *.c -o classify\n"
                    "  --prefix NAME  prefix of every generated symbol (default malstm)\n"
                    "  --target host  the only target of this issue (cortex-m is separate)\n");
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
            if (strcmp(argv[++i], "host") != 0) {
                fprintf(stderr, "malcc: unknown target '%s' (this build knows: host)\n", argv[i]);
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
