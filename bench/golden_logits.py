#!/usr/bin/env python3
"""golden_logits.py — the full accuracy sweep of a converted bundle against the golden references
(the ASan test suite runs a subset; this runs every prompt and prints the numbers reported in issue 5).

  bench/golden_logits.py MILRUN BUNDLE GOLDEN_MODEL_DIR            # every prompt, every position
  bench/golden_logits.py MILRUN BUNDLE GOLDEN_MODEL_DIR --teacher  # prompt + greedy ids (trained model)

Prints, per prompt: the relative RMS error of the last-position logits against logits_last_*.f32, the
max abs error, and top-1 agreement where the reference margin exceeds 2x (or --factor F x) that error;
with --teacher, the greedy agreement of rows P-1 .. P+62 with the golden greedy ids.
"""
import array, json, math, os, subprocess, sys, tempfile


def logits(milrun, bundle, ids):
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        r = subprocess.run([milrun, "logits", bundle, "--ids", ",".join(map(str, ids)), "--out", f.name],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit(r.stderr)
        a = array.array("f")
        a.frombytes(open(f.name, "rb").read())
    return a


def main():
    milrun, bundle, gdir = sys.argv[1:4]
    teacher = "--teacher" in sys.argv
    factor = float(sys.argv[sys.argv.index("--factor") + 1]) if "--factor" in sys.argv else 2.0
    g = json.load(open(os.path.join(gdir, "golden.json")))
    total = agree_total = 0
    for ci, c in enumerate(g["cases"]):
        P = len(c["prompt_ids"])
        ids = c["prompt_ids"] + (c["greedy_ids"][:-1] if teacher else [])
        a = logits(milrun, bundle, ids)
        V = len(a) // len(ids)
        ref = array.array("f")
        ref.frombytes(open(os.path.join(gdir, c["logits_last_file"]), "rb").read())
        last = a[(P - 1) * V:P * V]
        rel = math.sqrt(sum((x - y) ** 2 for x, y in zip(last, ref)) / sum(y * y for y in ref))
        maxabs = max(abs(x - y) for x, y in zip(last, ref))
        if teacher:
            ok = 0
            miss = []
            for i, gid in enumerate(c["greedy_ids"]):
                row = a[(P - 1 + i) * V:(P + i) * V]
                if row.index(max(row)) == gid:
                    ok += 1
                else:
                    tl = c["greedy_steps"][i]["top_logits"]
                    miss.append((i, round(tl[0] - tl[1], 4)))
            total += len(c["greedy_ids"])
            agree_total += ok
            print(f"case {ci}: rel RMS {rel:.3e} max abs {maxabs:.3e}; greedy {ok}/{len(c['greedy_ids'])}"
                  f" misses (step, ref margin) {miss[:8]}")
        else:
            bad = checked = 0
            for t in range(P):
                row = a[t * V:(t + 1) * V]
                tl = c["top10_logits"][t]
                if tl[0] - tl[1] > factor * maxabs:
                    checked += 1
                    bad += row.index(max(row)) != c["top10_ids"][t][0]
            print(f"case {ci} ({P} tokens): rel RMS {rel:.3e} max abs {maxabs:.3e};"
                  f" top-1 mismatches {bad}/{checked} (margin > {factor:g} x max abs)")
    if teacher:
        print(f"total greedy agreement {agree_total}/{total}")


if __name__ == "__main__":
    main()
