#!/usr/bin/env python3
"""lut_int8_drift.py — how far decode with the integer LUT kernels drifts from the float kernels.

    python3 bench/lut_int8_drift.py MODEL [--ids 750,75698,1445,982] [-n 64] [--lib build/libmilrun.so]
                                    [--against LIB]

Generates n tokens greedily after the prompt ids through libmilrun with the top-5 log-probabilities
of every step, once with the integer kernels (AVX-512 VNNI: x quantised to int8) and once with
$MILRUN_LUT_INT8=0 (the float kernels, exact palette values), each in a process of its own, and
prints how many tokens agree and the mean and largest difference of the log-probabilities of the
ids both top-5 lists share, up to the first token that differs. With --against LIB the float run
is replaced by the integer kernels of another build of libmilrun (an older commit, say).

MODEL is a LUT8 conversion, e.g. the trained tiny model of the fixtures:
    build/milrun convert tests/fixtures/models/qwen3-tiny-python /tmp/tiny-lut8 --lut-ffn 8 --lut-lmhead 8
(the default ids are its first golden prompt). Needs libmilrun built (scripts/setup.sh)."""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired_decode import HERE, TOKEN_FN, Error, GenerateOptions  # noqa: E402


class Sampling(ctypes.Structure):  # mr_sampling
    _fields_ = [("temperature", ctypes.c_float), ("top_k", ctypes.c_int), ("top_p", ctypes.c_float),
                ("min_p", ctypes.c_float), ("repeat_penalty", ctypes.c_float), ("repeat_last_n", ctypes.c_int),
                ("presence_penalty", ctypes.c_float), ("frequency_penalty", ctypes.c_float),
                ("seed", ctypes.c_uint64)]


def run(lib_path, model, ids, n):
    """[(token, {id: logprob})] of n greedy tokens (this process's kernels)."""
    lib = ctypes.CDLL(lib_path)
    err, m, s = Error(), ctypes.c_void_p(), ctypes.c_void_p()

    def check(rc):
        if rc:
            sys.exit("milrun: %s" % err.msg.decode())

    check(lib.mr_model_open(model.encode(), None, ctypes.byref(m), ctypes.byref(err)))
    check(lib.mr_session_new(m, None, ctypes.byref(s), ctypes.byref(err)))
    greedy = Sampling()
    lib.mr_sampling_defaults(ctypes.byref(greedy))
    greedy.temperature = 0
    check(lib.mr_session_set_sampling(s, ctypes.byref(greedy), ctypes.byref(err)))
    check(lib.mr_session_set_logprobs(s, 5, ctypes.byref(err)))
    check(lib.mr_session_feed(s, (ctypes.c_int32 * len(ids))(*ids), len(ids), ctypes.byref(err)))
    out = []

    def on_token(ud, tok, text, length):
        if tok >= 0:
            chosen, top, lp = ctypes.c_float(), ctypes.POINTER(ctypes.c_int32)(), ctypes.POINTER(ctypes.c_float)()
            k = lib.mr_session_logprobs(s, ctypes.byref(chosen), ctypes.byref(top), ctypes.byref(lp))
            out.append((tok, {top[i]: lp[i] for i in range(k)}))
        return 0

    cb, finish = TOKEN_FN(on_token), ctypes.c_int()
    check(lib.mr_session_generate(s, ctypes.byref(GenerateOptions(n, 1)), cb, None, ctypes.byref(finish),
                                  ctypes.byref(err)))
    lib.mr_session_free(s)
    lib.mr_model_close(m)
    return out


def child(lib, a, int8):
    env = dict(os.environ, MILRUN_LUT_INT8="1" if int8 else "0")
    r = subprocess.run([sys.executable, __file__, a.model, "--ids", a.ids, "-n", str(a.n), "--lib", lib, "--child"],
                       env=env, capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr.strip() or "the run with %s failed" % lib)
    return [(t, {int(k): v for k, v in d.items()}) for t, d in json.loads(r.stdout)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a LUT8 model folder (meta.yaml and the .mlmodelc components)")
    ap.add_argument("--ids", default="750,75698,1445,982", help="prompt token ids, comma-separated")
    ap.add_argument("-n", type=int, default=64, help="tokens to generate")
    ap.add_argument("--lib", default=os.path.join(HERE, "build", "libmilrun.so"), help="libmilrun to measure")
    ap.add_argument("--against", help="compare with this libmilrun's integer kernels instead of the float ones")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    try:
        ids = [int(x) for x in a.ids.split(",")]
    except ValueError:
        sys.exit("--ids: comma-separated token ids, not %s" % a.ids)
    if a.n < 1 or not ids:
        sys.exit("-n must be at least 1 and --ids name at least one token")
    if not os.path.isdir(a.model):
        sys.exit("%s: not a model folder" % a.model)
    for lib in (a.lib, a.against):
        if lib and not os.path.isfile(lib):
            sys.exit("%s: no such library (build milrun first: scripts/setup.sh)" % lib)
    if a.child:
        json.dump(run(a.lib, a.model, ids, a.n), sys.stdout)
        return
    mine = child(a.lib, a, True)
    ref = child(a.against, a, True) if a.against else child(a.lib, a, False)
    diffs, agree = [], 0
    for (t1, d1), (t2, d2) in zip(mine, ref):
        diffs += [abs(d1[k] - d2[k]) for k in d1 if k in d2]
        if t1 != t2:
            break
        agree += 1
    what = "the integer kernels of %s" % a.against if a.against else "the float kernels"
    print("%d of %d tokens agree with %s; top-5 log-probabilities differ by %.2e on average, %.2e at most"
          % (agree, a.n, what, statistics.mean(diffs) if diffs else 0.0, max(diffs, default=0.0)))


if __name__ == "__main__":
    main()
