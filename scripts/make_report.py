#!/usr/bin/env python3
"""Turn `malscan --json --labels` output into out/report/: index.md, per-type
table, confusion-matrix heat map and per-type ROC curves (PNG through gnuplot).

Usage: make_report.py SCAN.jsonl OUTDIR [--title TEXT] [--extra FILE.md]...

SCAN.jsonl holds malscan's JSON lines (one per trace: input, record, calls,
unknown, label, scores, and with --labels a "truth" key) and its final
{"summary": ...} line (design.md, scanner contract). Standard library only."""
import json
import os
import subprocess
import sys


def roc_points(scores, truth):
    """ROC curve (fpr, tpr) points and the AUC (trapezoid, ties grouped)."""
    pos = sum(truth)
    neg = len(truth) - pos
    if pos == 0 or neg == 0:
        return [(0.0, 0.0), (1.0, 1.0)], float("nan")
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    pts, tp, fp, auc, i = [(0.0, 0.0)], 0, 0, 0.0, 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            j += 1
        dtp = sum(truth[order[k]] for k in range(i, j))
        dfp = (j - i) - dtp
        auc += (dfp / neg) * (tp + dtp / 2) / pos
        tp, fp = tp + dtp, fp + dfp
        pts.append((fp / neg, tp / pos))
        i = j
    return pts, auc


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    scan_path, outdir = argv[1], argv[2]
    title, extras = "malstm scan report", []
    rest = argv[3:]
    while rest:
        if rest[0] == "--title" and len(rest) > 1:
            title, rest = rest[1], rest[2:]
        elif rest[0] == "--extra" and len(rest) > 1:
            extras.append(rest[1])
            rest = rest[2:]
        else:
            print(f"make_report.py: unknown argument {rest[0]}", file=sys.stderr)
            return 2
    os.makedirs(outdir, exist_ok=True)
    rows, summary = [], None
    with open(scan_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"make_report.py: {scan_path}:{n}: not JSON: {e}", file=sys.stderr)
                return 1
            if "summary" in obj:
                summary = obj["summary"]
            else:
                rows.append(obj)
    if summary is None:
        print(f"make_report.py: {scan_path}: no summary line (was malscan run with --labels?)",
              file=sys.stderr)
        return 1
    types = sorted(summary["per_type"].keys())
    labelled = [r for r in rows if r.get("truth") in types]

    # Confusion matrix heat map (rows = true type, columns = predicted).
    conf = summary["confusion"]
    with open(os.path.join(outdir, "confusion.dat"), "w") as f:
        for i, row in enumerate(conf):
            for j, v in enumerate(row):
                f.write(f"{j} {i} {v}\n")
            f.write("\n")
    tics = ", ".join(f'"{t}" {i}' for i, t in enumerate(types))
    gnuplot(f"""set terminal pngcairo size 760,640 noenhanced
set output '{outdir}/confusion.png'
set title 'Confusion matrix (rows: true type, columns: predicted), n = {summary["n"]}'
set xtics ({tics}) rotate by 45 right
set ytics ({tics})
set yrange [{len(types) - 0.5}:-0.5]
set xrange [-0.5:{len(types) - 0.5}]
set palette defined (0 'white', 1 '#2b6cb0')
set cblabel 'traces'
plot '{outdir}/confusion.dat' using 1:2:3 with image notitle, \\
     '' using 1:2:(sprintf('%d', $3)) with labels notitle
""")

    # Per-type ROC curves from the eight scores (one-vs-rest).
    aucs, plot_cmds = {}, []
    for t in types:
        pts, auc = roc_points([r["scores"][t] for r in labelled],
                              [1 if r["truth"] == t else 0 for r in labelled])
        aucs[t] = auc
        with open(os.path.join(outdir, f"roc_{t}.dat"), "w") as f:
            f.writelines(f"{x} {y}\n" for x, y in pts)
        plot_cmds.append(f"'{outdir}/roc_{t}.dat' with lines lw 2 title '{t} (AUC {auc:.3f})'")
    gnuplot(f"""set terminal pngcairo size 760,640 noenhanced
set output '{outdir}/roc.png'
set title 'Per-type ROC curves (one-vs-rest), n = {len(labelled)}'
set xlabel 'false positive rate'
set ylabel 'true positive rate'
set key right bottom
set size square
plot [0:1][0:1] {", ".join(plot_cmds)}, x with lines dt 2 lc 'gray' notitle
""")

    # Per-type table and the page.
    lines = [f"# {title}", "",
             f"Traces scored with labels: **{summary['n']}**; eight-way accuracy "
             f"**{summary['accuracy']:.3f}**, macro-F1 **{summary['macro_f1']:.3f}**.", "",
             "| type | precision | recall | F1 | ROC-AUC |", "|---|---|---|---|---|"]
    for t in types:
        p = summary["per_type"][t]
        lines.append(f"| {t} | {p['precision']:.3f} | {p['recall']:.3f} | {p['f1']:.3f} | "
                     f"{aucs[t]:.3f} |")
    lines += ["", "![confusion matrix](confusion.png)", "", "![ROC curves](roc.png)", ""]
    for x in extras:
        with open(x, encoding="utf-8") as f:
            lines += [f.read(), ""]
    with open(os.path.join(outdir, "per_type.csv"), "w") as f:
        f.write("type,precision,recall,f1,roc_auc\n")
        for t in types:
            p = summary["per_type"][t]
            f.write(f"{t},{p['precision']:.6f},{p['recall']:.6f},{p['f1']:.6f},{aucs[t]:.6f}\n")
    with open(os.path.join(outdir, "index.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"make_report.py: wrote {outdir}/index.md, confusion.png, roc.png, per_type.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
