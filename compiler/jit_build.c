/* jit_build.c - compiled models built in memory: tables in this process,
 * small sources (tables declared extern) through libtcc (runtime/jit.h). */
#include "malcc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit.h"

typedef struct jit_priv {
    mal_jit *image;
    int n;
    malcc_tables tables[MALCC_MAX_MODELS];
    malcc_host_matrix *mats[MALCC_MAX_MODELS][3];   /* wh1, wx2, wh2 for the host's gate kernel */
} jit_priv;

#define NSYM_PER_MODEL 14

/* MALSTM_HOST_VNNI=0 keeps the host's products on the plain loop even where
 * the CPU has VNNI (to measure or test that path). */
static int want_vnni(void)
{
    const char *v = getenv("MALSTM_HOST_VNNI");
    return !(v && strcmp(v, "0") == 0);
}

static void priv_free(jit_priv *pv)
{
    mal_jit_free(pv->image);
    for (int i = 0; i < pv->n; i++) {
        malcc_tables_free(&pv->tables[i]);
        for (int k = 0; k < 3; k++)
            malcc_host_matrix_free(pv->mats[i][k]);
    }
    free(pv);
}

static void *sym(mal_jit *img, const char *P, const char *what)
{
    char name[3 * MALCC_IDENT_MAX];
    snprintf(name, sizeof name, "%s_%s", P, what);
    return mal_jit_symbol_addr(img, name);
}

int malcc_jit_build(const mal_model *const *models, int n, const char *prefix, malcc_jit *j,
                    mal_error *e)
{
    memset(j, 0, sizeof *j);
    if (!prefix)
        prefix = "malstm";
    char pid[MALCC_IDENT_MAX + 1];
    if (malcc_ident(prefix, pid, sizeof pid) < 0 || strcmp(pid, prefix) != 0)
        return mal_error_set(e, "prefix '%.60s' is not a lower-case C identifier", prefix);
    if (malcc_check(models, n, e) < 0)
        return -1;
    const mal_model *sorted[MALCC_MAX_MODELS];
    char idents[MALCC_MAX_MODELS][MALCC_IDENT_MAX + 1];
    if (malcc_order(models, n, sorted, idents, e) < 0)
        return -1;
    jit_priv *pv = calloc(1, sizeof *pv);
    char *hs[MALCC_MAX_MODELS] = {0}, *cs[MALCC_MAX_MODELS + 1] = {0}, *eh = NULL;
    mal_jit_unit units[MALCC_MAX_MODELS + 1];
    mal_jit_symbol *syms = calloc((size_t)n * NSYM_PER_MODEL + 3, sizeof *syms);   /* + 3 host kernels */
    char (*names)[NSYM_PER_MODEL][3 * MALCC_IDENT_MAX] = calloc((size_t)n, sizeof *names);
    char (*unames)[MALCC_IDENT_MAX + 8] = calloc((size_t)n + 1, sizeof *unames);
    int rc = -1, nsym = 0;
    const int vnni = want_vnni();
    if (!pv || !syms || !names || !unames) {
        mal_error_set(e, "jit: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        malcc_tables *t = &pv->tables[i];
        if (malcc_tables_build(sorted[i], t, e) < 0)
            goto out;
        pv->n = i + 1;
        pv->mats[i][0] = malcc_host_matrix_new(t->wh1, t->H1, 4 * t->H1, vnni);
        pv->mats[i][1] = malcc_host_matrix_new(t->wx2, t->H1, 4 * t->H2, vnni);
        pv->mats[i][2] = malcc_host_matrix_new(t->wh2, t->H2, 4 * t->H2, vnni);
        if (!pv->mats[i][0] || !pv->mats[i][1] || !pv->mats[i][2]) {
            mal_error_set(e, "jit: %s: out of memory for the host's weight copies", sorted[i]->type);
            goto out;
        }
        if (malcc_render_model(sorted[i], t, prefix, idents[i], MALCC_JIT, NULL, NULL, &hs[i], &cs[i],
                               e) < 0)
            goto out;
        char P[2 * MALCC_IDENT_MAX + 2];
        snprintf(P, sizeof P, "%.48s_%.48s", prefix, idents[i]);
        const char *what[NSYM_PER_MODEL] = {"tok", "wh1", "swh1", "wx2", "swx2", "wh2", "swh2",
                                            "b2", "wd", "names", "name_ids", "kh1", "kx2", "kh2"};
        const void *addr[NSYM_PER_MODEL] = {t->tok,  t->wh1, t->swh1,        t->wx2,
                                            t->swx2, t->wh2, t->swh2,        t->b2,
                                            t->wd,   t->names, t->ids,       pv->mats[i][0],
                                            pv->mats[i][1], pv->mats[i][2]};
        for (int k = 0; k < NSYM_PER_MODEL; k++) {
            snprintf(names[i][k], sizeof names[i][k], "%s_%s", P, what[k]);
            syms[nsym].name = names[i][k];
            syms[nsym].addr = addr[k];
            nsym++;
        }
        snprintf(unames[i], sizeof unames[i], "%.48s.c", idents[i]);
        units[i].name = unames[i];
        units[i].text = cs[i];
        j->table_bytes += sizeof(float) * ((size_t)t->V * 4 * t->H1 + 4 * (size_t)t->H1 +
                                           3 * 4 * (size_t)t->H2 + (size_t)t->H2) +
                          (size_t)t->H1 * 4 * t->H1 + (size_t)t->H1 * 4 * t->H2 +
                          (size_t)t->H2 * 4 * t->H2 + (sizeof(char *) + 4) * (size_t)t->count;
        for (int k = 0; k < 3; k++)
            j->table_bytes += malcc_host_matrix_bytes(pv->mats[i][k]);
    }
    syms[nsym].name = "malcc_host_gates";
    syms[nsym].addr = (const void *)(size_t)&malcc_host_gates;
    nsym++;
    syms[nsym].name = "malcc_host_gates_many";
    syms[nsym].addr = (const void *)(size_t)&malcc_host_gates_many;
    nsym++;
    syms[nsym].name = "malcc_host_cell";
    syms[nsym].addr = (const void *)(size_t)&malcc_host_cell;
    nsym++;
    if (malcc_render_ensemble(sorted, idents, n, prefix, MALCC_JIT, NULL, NULL, hs, &eh, &cs[n], e) < 0)
        goto out;
    snprintf(unames[n], sizeof unames[n], "ensemble.c");
    units[n].name = unames[n];
    units[n].text = cs[n];
    for (int i = 0; i <= n; i++)
        j->source_bytes += strlen(cs[i]);
    if (mal_jit_compile(units, n + 1, syms, nsym, &pv->image, &j->compile_ms, &j->relocate_ms, e) < 0)
        goto out;
    j->code_bytes = mal_jit_code_size(pv->image);
    /* resolve every entry point */
    j->n = n;
    for (int i = 0; i < n; i++) {
        char P[2 * MALCC_IDENT_MAX + 2];
        snprintf(P, sizeof P, "%.48s_%.48s", prefix, idents[i]);
        malcc_jit_model *jm = &j->models[i];
        snprintf(jm->type, sizeof jm->type, "%s", sorted[i]->type);
        *(void **)&jm->init = sym(pv->image, P, "init");
        *(void **)&jm->step = sym(pv->image, P, "step");
        *(void **)&jm->step_name = sym(pv->image, P, "step_name");
        *(void **)&jm->score = sym(pv->image, P, "score");
        *(void **)&jm->window_init = sym(pv->image, P, "window_init");
        *(void **)&jm->window_step = sym(pv->image, P, "window_step");
        *(void **)&jm->window_prob = sym(pv->image, P, "window_prob");
        const size_t *sb = sym(pv->image, P, "state_bytes"), *wb = sym(pv->image, P, "window_bytes");
        jm->state_size = sb ? *sb : 0;
        jm->window_size = wb ? *wb : 0;
        if (!sb || !wb || !jm->init || !jm->step || !jm->step_name || !jm->score || !jm->window_init ||
            !jm->window_step || !jm->window_prob) {
            mal_error_set(e, "jit: %s: generated entry points missing", P);
            goto out;
        }
    }
    char E[MALCC_IDENT_MAX + 16];
    snprintf(E, sizeof E, "%s_ensemble", prefix);
    *(void **)&j->init = sym(pv->image, E, "init");
    *(void **)&j->step = sym(pv->image, E, "step");
    *(void **)&j->step_many = sym(pv->image, E, "step_many");
    *(void **)&j->step_name = sym(pv->image, E, "step_name");
    *(void **)&j->score = sym(pv->image, E, "score");
    const size_t *esb = sym(pv->image, E, "state_bytes");
    j->state_size = esb ? *esb : 0;
    if (!esb || !j->init || !j->step || !j->step_many || !j->step_name || !j->score) {
        mal_error_set(e, "jit: ensemble entry points missing");
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i <= n; i++)
        free(cs[i]);
    for (int i = 0; i < n; i++)
        free(hs[i]);
    free(eh), free(syms), free(names), free(unames);
    if (rc == 0) {
        j->priv = pv;
    } else if (pv) {
        priv_free(pv);
        memset(j, 0, sizeof *j);
    }
    return rc;
}

void malcc_jit_free(malcc_jit *j)
{
    if (!j || !j->priv)
        return;
    priv_free(j->priv);
    memset(j, 0, sizeof *j);
}
