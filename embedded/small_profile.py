#!/usr/bin/env python3
"""small_profile.py - the small (flash-lean) profile of malcc's output.

    small_profile.py GEN_DIR OUT_DIR MODEL.json...

malcc (issue 5) folds Embedding + the first layer's input weights + bias into
one float table per token: V x 4H floats = 342 x 400 x 4 = 547 KB per model,
fast (no work per token) but too big for eight models in a 2 MB part. Until
malcc offers this itself (`--target cortex-m`, issue 7), this script derives
the small profile from malcc's standalone output and the model files: the
folded table is replaced by the unfolded int8 embedding and an int8 input
matrix, both with per-row scales (about 12 KB instead of 547 KB), and the one
place that reads the table is pointed at a function computing that row entry:

    emb_q[v][e] = round(127 emb[v][e] / m_v),    se[v] = m_v / 127, m_v = max_e |emb[v][e]|
    wx1_q[r][e] = round(127 W_x1[r][e] / m_r),   sx[r] = m_r / 127, m_r = max_e |W_x1[r][e]|
    pre-activation r of token v = b1[r] + (sx[r] * se[v]) * sum_e wx1_q[r][e] * emb_q[v][e]

The int8 x int8 -> int32 sum is exact and every float operation is written
out in a fixed order, so the host and the board still agree bit for bit; the
scores differ slightly from the fast profile (one more quantisation).

Everything else in the generated sources is copied unchanged. The rewrite
checks the exact text it replaces and fails loudly if malcc's output changed
shape (then this script needs updating, or malcc has the profile itself).
"""
import json
import math
import os
import re
import shutil
import struct
import sys


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def cfloat(x):
    x = f32(x)
    if x == 0.0:
        return "0.0f"
    return float.hex(x) + "f"


def q8(row):
    m = max(abs(v) for v in row)
    if m == 0.0:
        return [0] * len(row), 0.0
    q = []
    for v in row:
        t = 127.0 * v / m
        q.append(int(math.floor(t + 0.5)) if t >= 0 else -int(math.floor(-t + 0.5)))
    return q, f32(m / 127.0)


def table_i8(name, rows, comment=None):
    out = ["static const int8_t %s[%d][%d] = {" % (name, len(rows), len(rows[0]))]
    for i, r in enumerate(rows):
        out.append("    {%s},%s" % (", ".join(map(str, r)), (" /* %s */" % comment[i]) if comment else ""))
    out.append("};")
    return out


def table_f(name, vals):
    out = ["static const float %s[%d] = {" % (name, len(vals))]
    for k in range(0, len(vals), 6):
        out.append("    " + ", ".join(cfloat(v) for v in vals[k:k + 6]) + ",")
    out.append("};")
    return out


def rewrite(path, model):
    with open(path) as f:
        text = f.read()
    m = re.search(r"^static const float (\w+)_tok\[(\d+)\]\[(\d+)\] = \{\n", text, re.M)
    if not m:
        sys.exit("small_profile: %s: no folded token table (malcc output changed?)" % path)
    p, V, G1 = m.group(1), int(m.group(2)), int(m.group(3))
    end = text.find("\n};\n", m.end())
    if end < 0:
        sys.exit("small_profile: %s: unterminated token table" % path)
    use = "%s_tok[id][r]" % p
    if text.count(use) != 1 or text.count("%s_tok[" % p) != 2:
        sys.exit("small_profile: %s: expected one use '%s' of the table" % (path, use))

    w = model["weights"]
    E = model["architecture"]["embed"]
    emb = w["embedding"]["data"]
    wx = w["lstm1"]["wx"]["data"]
    b1 = w["lstm1"]["b"]["data"]
    if w["embedding"]["shape"] != [V, E] or w["lstm1"]["wx"]["shape"] != [G1, E] or len(b1) != G1:
        sys.exit("small_profile: %s: model shapes do not match the generated table" % path)
    eq, es = zip(*(q8(emb[v * E:(v + 1) * E]) for v in range(V)))
    wq, ws = zip(*(q8(wx[r * E:(r + 1) * E]) for r in range(G1)))
    names = [n if n else "(unused)" for n in model["vocabulary"]["names"]]
    names = [re.sub(r"[^a-z0-9_()]", "_", n) for n in names]

    new = [
        "/* Small profile (embedded/small_profile.py): the folded float table",
        " * tok[V][4H1] is replaced by the int8 embedding and layer-1 input matrix,",
        " * per-row scales, and tok_at() computes an entry when it is needed:",
        " *   tok_at(v, r) = b1[r] + (sx[r] * se[v]) * sum_e wx1[r][e] * emb[v][e] */",
    ]
    new += table_i8(p + "_emb", eq, names)
    new += table_f(p + "_se", es)
    new += table_i8(p + "_wx1", wq)
    new += table_f(p + "_sx", ws)
    new += table_f(p + "_b1", b1)
    new += [
        "static float %s_tok_at(int id, int r)" % p,
        "{",
        "    const int8_t *x = %s_emb[id], *w = %s_wx1[r];" % (p, p),
        "    int32_t acc = 0;",
        "    int e;",
        "    for (e = 0; e < %d; e++)" % E,
        "        acc += (int32_t)w[e] * (int32_t)x[e];",
        "    return %s_b1[r] + (%s_sx[r] * %s_se[id]) * (float)acc;" % (p, p, p),
        "}",
    ]
    text = text[:m.start()] + "\n".join(new) + text[end + 3:]
    text = text.replace(use, "%s_tok_at(id, r)" % p)
    banner = ("/* SMALL PROFILE: derived from malcc's output by embedded/small_profile.py\n"
              " * (token table unfolded to int8 embedding + int8 input matrix). */\n")
    with open(path, "w") as f:
        f.write(banner + text)


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: small_profile.py GEN_DIR OUT_DIR MODEL.json...")
    gen, out, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    models = {}
    for mp in paths:
        with open(mp) as f:
            m = json.load(f)
        models[m["type"]] = m
    if os.path.exists(out):
        shutil.rmtree(out)
    shutil.copytree(gen, out)
    done = 0
    for fn in sorted(os.listdir(out)):
        if not fn.endswith(".c") or fn in ("ensemble.c", "main.c"):
            continue
        with open(os.path.join(out, fn)) as f:
            head = f.read(4096)
        t = re.search(r"model: type ([A-Za-z0-9_-]+),", head)
        if not t or t.group(1) not in models:
            sys.exit("small_profile: %s: no model file given for its type" % fn)
        rewrite(os.path.join(out, fn), models[t.group(1)])
        done += 1
    if done != len(models):
        sys.exit("small_profile: %d generated models, %d model files" % (done, len(models)))
    print("small_profile: %d models -> %s" % (done, out))


if __name__ == "__main__":
    main()
