#!/usr/bin/env python3
"""sample_variant.py MODE SRC DST - writes a transformed copy of a dataset
directory (calls.txt.gz, labels.csv, api_index.txt, dev-split.txt), so that a
question about the input can be measured with the unchanged tools:
`maltrain train --folds K` and `bench/peer_cv.sh SCORES.csv DST`.

Modes (the traces' order, labels and split are kept unless said):
  dedup         runs of one call collapsed to one call (what the default
                protocol does itself; for the n-gram peer, which does not)
  repeat-flag   dedup, and a call whose run was 2 or longer becomes NAME_rep,
                a second vocabulary entry (keeps "repeated" that dedup drops)
  run-buckets   dedup, and a run's length as NAME_r2 (2-3), NAME_r4 (4-15) or
                NAME_r16 (16 and more)
  drop-common   the calls found in more than 90% of the split's train traces
                removed (named on stderr; a trace left empty keeps its first
                call)
  half-a, half-b
                two disjoint halves of the split's train traces, stratified by
                type (a fixed shuffle, --seed), each with the whole test part:
                a learning curve at half the training data

Throwaway measurement data, not a dataset of the project: DST must not exist.
Needs nothing beyond Python 3.
"""
import argparse
import collections
import gzip
import os
import random
import sys

MODES = ('dedup', 'repeat-flag', 'run-buckets', 'drop-common', 'half-a', 'half-b')


def runs(trace):
    """[[call, run length], ...] for one trace."""
    out = []
    for c in trace:
        if out and out[-1][0] == c:
            out[-1][1] += 1
        else:
            out.append([c, 1])
    return out


def bucket(n):
    return '' if n == 1 else '_r2' if n < 4 else '_r4' if n < 16 else '_r16'


def read_lines(path):
    with open(path) as f:
        return [line.rstrip('\n') for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('mode', choices=MODES)
    ap.add_argument('src')
    ap.add_argument('dst')
    ap.add_argument('--seed', type=int, default=2025, help='shuffle of half-a/half-b')
    a = ap.parse_args()

    vocab = [line.split('=', 1) for line in read_lines(os.path.join(a.src, 'api_index.txt'))]
    labels = read_lines(os.path.join(a.src, 'labels.csv'))
    split = read_lines(os.path.join(a.src, 'dev-split.txt'))
    with gzip.open(os.path.join(a.src, 'calls.txt.gz'), 'rt') as f:
        traces = [line.split() for line in f]
    if not (len(traces) == len(labels) == len(split)):
        sys.exit(f'sample_variant.py: {a.src}: {len(traces)} traces, {len(labels)} labels, '
                 f'{len(split)} split lines')
    top = max(int(i) for _, i in vocab)
    extra = []   # new vocabulary names, indexed after the largest index
    keep = range(len(traces))

    if a.mode == 'dedup':
        traces = [[c for c, _ in runs(t)] for t in traces]
    elif a.mode == 'repeat-flag':
        extra = [n + '_rep' for n, _ in vocab]
        traces = [[c if n == 1 else c + '_rep' for c, n in runs(t)] for t in traces]
    elif a.mode == 'run-buckets':
        extra = [n + s for s in ('_r2', '_r4', '_r16') for n, _ in vocab]
        traces = [[c + bucket(n) for c, n in runs(t)] for t in traces]
    elif a.mode == 'drop-common':
        df = collections.Counter()
        train = [t for t, s in zip(traces, split) if s == 'train']
        for t in train:
            df.update(set(t))
        common = {c for c, k in df.items() if k > 0.9 * len(train)}
        print('sample_variant.py: dropping', ' '.join(sorted(common)), file=sys.stderr)
        traces = [[c for c in t if c not in common] or t[:1] for t in traces]
    else:
        rng = random.Random(a.seed)
        half = {}
        for ty in sorted(set(labels)):
            idx = [i for i, (l, s) in enumerate(zip(labels, split)) if l == ty and s == 'train']
            rng.shuffle(idx)
            for k, i in enumerate(idx):
                half[i] = 'half-a' if k % 2 == 0 else 'half-b'
        keep = [i for i in range(len(traces)) if split[i] == 'test' or half.get(i) == a.mode]

    try:
        os.makedirs(a.dst)   # refuses an existing directory: nothing is overwritten
    except FileExistsError:
        sys.exit(f'sample_variant.py: {a.dst} exists; give a new directory')
    with open(os.path.join(a.dst, 'api_index.txt'), 'w') as f:
        for n, i in vocab:
            f.write(f'{n}={i}\n')
        for k, n in enumerate(extra):
            f.write(f'{n}={top + 1 + k}\n')
    with open(os.path.join(a.dst, 'labels.csv'), 'w') as f:
        f.writelines(labels[i] + '\n' for i in keep)
    with open(os.path.join(a.dst, 'dev-split.txt'), 'w') as f:
        f.writelines(split[i] + '\n' for i in keep)
    with gzip.open(os.path.join(a.dst, 'calls.txt.gz'), 'wt', compresslevel=3) as f:
        f.writelines(' '.join(traces[i]) + '\n' for i in keep)
    print(f'sample_variant.py: {a.dst}: {len(keep)} traces '
          f'({sum(1 for i in keep if split[i] == "train")} train), '
          f'{len(vocab) + len(extra)} vocabulary names', file=sys.stderr)


if __name__ == '__main__':
    try:
        main()
    except (OSError, ValueError) as err:   # a missing file, a bad vocabulary line
        sys.exit(f'sample_variant.py: {err}')
