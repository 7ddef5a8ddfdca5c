/* net.c - forward and backward through time of the two-layer LSTM on oneDNN
 * matmul primitives; elementwise gate code in C. See net.h. */
#include "net.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "act_fast.h"

/* ---- oneDNN matmul wrapper: C[M,N] = op(A)[M,K] * op(B)[K,N], f32 ---- */
typedef struct mm {
    dnnl_primitive_t p;
    dnnl_memory_t a, b, c;
} mm;

typedef struct priv {
    dnnl_engine_t eng;
    dnnl_stream_t st;
    /* layer 1: token table [V][4H1] = emb * wx1^T, so the input projection of
     * a step is a row lookup; its gradient goes through the table. */
    mm tab_f, tab_demb, tab_dwx;
    float *tab, *dtab;
    struct lay {
        int in, H;
        mm xp_f, hp_f, dh_b, dwh_b, dwx_b, dx_b;
        float *xp;   /* [T][N][4H]: pre-activations, then activated gates, then d gates */
        float *c, *a, *h;   /* [T][N][H]: cell, act(c), output */
        float *hp;   /* [N][4H] recurrent projection of one step */
        float *dh, *dhrec, *dc, *tmp;   /* [N][H] backward state */
    } l1, l2;
    int32_t *ids;   /* [T][N] time-major copy of the batch */
    int *len;       /* [N] real steps per row */
    int first;      /* first step at which any row is real */
    float *pooled;  /* [N][H2] */
    float *logit;   /* [N][O] */
    float *dz;      /* [N][O] d loss / d logit of the last backward */
    float *dh2;     /* [T][N][H2] gradient arriving at layer 2's outputs */
    float *dh1;     /* [T][N][H1] gradient arriving at layer 1's outputs */
    int dropped;    /* the last forward applied dropout (mt_net.dropout > 0) */
    float *m1, *h1d;   /* [T][N][H1] dropout's scale per value of layer 1's output, and that output
                          as layer 2 reads it (h1 * m1) */
    float *mp;         /* [N][H2] dropout's scale per value of the pooled vector */
    float *zero;    /* [N][max H] zeros */
    /* next-call prediction (mt_net_backward_lm), set up on its first use */
    mm lm_f, lm_dh, lm_dw;
    float *lmz;     /* [T][N][V]: logits, then d loss / d logit */
} priv;

static int dnnl_fail(mal_error *e, const char *what, dnnl_status_t s)
{
    return mal_error_set(e, "oneDNN: %s failed (status %d)", what, (int)s);
}

#define DN(call, what)                                   \
    do {                                                 \
        dnnl_status_t s_ = (call);                       \
        if (s_ != dnnl_success)                          \
            return dnnl_fail(e, what, s_);               \
    } while (0)

static int mm_init(priv *P, mm *m, int M, int K, int N, int ta, int tb, mal_error *e)
{
    dnnl_dims_t da = {M, K}, db = {K, N}, dc = {M, N};
    dnnl_memory_desc_t a, b, c;
    DN(dnnl_memory_desc_init_by_tag(&a, 2, da, dnnl_f32, ta ? dnnl_ba : dnnl_ab), "md");
    DN(dnnl_memory_desc_init_by_tag(&b, 2, db, dnnl_f32, tb ? dnnl_ba : dnnl_ab), "md");
    DN(dnnl_memory_desc_init_by_tag(&c, 2, dc, dnnl_f32, dnnl_ab), "md");
    dnnl_matmul_desc_t d;
    DN(dnnl_matmul_desc_init(&d, &a, &b, NULL, &c), "matmul desc");
    dnnl_primitive_desc_t pd;
    DN(dnnl_primitive_desc_create(&pd, &d, NULL, P->eng, NULL), "matmul pd");
    dnnl_status_t s = dnnl_primitive_create(&m->p, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success)
        return dnnl_fail(e, "matmul primitive", s);
    DN(dnnl_memory_create(&m->a, &a, P->eng, DNNL_MEMORY_NONE), "memory");
    DN(dnnl_memory_create(&m->b, &b, P->eng, DNNL_MEMORY_NONE), "memory");
    DN(dnnl_memory_create(&m->c, &c, P->eng, DNNL_MEMORY_NONE), "memory");
    return 0;
}

static void mm_free(mm *m)
{
    if (m->p)
        dnnl_primitive_destroy(m->p);
    if (m->a)
        dnnl_memory_destroy(m->a);
    if (m->b)
        dnnl_memory_destroy(m->b);
    if (m->c)
        dnnl_memory_destroy(m->c);
    memset(m, 0, sizeof *m);
}

/* Shapes are fixed at creation, so execution cannot fail short of memory
 * corruption; the status is still checked and reported. */
static int mm_run(priv *P, mm *m, const float *A, const float *B, float *C)
{
    dnnl_memory_set_data_handle(m->a, (void *)A);
    dnnl_memory_set_data_handle(m->b, (void *)B);
    dnnl_memory_set_data_handle(m->c, C);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, m->a}, {DNNL_ARG_WEIGHTS, m->b}, {DNNL_ARG_DST, m->c}};
    if (dnnl_primitive_execute(m->p, P->st, 3, args) != dnnl_success)
        return -1;
    return dnnl_stream_wait(P->st) == dnnl_success ? 0 : -1;
}

const char *mt_group_name(int g)
{
    static const char *const n[] = {"embedding", "l1.wx", "l1.wh", "l1.b", "l2.wx",
                                    "l2.wh",     "l2.b",  "dense.w", "dense.b"};
    return (g >= 0 && g < MT_NGROUPS) ? n[g] : "?";
}

void mt_set_threads(int threads)
{
    if (threads > 0)
        omp_set_num_threads(threads);
}

static float *fz(size_t n)
{
    return calloc(n ? n : 1, sizeof(float));
}

static int lay_init(priv *P, struct lay *L, int in, int H, int T, int N, int first, mal_error *e)
{
    int G = 4 * H;
    size_t tn = (size_t)T * N;
    L->in = in, L->H = H;
    L->xp = fz(tn * G), L->c = fz(tn * H), L->a = fz(tn * H), L->h = fz(tn * H);
    L->hp = fz((size_t)N * G);
    L->dh = fz((size_t)N * H), L->dhrec = fz((size_t)N * H), L->dc = fz((size_t)N * H);
    L->tmp = fz((size_t)N * G);
    if (!L->xp || !L->c || !L->a || !L->h || !L->hp || !L->dh || !L->dhrec || !L->dc || !L->tmp)
        return mal_error_set(e, "out of memory for the LSTM activations (T %d, N %d, H %d)", T, N, H);
    if (mm_init(P, &L->hp_f, N, H, G, 0, 1, e) < 0 ||      /* h[N,H] * Wh^T */
        mm_init(P, &L->dh_b, N, G, H, 0, 0, e) < 0)        /* dg[N,G] * Wh */
        return -1;
    if (T > 1 && mm_init(P, &L->dwh_b, G, (int)(tn - N), H, 1, 0, e) < 0)   /* dG^T * Hprev */
        return -1;
    if (!first) {
        if (mm_init(P, &L->xp_f, (int)tn, in, G, 0, 1, e) < 0 ||   /* X * Wx^T */
            mm_init(P, &L->dwx_b, G, (int)tn, in, 1, 0, e) < 0 ||  /* dG^T * X */
            mm_init(P, &L->dx_b, (int)tn, G, in, 0, 0, e) < 0)     /* dG * Wx */
            return -1;
    }
    return 0;
}

static void lay_free(struct lay *L)
{
    free(L->xp), free(L->c), free(L->a), free(L->h), free(L->hp);
    free(L->dh), free(L->dhrec), free(L->dc), free(L->tmp);
    mm_free(&L->xp_f), mm_free(&L->hp_f), mm_free(&L->dh_b);
    mm_free(&L->dwh_b), mm_free(&L->dwx_b), mm_free(&L->dx_b);
}

int mt_net_init(mt_net *n, const mt_shape *s, mal_error *e)
{
    memset(n, 0, sizeof *n);
    if (s->V < 1 || s->E < 1 || s->H1 < 1 || s->H2 < 1 || s->T < 1 || s->N < 1 ||
        s->V > MAL_VOCAB_MAX_SIZE || s->E > MAL_MAX_EMBED || s->H1 > MAL_MAX_HIDDEN ||
        s->H2 > MAL_MAX_HIDDEN || (size_t)s->T * (size_t)s->N > 100000000u)
        return mal_error_set(e, "network shape out of range (V %d E %d H %d/%d T %d N %d)", s->V,
                             s->E, s->H1, s->H2, s->T, s->N);
    if ((unsigned)s->act > MAL_ACT_SOFTMAX || (unsigned)s->pool > MAL_POOL_MEAN)
        return mal_error_set(e, "unknown activation or pooling");
    if (s->O < 0 || s->O > 64)
        return mal_error_set(e, "network outputs must be 1..64, got %d", s->O);
    n->s = *s;
    size_t O = (size_t)mt_net_outputs(n);
    size_t sz[MT_NGROUPS] = {
        (size_t)s->V * s->E,  4u * s->H1 * (size_t)s->E,  4u * s->H1 * (size_t)s->H1,
        4u * (size_t)s->H1,   4u * s->H2 * (size_t)s->H1, 4u * s->H2 * (size_t)s->H2,
        4u * (size_t)s->H2,   (size_t)s->H2 * O,           (size_t)O};
    n->off[0] = 0;
    for (int g = 0; g < MT_NGROUPS; g++)
        n->off[g + 1] = n->off[g] + sz[g];
    n->nparam = n->off[MT_NGROUPS];
    n->p = fz(n->nparam), n->g = fz(n->nparam);
    priv *P = calloc(1, sizeof *P);
    n->priv = P;
    if (!n->p || !n->g || !P) {
        mt_net_free(n);
        return mal_error_set(e, "out of memory for the network parameters");
    }
    int T = s->T, N = s->N, H1 = s->H1, H2 = s->H2, V = s->V, E = s->E;
    dnnl_status_t st = dnnl_engine_create(&P->eng, dnnl_cpu, 0);
    if (st == dnnl_success)
        st = dnnl_stream_create(&P->st, P->eng, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        mt_net_free(n);
        return dnnl_fail(e, "engine/stream creation", st);
    }
    size_t tn = (size_t)T * N, hmax = (size_t)(H1 > H2 ? H1 : H2);
    P->tab = fz((size_t)V * 4 * H1), P->dtab = fz((size_t)V * 4 * H1);
    P->ids = malloc(tn * sizeof *P->ids), P->len = calloc((size_t)N, sizeof *P->len);
    P->pooled = fz((size_t)N * H2), P->logit = fz((size_t)N * O), P->dz = fz((size_t)N * O);
    P->dh2 = fz(tn * H2), P->dh1 = fz(tn * H1), P->zero = fz((size_t)N * 4 * hmax);
    P->m1 = fz(tn * H1), P->h1d = fz(tn * H1), P->mp = fz((size_t)N * H2);
    if (!P->tab || !P->dtab || !P->ids || !P->len || !P->pooled || !P->logit || !P->dz || !P->dh2 ||
        !P->dh1 || !P->zero || !P->m1 || !P->h1d || !P->mp) {
        mt_net_free(n);
        return mal_error_set(e, "out of memory for the network buffers");
    }
    if (mm_init(P, &P->tab_f, V, E, 4 * H1, 0, 1, e) < 0 ||      /* emb * Wx1^T */
        mm_init(P, &P->tab_demb, V, 4 * H1, E, 0, 0, e) < 0 ||   /* dtab * Wx1 */
        mm_init(P, &P->tab_dwx, 4 * H1, V, E, 1, 0, e) < 0 ||    /* dtab^T * emb */
        lay_init(P, &P->l1, E, H1, T, N, 1, e) < 0 || lay_init(P, &P->l2, H1, H2, T, N, 0, e) < 0) {
        mt_net_free(n);
        return -1;
    }
    return 0;
}

void mt_net_free(mt_net *n)
{
    priv *P = n->priv;
    if (P) {
        lay_free(&P->l1), lay_free(&P->l2);
        mm_free(&P->tab_f), mm_free(&P->tab_demb), mm_free(&P->tab_dwx);
        free(P->tab), free(P->dtab), free(P->ids), free(P->len), free(P->pooled);
        free(P->logit), free(P->dz), free(P->dh2), free(P->dh1), free(P->zero);
        free(P->m1), free(P->h1d), free(P->mp);
        mm_free(&P->lm_f), mm_free(&P->lm_dh), mm_free(&P->lm_dw), free(P->lmz);
        if (P->st)
            dnnl_stream_destroy(P->st);
        if (P->eng)
            dnnl_engine_destroy(P->eng);
        free(P);
    }
    free(n->p), free(n->g);
    memset(n, 0, sizeof *n);
}

/* ---- PRNG ---- */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void mt_rng_seed(mt_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t mt_rng_next(mt_rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return res;
}

double mt_rng_uniform(mt_rng *r)
{
    return (double)(mt_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t mt_rng_below(mt_rng *r, uint64_t n)
{
    return n ? (uint64_t)(mt_rng_uniform(r) * (double)n) % n : 0;
}

double mt_rng_normal(mt_rng *r)
{
    double u1 = mt_rng_uniform(r), u2 = mt_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

/* ---- initialisation ---- */
static void glorot(mt_rng *r, float *w, size_t n, int fan_in, int fan_out)
{
    double lim = sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((2 * mt_rng_uniform(r) - 1) * lim);
}

/* Orthogonal [4H][H]: Gram-Schmidt (twice, for stability) on H random normal
 * columns of length 4H, computed in double. */
static void orthogonal(mt_rng *r, float *w, int H)
{
    int G = 4 * H;
    double *q = malloc(sizeof(double) * (size_t)G * H);   /* column j at q[j*G] */
    if (!q) {
        glorot(r, w, (size_t)G * H, H, G);
        return;
    }
    for (size_t i = 0; i < (size_t)G * H; i++)
        q[i] = mt_rng_normal(r);
    for (int j = 0; j < H; j++) {
        double *v = q + (size_t)j * G;
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < j; k++) {
                const double *u = q + (size_t)k * G;
                double d = 0;
                for (int i = 0; i < G; i++)
                    d += u[i] * v[i];
                for (int i = 0; i < G; i++)
                    v[i] -= d * u[i];
            }
        double nn = 0;
        for (int i = 0; i < G; i++)
            nn += v[i] * v[i];
        nn = sqrt(nn);
        for (int i = 0; i < G; i++)
            v[i] /= nn;
    }
    for (int g = 0; g < G; g++)
        for (int j = 0; j < H; j++)
            w[(size_t)g * H + j] = (float)q[(size_t)j * G + g];
    free(q);
}

void mt_net_init_params(mt_net *n, uint64_t seed)
{
    mt_rng r;
    mt_rng_seed(&r, seed);
    const mt_shape *s = &n->s;
    float *p = n->p;
    for (size_t i = n->off[MT_EMB]; i < n->off[MT_EMB + 1]; i++)
        p[i] = (float)((2 * mt_rng_uniform(&r) - 1) * 0.05);
    glorot(&r, p + n->off[MT_WX1], 4u * s->H1 * (size_t)s->E, s->E, 4 * s->H1);
    orthogonal(&r, p + n->off[MT_WH1], s->H1);
    glorot(&r, p + n->off[MT_WX2], 4u * s->H2 * (size_t)s->H1, s->H1, 4 * s->H2);
    orthogonal(&r, p + n->off[MT_WH2], s->H2);
    /* each head as its own Dense(1) */
    glorot(&r, p + n->off[MT_DW], n->off[MT_DW + 1] - n->off[MT_DW], s->H2, 1);
    float *b1 = p + n->off[MT_B1], *b2 = p + n->off[MT_B2];
    for (int j = 0; j < 4 * s->H1; j++)
        b1[j] = (j >= s->H1 && j < 2 * s->H1) ? 1.0f : 0.0f;
    for (int j = 0; j < 4 * s->H2; j++)
        b2[j] = (j >= s->H2 && j < 2 * s->H2) ? 1.0f : 0.0f;
    for (size_t i = n->off[MT_DB]; i < n->off[MT_DB + 1]; i++)
        p[i] = 0;
}

int mt_net_outputs(const mt_net *n)
{
    return n->s.O > 1 ? n->s.O : 1;
}

/* ---- activations (libm expf/tanhf, vectorised in act_fast.c) ---- */
/* y = act(x) over H units */
static void act_fwd(mal_act act, const float *x, float *y, int H)
{
    if (y != x && act != MAL_ACT_SOFTSIGN)
        memcpy(y, x, sizeof(float) * H);
    switch (act) {
    case MAL_ACT_TANH:
        mt_vtanh(y, H);
        break;
    case MAL_ACT_SIGMOID:
        mt_vsigm(y, H);
        break;
    case MAL_ACT_SOFTSIGN:
        for (int j = 0; j < H; j++)
            y[j] = x[j] / (1.0f + fabsf(x[j]));
        break;
    case MAL_ACT_SOFTMAX: {
        float mx = y[0];
        for (int j = 1; j < H; j++)
            mx = y[j] > mx ? y[j] : mx;
        float sum = mt_vexp_sum(y, mx, H);
        for (int j = 0; j < H; j++)
            y[j] /= sum;
        break;
    }
    }
}

/* dx = dy * act'(x), given y = act(x); dx may alias dy.
 *   tanh: 1 - y^2   sigmoid: y (1 - y)   softsign: 1/(1+|x|)^2 = (1 - |y|)^2
 *   softmax: dx_j = y_j (dy_j - sum_k dy_k y_k) (Jacobian diag(y) - y y^T) */
static void act_bwd(mal_act act, const float *y, const float *dy, float *dx, int H)
{
    switch (act) {
    case MAL_ACT_TANH:
        for (int j = 0; j < H; j++)
            dx[j] = dy[j] * (1.0f - y[j] * y[j]);
        break;
    case MAL_ACT_SIGMOID:
        for (int j = 0; j < H; j++)
            dx[j] = dy[j] * y[j] * (1.0f - y[j]);
        break;
    case MAL_ACT_SOFTSIGN:
        for (int j = 0; j < H; j++) {
            float q = 1.0f - fabsf(y[j]);
            dx[j] = dy[j] * q * q;
        }
        break;
    case MAL_ACT_SOFTMAX: {
        float dot = 0;
        for (int j = 0; j < H; j++)
            dot += dy[j] * y[j];
        for (int j = 0; j < H; j++)
            dx[j] = y[j] * (dy[j] - dot);
        break;
    }
    }
}

/* ---- one layer, forward over all steps ----
 * L->xp holds x_t Wx^T for every step on entry. Per step and row:
 *   z = xp + h_{t-1} Wh^T + b; i,f,o = sigm(z_i,f,o); g = act(z_g);
 *   c = f c_{t-1} + i g; a = act(c); h = o a.
 * Masked (padded) steps copy c and h from the previous step. */
static int lay_fwd(priv *P, struct lay *L, const float *b, const float *wh, mal_act act, int T,
                   int N)
{
    int H = L->H, G = 4 * H;
    for (int t = 0; t < T; t++) {
        const float *hprev = t ? L->h + (size_t)(t - 1) * N * H : P->zero;
        const float *cprev = t ? L->c + (size_t)(t - 1) * N * H : P->zero;
        const float *hp = P->zero;
        if (t > P->first) {   /* before that every row's state is zero */
            if (mm_run(P, &L->hp_f, hprev, wh, L->hp) < 0)
                return -1;
            hp = L->hp;
        }
        for (int n = 0; n < N; n++) {
            size_t r = (size_t)t * N + n;
            float *z = L->xp + r * G, *c = L->c + r * H, *a = L->a + r * H, *h = L->h + r * H;
            const float *cp = cprev + (size_t)n * H, *hq = hp + (size_t)n * G;
            if (P->ids[r] < 0) {
                memcpy(c, cp, sizeof(float) * H);
                memcpy(h, hprev + (size_t)n * H, sizeof(float) * H);
                memset(a, 0, sizeof(float) * H);
                continue;
            }
            for (int j = 0; j < G; j++)
                z[j] += hq[j] + b[j];
            mt_vsigm(z, 2 * H);   /* i, f */
            mt_vsigm(z + 3 * H, H);   /* o */
            act_fwd(act, z + 2 * H, z + 2 * H, H);
            for (int j = 0; j < H; j++)
                c[j] = z[H + j] * cp[j] + z[j] * z[2 * H + j];
            act_fwd(act, c, a, H);
            for (int j = 0; j < H; j++)
                h[j] = z[3 * H + j] * a[j];
        }
    }
    return 0;
}

/* ---- one layer, backward through time ----
 * dhout[T][N][H]: gradient of the loss w.r.t. the layer's outputs h_t from
 * above. Walking t = T-1 .. 0 with dh = dhout_t + (recurrent part from t+1)
 * and dc from t+1 (dc_next):
 *   o:  h = o a          -> dz_o = dh a * o (1 - o)
 *   c:  a = act(c)       -> dc = dc_next + act'(c) (dh o)
 *   i:  c = f c' + i g   -> dz_i = dc g * i (1 - i)
 *   g:                   -> dz_g = act'(z_g) (dc i)
 *   f:                   -> dz_f = dc c' * f (1 - f)
 *   c':                  -> dc_next(t-1) = dc f
 *   h': z = .. + h' Wh^T -> dh_rec(t-1) = dz Wh
 * Masked steps: dz = 0, dh and dc pass through to t-1 unchanged.
 * The d gates overwrite L->xp (the activated gates of step t are not needed
 * after step t). */
static int lay_bwd(priv *P, struct lay *L, const float *dhout, const float *wh, mal_act act, int T,
                   int N)
{
    int H = L->H, G = 4 * H;
    memset(L->dhrec, 0, sizeof(float) * (size_t)N * H);
    memset(L->dc, 0, sizeof(float) * (size_t)N * H);
    float *da = L->tmp, *gk = L->tmp + H;   /* [H] scratch each */
    for (int t = T - 1; t >= 0; t--) {
        const float *cprev = t ? L->c + (size_t)(t - 1) * N * H : P->zero;
        for (int n = 0; n < N; n++) {
            size_t r = (size_t)t * N + n;
            float *dh = L->dh + (size_t)n * H, *dc = L->dc + (size_t)n * H;
            const float *dho = dhout + r * H, *dhr = L->dhrec + (size_t)n * H;
            for (int j = 0; j < H; j++)
                dh[j] = dho[j] + dhr[j];
            float *z = L->xp + r * G;
            if (P->ids[r] < 0) {
                memset(z, 0, sizeof(float) * G);
                continue;
            }
            const float *a = L->a + r * H, *cp = cprev + (size_t)n * H;
            float *zi = z, *zf = z + H, *zg = z + 2 * H, *zo = z + 3 * H;
            for (int j = 0; j < H; j++)
                da[j] = dh[j] * zo[j];
            act_bwd(act, a, da, da, H);   /* da := act'(c) (dh o) */
            memcpy(gk, zg, sizeof(float) * H);
            for (int j = 0; j < H; j++) {
                float i = zi[j], f = zf[j], g = zg[j], o = zo[j];
                float dcj = dc[j] + da[j];
                zo[j] = dh[j] * a[j] * o * (1.0f - o);
                zi[j] = dcj * g * i * (1.0f - i);
                zf[j] = dcj * cp[j] * f * (1.0f - f);
                zg[j] = dcj * i;   /* dL/dg, through act' below */
                dc[j] = dcj * f;
            }
            act_bwd(act, gk, zg, zg, H);
        }
        if (t > 0) {
            if (mm_run(P, &L->dh_b, L->xp + (size_t)t * N * G, wh, L->dhrec) < 0)
                return -1;
            for (int n = 0; n < N; n++)
                if (P->ids[(size_t)t * N + n] < 0)
                    memcpy(L->dhrec + (size_t)n * H, L->dh + (size_t)n * H, sizeof(float) * H);
        }
    }
    return 0;
}

/* Inverted dropout's masks from n->drop_seed (the kept values scaled by
 * 1 / (1 - p), so the weights serve as they are when it is off), and layer
 * 1's output as layer 2 reads it: h1d = h1 * m1. */
static void draw_dropout(mt_net *n)
{
    priv *P = n->priv;
    const mt_shape *s = &n->s;
    mt_rng r;
    mt_rng_seed(&r, n->drop_seed);
    float keep = 1.0f / (1.0f - n->dropout);
    for (size_t i = 0; i < (size_t)s->T * s->N * s->H1; i++) {
        P->m1[i] = mt_rng_uniform(&r) < n->dropout ? 0.0f : keep;
        P->h1d[i] = P->l1.h[i] * P->m1[i];
    }
    for (size_t i = 0; i < (size_t)s->N * s->H2; i++)
        P->mp[i] = mt_rng_uniform(&r) < n->dropout ? 0.0f : keep;
}

int mt_net_forward(mt_net *n, const int32_t *ids, float *logits, mal_error *e)
{
    priv *P = n->priv;
    const mt_shape *s = &n->s;
    int T = s->T, N = s->N, H1 = s->H1, H2 = s->H2, G1 = 4 * H1, O = mt_net_outputs(n);
    P->first = T;
    for (int r = 0; r < N; r++) {
        P->len[r] = 0;
        for (int t = 0; t < T; t++) {
            int32_t id = ids[(size_t)r * T + t];
            if (id < -1 || id >= s->V)
                return mal_error_set(e, "token id %ld out of range (vocabulary %d) at row %d step %d",
                                     (long)id, s->V, r, t);
            P->ids[(size_t)t * N + r] = id;
            if (id >= 0) {
                if (!P->len[r] && t < P->first)
                    P->first = t;
                P->len[r]++;
            }
        }
    }
    const float *p = n->p;
    if (mm_run(P, &P->tab_f, p + n->off[MT_EMB], p + n->off[MT_WX1], P->tab) < 0)
        return mal_error_set(e, "oneDNN: matmul failed");
    for (size_t r = 0; r < (size_t)T * N; r++) {
        float *z = P->l1.xp + r * G1;
        if (P->ids[r] >= 0)
            memcpy(z, P->tab + (size_t)P->ids[r] * G1, sizeof(float) * G1);
        else
            memset(z, 0, sizeof(float) * G1);
    }
    if (lay_fwd(P, &P->l1, p + n->off[MT_B1], p + n->off[MT_WH1], s->act, T, N) < 0)
        return mal_error_set(e, "oneDNN: matmul failed");
    P->dropped = n->dropout > 0;
    if (P->dropped)
        draw_dropout(n);
    if (mm_run(P, &P->l2.xp_f, P->dropped ? P->h1d : P->l1.h, p + n->off[MT_WX2], P->l2.xp) < 0 ||
        lay_fwd(P, &P->l2, p + n->off[MT_B2], p + n->off[MT_WH2], s->act, T, N) < 0)
        return mal_error_set(e, "oneDNN: matmul failed");
    const float *dw = p + n->off[MT_DW];
    for (int r = 0; r < N; r++) {
        float *pool = P->pooled + (size_t)r * H2;
        if (s->pool == MAL_POOL_LAST) {
            /* masked steps carry the state, so step T-1 holds the last real h */
            memcpy(pool, P->l2.h + ((size_t)(T - 1) * N + r) * H2, sizeof(float) * H2);
        } else {
            memset(pool, 0, sizeof(float) * H2);
            for (int t = 0; t < T; t++)
                if (P->ids[(size_t)t * N + r] >= 0) {
                    const float *h = P->l2.h + ((size_t)t * N + r) * H2;
                    for (int j = 0; j < H2; j++)
                        pool[j] += h[j];
                }
            if (P->len[r])
                for (int j = 0; j < H2; j++)
                    pool[j] /= (float)P->len[r];
        }
        if (P->dropped)
            for (int j = 0; j < H2; j++)
                pool[j] *= P->mp[(size_t)r * H2 + j];
        for (int o = 0; o < O; o++) {
            const float *w = dw + (size_t)o * H2;
            float z = 0;
            for (int j = 0; j < H2; j++)
                z += w[j] * pool[j];
            P->logit[(size_t)r * O + o] = z + p[n->off[MT_DB] + o];
        }
    }
    if (logits)
        memcpy(logits, P->logit, sizeof(float) * (size_t)N * O);
    return 0;
}

/* dWh = sum_t dz_t^T h_{t-1}, dWx = sum_t dz_t^T x_t, db = sum_t dz_t */
static int lay_wgrad(priv *P, struct lay *L, const float *x, float *dwx, float *dwh, float *db,
                     int T, int N)
{
    int H = L->H, G = 4 * H;
    if (T > 1) {
        if (mm_run(P, &L->dwh_b, L->xp + (size_t)N * G, L->h, dwh) < 0)
            return -1;
    } else {
        memset(dwh, 0, sizeof(float) * (size_t)G * H);
    }
    if (x && mm_run(P, &L->dwx_b, L->xp, x, dwx) < 0)
        return -1;
    memset(db, 0, sizeof(float) * G);
    for (size_t r = 0; r < (size_t)T * N; r++) {
        const float *z = L->xp + r * G;
        for (int j = 0; j < G; j++)
            db[j] += z[j];
    }
    return 0;
}

/* bce(y, sigm(z)) = max(z,0) - z y + log(1 + exp(-|z|)); d/dz = sigm(z) - y */
static double bce_logit(double z, double y)
{
    return (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
}

/* d loss / d logit per logit (N of them) into P->dz; returns the loss. A bag's rows are
 * consecutive and share one label and weight (its first row's): its loss is
 * taken on the mean of their logits, each row getting 1/K of the gradient. */
static double loss_grad(priv *P, int N, const float *y, const float *w, const int *bag, double denom)
{
    double loss = 0;
    for (int r = 0; r < N;) {
        int k = 1;
        if (bag)
            while (r + k < N && bag[r + k] == bag[r])
                k++;
        double z = 0;
        for (int i = r; i < r + k; i++)
            z += P->logit[i];
        z /= k;
        double yy = y[r];
        loss += w[r] * bce_logit(z, yy) / denom;
        float dz = (float)(w[r] * (1.0 / (1.0 + exp(-z)) - yy) / denom / k);
        for (int i = r; i < r + k; i++)
            P->dz[i] = dz;
        r += k;
    }
    return loss;
}

/* Softmax cross-entropy over each row's O logits: loss w * -log softmax(z)[c]
 * / denom with c the row's one-hot class in y and w its weight (the row's
 * first), dz = w (softmax(z) - y) / denom. */
static double loss_grad_softmax(priv *P, int N, int O, const float *y, const float *w, double denom)
{
    double loss = 0;
    for (int r = 0; r < N; r++) {
        const float *z = P->logit + (size_t)r * O, *yr = y + (size_t)r * O;
        float *dz = P->dz + (size_t)r * O;
        double wr = w[(size_t)r * O], mx = z[0], sum = 0, zc = 0;
        for (int o = 1; o < O; o++)
            mx = z[o] > mx ? z[o] : mx;
        for (int o = 0; o < O; o++) {
            sum += exp(z[o] - mx);
            zc += yr[o] * z[o];
        }
        double lse = mx + log(sum);
        loss += wr * (lse - zc) / denom;
        for (int o = 0; o < O; o++)
            dz[o] = (float)(wr * (exp(z[o] - lse) - yr[o]) / denom);
    }
    return loss;
}

static double backward(mt_net *n, const float *y, const float *w, const int *bag, double denom,
                       int softmax);
static int backward_layers(mt_net *n);

double mt_net_backward(mt_net *n, const float *y, const float *w, double denom)
{
    return backward(n, y, w, NULL, denom, 0);
}

double mt_net_backward_bags(mt_net *n, const float *y, const float *w, const int *bag, double denom)
{
    return backward(n, y, w, bag, denom, 0);
}

double mt_net_backward_softmax(mt_net *n, const float *y, const float *w, double denom)
{
    return backward(n, y, w, NULL, denom, 1);
}

static double backward(mt_net *n, const float *y, const float *w, const int *bag, double denom,
                       int softmax)
{
    priv *P = n->priv;
    const mt_shape *s = &n->s;
    int T = s->T, N = s->N, H2 = s->H2, O = mt_net_outputs(n);
    if ((bag && O > 1) || (softmax && O < 2))
        return NAN;
    const float *p = n->p;
    float *g = n->g;
    memset(g, 0, sizeof(float) * n->nparam);
    memset(P->dh2, 0, sizeof(float) * (size_t)T * N * H2);
    const float *dw = p + n->off[MT_DW];
    float *gdw = g + n->off[MT_DW];
    double gdb[64] = {0};   /* O <= 64 (mt_net_init) */
    /* without bags, every (row, head) logit is its own term */
    double loss = softmax ? loss_grad_softmax(P, N, O, y, w, denom)
                          : loss_grad(P, bag ? N : N * O, y, w, bag, denom);
    for (int r = 0; r < N; r++) {
        int live = 0;
        for (int o = 0; o < O; o++)
            live |= w[(size_t)r * O + o] != 0;
        if (!live)
            continue;
        /* d pooled = sum over heads of (dz, or dz / len under mean pooling) * w */
        const float *pool = P->pooled + (size_t)r * H2;
        float dp[MAL_MAX_HIDDEN];   /* H2 <= MAL_MAX_HIDDEN (mt_net_init) */
        memset(dp, 0, sizeof(float) * H2);
        for (int o = 0; o < O; o++) {
            float dz = P->dz[(size_t)r * O + o];
            float sc = s->pool == MAL_POOL_LAST || !P->len[r] ? dz : dz / (float)P->len[r];
            const float *wo = dw + (size_t)o * H2;
            float *go = gdw + (size_t)o * H2;
            gdb[o] += dz;
            for (int j = 0; j < H2; j++) {
                go[j] += dz * pool[j];
                dp[j] += sc * wo[j];
            }
        }
        if (P->dropped)   /* the dense layer read the pooled vector times its mask */
            for (int j = 0; j < H2; j++)
                dp[j] *= P->mp[(size_t)r * H2 + j];
        if (s->pool == MAL_POOL_LAST) {
            memcpy(P->dh2 + ((size_t)(T - 1) * N + r) * H2, dp, sizeof(float) * H2);
        } else if (P->len[r]) {
            for (int t = 0; t < T; t++)
                if (P->ids[(size_t)t * N + r] >= 0)
                    memcpy(P->dh2 + ((size_t)t * N + r) * H2, dp, sizeof(float) * H2);
        }
    }
    for (int o = 0; o < O; o++)
        g[n->off[MT_DB] + o] = (float)gdb[o];
    return backward_layers(n) < 0 ? NAN : loss;
}

/* Backward from P->dh2 (the gradient at layer 2's outputs, every step) down
 * to the embedding, into n->g (its dense groups already set). */
static int backward_layers(mt_net *n)
{
    priv *P = n->priv;
    const mt_shape *s = &n->s;
    int T = s->T, N = s->N, H1 = s->H1, G1 = 4 * H1;
    const float *p = n->p;
    float *g = n->g;
    if (lay_bwd(P, &P->l2, P->dh2, p + n->off[MT_WH2], s->act, T, N) < 0 ||
        lay_wgrad(P, &P->l2, P->dropped ? P->h1d : P->l1.h, g + n->off[MT_WX2],
                  g + n->off[MT_WH2], g + n->off[MT_B2], T, N) < 0 ||
        mm_run(P, &P->l2.dx_b, P->l2.xp, p + n->off[MT_WX2], P->dh1) < 0)
        return -1;
    if (P->dropped)   /* layer 2 read layer 1's output times its mask */
        for (size_t i = 0; i < (size_t)T * N * H1; i++)
            P->dh1[i] *= P->m1[i];
    if (lay_bwd(P, &P->l1, P->dh1, p + n->off[MT_WH1], s->act, T, N) < 0 ||
        lay_wgrad(P, &P->l1, NULL, NULL, g + n->off[MT_WH1], g + n->off[MT_B1], T, N) < 0)
        return -1;
    /* layer 1's input projection is a table lookup: scatter its d gates per
     * token, then dWx1 = dtab^T emb and demb = dtab Wx1 */
    memset(P->dtab, 0, sizeof(float) * (size_t)s->V * G1);
    for (size_t r = 0; r < (size_t)T * N; r++) {
        if (P->ids[r] < 0)
            continue;
        float *d = P->dtab + (size_t)P->ids[r] * G1;
        const float *z = P->l1.xp + r * G1;
        for (int j = 0; j < G1; j++)
            d[j] += z[j];
    }
    if (mm_run(P, &P->tab_dwx, P->dtab, p + n->off[MT_EMB], g + n->off[MT_WX1]) < 0 ||
        mm_run(P, &P->tab_demb, P->dtab, p + n->off[MT_WX1], g + n->off[MT_EMB]) < 0)
        return -1;
    return 0;
}

/* The target of time-major step i (of tn, N rows): the same row's next
 * call when both steps are real (the padding is in front), else -1. */
static int32_t next_call(const priv *P, size_t i, size_t tn, int N)
{
    return i + N < tn && P->ids[i] >= 0 ? P->ids[i + N] : -1;
}

double mt_net_backward_lm(mt_net *n, const float *lm, float *glm, mal_error *e)
{
    priv *P = n->priv;
    const mt_shape *s = &n->s;
    int T = s->T, N = s->N, H2 = s->H2, V = s->V;
    size_t tn = (size_t)T * N;
    if (!P->lmz) {   /* first use: [T N][V] logits and three matmuls */
        P->lmz = fz(tn * V);
        if (!P->lmz) {
            mal_error_set(e, "out of memory for next-call logits (%zu x %d)", tn, V);
            return NAN;
        }
        if (mm_init(P, &P->lm_f, (int)tn, H2, V, 0, 1, e) < 0 ||    /* h2 * Wlm^T */
            mm_init(P, &P->lm_dh, (int)tn, V, H2, 0, 0, e) < 0 ||   /* dZ * Wlm */
            mm_init(P, &P->lm_dw, V, (int)tn, H2, 1, 0, e) < 0) {   /* dZ^T * h2 */
            mm_free(&P->lm_f), mm_free(&P->lm_dh), mm_free(&P->lm_dw);
            free(P->lmz), P->lmz = NULL;
            return NAN;
        }
    }
    const float *lmb = lm + (size_t)V * H2;
    if (mm_run(P, &P->lm_f, P->l2.h, lm, P->lmz) < 0) {
        mal_error_set(e, "oneDNN: matmul failed");
        return NAN;
    }
    long count = 0;
    for (size_t i = 0; i < tn; i++)
        count += next_call(P, i, tn, N) >= 0;
    double loss = 0;
    for (size_t i = 0; i < tn; i++) {
        float *z = P->lmz + i * V;
        int32_t next = next_call(P, i, tn, N);
        if (next < 0) {
            memset(z, 0, sizeof(float) * V);
            continue;
        }
        double mx = z[0], sum = 0;
        for (int v = 0; v < V; v++)
            z[v] += lmb[v], mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++)
            sum += exp(z[v] - mx);
        double lse = mx + log(sum);
        loss += lse - z[next];
        for (int v = 0; v < V; v++)
            z[v] = (float)(exp(z[v] - lse) / count);
        z[next] -= 1.0f / (float)count;
    }
    if (!glm)   /* the loss only */
        return count ? loss / count : 0;
    memset(n->g, 0, sizeof(float) * n->nparam);
    memset(glm + (size_t)V * H2, 0, sizeof(float) * V);
    for (size_t i = 0; i < tn; i++)
        for (int v = 0; v < V; v++)
            glm[(size_t)V * H2 + v] += P->lmz[i * V + v];
    if (mm_run(P, &P->lm_dh, P->lmz, lm, P->dh2) < 0 || mm_run(P, &P->lm_dw, P->lmz, P->l2.h, glm) < 0 ||
        backward_layers(n) < 0) {
        mal_error_set(e, "oneDNN: matmul failed");
        return NAN;
    }
    return count ? loss / count : 0;
}

static const float *model_group(const mal_model *m, int g)
{
    switch (g) {
    case MT_EMB: return m->embedding;
    case MT_WX1: return m->l1.wx;
    case MT_WH1: return m->l1.wh;
    case MT_B1: return m->l1.b;
    case MT_WX2: return m->l2.wx;
    case MT_WH2: return m->l2.wh;
    case MT_B2: return m->l2.b;
    case MT_DW: return m->dense_w;
    default: return &m->dense_b;
    }
}

static int shape_matches(const mt_net *n, const mal_model *m, mal_error *e)
{
    const mt_shape *s = &n->s;
    if (m->vocab.size != s->V || m->embed != s->E || m->l1.hidden != s->H1 || m->l2.hidden != s->H2 ||
        m->l1.in != s->E || m->l2.in != s->H1)
        return mal_error_set(e, "model '%s' shape (V %d E %d H %d/%d) differs from the network's "
                             "(V %d E %d H %d/%d)", m->type, m->vocab.size, m->embed, m->l1.hidden,
                             m->l2.hidden, s->V, s->E, s->H1, s->H2);
    return 0;
}

int mt_net_head_to_model(const mt_net *n, int o, mal_model *m, mal_error *e)
{
    if (shape_matches(n, m, e) < 0)
        return -1;
    if (o < 0 || o >= mt_net_outputs(n))
        return mal_error_set(e, "head %d of a network of %d outputs", o, mt_net_outputs(n));
    for (int g = 0; g < MT_DW; g++)
        memcpy((float *)model_group(m, g), n->p + n->off[g], sizeof(float) * (n->off[g + 1] - n->off[g]));
    int H2 = n->s.H2;
    memcpy((float *)model_group(m, MT_DW), n->p + n->off[MT_DW] + (size_t)o * H2, sizeof(float) * H2);
    m->dense_b = n->p[n->off[MT_DB] + o];
    m->act = n->s.act;
    m->pool = n->s.pool;
    return 0;
}

int mt_net_to_model(const mt_net *n, mal_model *m, mal_error *e)
{
    if (mt_net_outputs(n) != 1)
        return mal_error_set(e, "a network of %d outputs is %d models (mt_net_head_to_model)",
                             mt_net_outputs(n), mt_net_outputs(n));
    return mt_net_head_to_model(n, 0, m, e);
}

int mt_net_from_model(mt_net *n, const mal_model *m, mal_error *e)
{
    if (shape_matches(n, m, e) < 0)
        return -1;
    if (mt_net_outputs(n) != 1)
        return mal_error_set(e, "model '%s' has one output, the network %d", m->type, mt_net_outputs(n));
    if (m->act != n->s.act || m->pool != n->s.pool)
        return mal_error_set(e, "model '%s' activation/pooling differ from the network's", m->type);
    for (int g = 0; g < MT_NGROUPS; g++)
        memcpy(n->p + n->off[g], model_group(m, g), sizeof(float) * (n->off[g + 1] - n->off[g]));
    return 0;
}

int mt_adam_init(mt_adam *a, size_t nparam, mal_error *e)
{
    a->lr = 1e-3f, a->b1 = 0.9f, a->b2 = 0.999f, a->eps = 1e-7f, a->step = 0;
    a->m = fz(nparam), a->v = fz(nparam);
    if (!a->m || !a->v) {
        mt_adam_free(a);
        return mal_error_set(e, "out of memory for the optimiser state");
    }
    return 0;
}

/* Keras Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps) */
void mt_adam_update(mt_adam *a, float *p, const float *g, size_t nparam)
{
    a->step++;
    float lr_t = (float)(a->lr * sqrt(1.0 - pow(a->b2, (double)a->step)) /
                         (1.0 - pow(a->b1, (double)a->step)));
    float b1 = a->b1, b2 = a->b2, eps = a->eps;
    for (size_t i = 0; i < nparam; i++) {
        a->m[i] = b1 * a->m[i] + (1 - b1) * g[i];
        a->v[i] = b2 * a->v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= lr_t * a->m[i] / (sqrtf(a->v[i]) + eps);
    }
}

void mt_adam_free(mt_adam *a)
{
    free(a->m), free(a->v);
    a->m = a->v = NULL;
}
