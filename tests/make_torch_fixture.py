#!/usr/bin/python3
"""Independent expected values for the C reference forward pass (tests/test_reference.c).

Run with Debian's python3 (it has torch):  /usr/bin/python3 tests/make_torch_fixture.py

For each cell activation it builds a random model of the paper's shape (smaller hidden sizes to
keep the files small), writes it in the model file format v1 (docs/model-format.md) with its own
writer, and computes the expected scores of several traces in float64 with PyTorch:
  - tanh: torch.nn.LSTM (two biases b_ih + b_hh; their sum is the file's single bias; torch's
    gate order i, f, g, o is the file's order);
  - sigmoid, softsign, softmax: a hand-written cell, itself checked against torch.nn.LSTM with tanh.
The scoring rule (dedup, last window or strided windows, mean/max) is implemented here again from
the text of docs/model-format.md, so the C scorer is checked against a second implementation.

Outputs: tests/fixtures/torch_<act>.model.json (the model) and tests/fixtures/torch_<act>.json
(the cases: ids, expected probability of the whole trace, logits of each scored window).
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VOCAB = os.path.join(ROOT, "data", "mal-api-2019-sample", "api_index.txt")
OUT = os.path.join(HERE, "fixtures")

E, H1, H2 = 16, 24, 20
DENSE_SCALE = {"tanh": 1.5, "sigmoid": 4.0, "softsign": 2.0, "softmax": 40.0}

# activation -> (pooling, window, stride, dedup, combine, calib a, calib b)
CONFIGS = {
    "tanh": ("last", 40, 0, False, "mean", 1.0, 0.0),
    "sigmoid": ("mean", 40, 0, False, "mean", 1.5, -0.25),
    "softsign": ("last", 30, 15, False, "max", 1.0, 0.0),
    "softmax": ("mean", 30, 10, True, "mean", 0.75, 0.5),
}


def load_names():
    names = {}
    with open(VOCAB) as f:
        for line in f:
            line = line.strip()
            if line:
                n, i = line.rsplit("=", 1)
                names[int(i)] = n
    size = max(names) + 1
    return [names.get(i) for i in range(size)]


def act_fn(name):
    return {
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softsign": lambda v: v / (1 + v.abs()),
        "softmax": lambda v: torch.softmax(v, dim=-1),
    }[name]


def hand_layer(xs, wx, wh, b, act):
    """One LSTM layer over xs [L, in] from a zero state; returns all h [L, H] (float64)."""
    H = wh.shape[1]
    h = torch.zeros(H, dtype=torch.float64)
    c = torch.zeros(H, dtype=torch.float64)
    out = []
    for x in xs:
        z = wx @ x + wh @ h + b
        i = torch.sigmoid(z[0:H])
        f = torch.sigmoid(z[H:2 * H])
        g = act(z[2 * H:3 * H])
        o = torch.sigmoid(z[3 * H:4 * H])
        c = f * c + i * g
        h = o * act(c)
        out.append(h)
    return torch.stack(out)


def torch_lstm(inp, hid, wx, wh, b, rng):
    """torch.nn.LSTM with the file's weights: split the single bias into two at random."""
    lstm = torch.nn.LSTM(inp, hid, batch_first=True).double()
    b_hh = torch.from_numpy(rng.uniform(-0.5, 0.5, 4 * hid).astype(np.float32)).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(wx)
        lstm.weight_hh_l0.copy_(wh)
        lstm.bias_hh_l0.copy_(b_hh)
        lstm.bias_ih_l0.copy_(b - b_hh)   # exact in float64: both are float32 values
    assert torch.equal(lstm.bias_ih_l0 + lstm.bias_hh_l0, b)
    return lstm


class Model:
    def __init__(self, act, rng, names):
        self.act = act
        self.names = names
        V = len(names)
        f32 = lambda shape, s: rng.uniform(-s, s, shape).astype(np.float32)
        self.w = {
            "embedding": f32((V, E), 1.0),
            "lstm1.wx": f32((4 * H1, E), 0.5),
            "lstm1.wh": f32((4 * H1, H1), 0.3),
            "lstm1.b": f32((4 * H1,), 0.5),
            "lstm2.wx": f32((4 * H2, H1), 0.5),
            "lstm2.wh": f32((4 * H2, H2), 0.3),
            "lstm2.b": f32((4 * H2,), 0.5),
            # softmax/sigmoid h vary little (softmax h ~ 1/H): larger dense weights keep the
            # probabilities sensitive to every earlier layer
            "dense.w": f32((H2,), DENSE_SCALE[act]),
            "dense.b": f32((1,), 0.5),
        }
        (self.pool, self.window, self.stride, self.dedup, self.combine, self.ca,
         self.cb) = CONFIGS[act]
        self.ca, self.cb = float(np.float32(self.ca)), float(np.float32(self.cb))
        self.t = {k: torch.from_numpy(v).double() for k, v in self.w.items()}
        if act == "tanh":
            t = self.t
            self.lstm1 = torch_lstm(E, H1, t["lstm1.wx"], t["lstm1.wh"], t["lstm1.b"], rng)
            self.lstm2 = torch_lstm(H1, H2, t["lstm2.wx"], t["lstm2.wh"], t["lstm2.b"], rng)

    def window_logit(self, ids):
        t = self.t
        xs = t["embedding"][torch.tensor(ids, dtype=torch.long)]
        if self.act == "tanh":
            with torch.no_grad():
                h1, _ = self.lstm1(xs.unsqueeze(0))
                h2, _ = self.lstm2(h1)
            h2 = h2[0]
            # the hand cell must agree with torch.nn.LSTM (proves it for the other activations)
            a = act_fn("tanh")
            hh = hand_layer(hand_layer(xs, t["lstm1.wx"], t["lstm1.wh"], t["lstm1.b"], a),
                            t["lstm2.wx"], t["lstm2.wh"], t["lstm2.b"], a)
            assert torch.max(torch.abs(hh - h2)).item() < 1e-12
        else:
            a = act_fn(self.act)
            h1 = hand_layer(xs, t["lstm1.wx"], t["lstm1.wh"], t["lstm1.b"], a)
            h2 = hand_layer(h1, t["lstm2.wx"], t["lstm2.wh"], t["lstm2.b"], a)
        pooled = h2[-1] if self.pool == "last" else h2.mean(0)
        return float(t["dense.w"] @ pooled + t["dense.b"][0])

    def prob(self, logit):
        return float(torch.sigmoid(torch.tensor(self.ca * logit + self.cb, dtype=torch.float64)))

    def windows(self, ids):
        """The scoring rule of docs/model-format.md, written from its text."""
        if self.dedup:
            ids = [x for k, x in enumerate(ids) if k == 0 or ids[k - 1] != x]
        n, W, S = len(ids), self.window, self.stride
        if S == 0:
            return [ids[max(0, n - W):]]
        out, start = [], 0
        while start == 0 or start + W <= n:
            out.append(ids[start:start + W])
            start += S
        return out

    def score(self, ids):
        logits = [self.window_logit(w) for w in self.windows(ids)]
        probs = [self.prob(l) for l in logits]
        p = max(probs) if self.combine == "max" else sum(probs) / len(probs)
        return p, logits

    def write(self, path, seed):
        def nums(a):
            return ", ".join("%.9g" % float(v) for v in np.asarray(a).ravel())

        def tensor(key, name, last=False):
            a = self.w[key]
            shape = ", ".join(str(d) for d in a.shape)
            rows = a.reshape(a.shape[0], -1) if a.ndim == 2 else a.reshape(1, -1)
            body = ",\n".join("      " + nums(r) for r in rows)
            return '    "%s": {"shape": [%s], "data": [\n%s]}%s\n' % (name, shape, body,
                                                                        "" if last else ",")

        names = ", ".join("null" if n is None else json.dumps(n) for n in self.names)
        s = "{\n"
        s += '"format": "malstm-model",\n"version": 1,\n"type": "Fixture_%s",\n' % self.act
        s += '"vocabulary": {"size": %d, "names": [%s]},\n' % (len(self.names), names)
        s += ('"architecture": {"embed": %d, "hidden1": %d, "hidden2": %d, "activation": "%s", '
              '"pooling": "%s", "gate_order": "ifgo"},\n' % (E, H1, H2, self.act, self.pool))
        s += ('"scoring": {"window": %d, "stride": %d, "dedup": %s, "combine": "%s", '
              '"calibration": {"a": %.9g, "b": %.9g}},\n'
              % (self.window, self.stride, "true" if self.dedup else "false", self.combine,
                 self.ca, self.cb))
        s += '"weights": {\n'
        s += tensor("embedding", "embedding").replace("    \"embedding\"", "  \"embedding\"")
        for layer in ("lstm1", "lstm2"):
            s += '  "%s": {\n' % layer
            s += tensor(layer + ".wx", "wx") + tensor(layer + ".wh", "wh")
            s += tensor(layer + ".b", "b", last=True) + "  },\n"
        s += '  "dense": {\n' + tensor("dense.w", "w") + tensor("dense.b", "b", last=True)
        s += "  }\n},\n"
        s += '"training": %s\n}\n' % json.dumps(
            {"generator": "tests/make_torch_fixture.py", "seed": seed, "torch": torch.__version__})
        with open(path, "w") as f:
            f.write(s)


def sequences(rng, valid, window):
    """Lengths 1, 2, 7, window, window + 1, 3 * window + 5, with runs of repeats (for dedup)."""
    seqs = []
    for n in (1, 2, 7, window, window + 1, 3 * window + 5):
        ids = []
        while len(ids) < n:
            ids.extend([int(rng.choice(valid))] * int(rng.integers(1, 4)))
        seqs.append(ids[:n])
    return seqs


def main():
    names = load_names()
    valid = [i for i, n in enumerate(names) if n is not None]
    os.makedirs(OUT, exist_ok=True)
    for k, act in enumerate(CONFIGS):
        seed = 1000 + k
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        m = Model(act, rng, names)
        model_rel = "tests/fixtures/torch_%s.model.json" % act
        m.write(os.path.join(ROOT, model_rel), seed)
        cases = []
        for ids in sequences(rng, valid, m.window):
            p, logits = m.score(ids)
            cases.append({"ids": ids, "prob": p, "logits": logits})
        with open(os.path.join(OUT, "torch_%s.json" % act), "w") as f:
            json.dump({"model": model_rel, "tolerance": 1e-5, "cases": cases}, f)
            f.write("\n")
        print("%s: %d cases, probs %s" % (act, len(cases),
                                          " ".join("%.4f" % c["prob"] for c in cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
