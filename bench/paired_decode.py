#!/usr/bin/env python3
"""paired_decode.py — milrun's and llama.cpp's decode, token by token in turn in one process.

    python3 bench/paired_decode.py WORKDIR [--pairs fp16:F16,lut8:Q8_0,lut4:Q8_0] [-n 128] [-r 3]
                                   [-t 2] [--lib build/libmilrun.so] [--gap-ms 5] [--baseline-lib LIB]

A machine whose memory bandwidth moves by a third from one second to the next (shared cloud hosts
do) makes two programs timed one after the other disagree by as much, whatever their order. Here
each of milrun's generated tokens (embeddings, FFN infer, LM head, sampling: `milrun bench`'s tg,
through libmilrun's mr_session_generate) is followed, from its token callback, by one single-token
llama_decode of the GGUF of the same checkpoint (as llama-bench's tg), so both see the same
moments of the machine. A pause of --gap-ms before and after each llama.cpp step lets both thread
pools go idle, so neither one's spinning workers take the other's cores; pauses are not timed.

For each pair MILRUN_DIR:GGUF_TYPE (WORKDIR/MILRUN_DIR from bench/qwen3_06b.sh, the GGUF written
by llama_baseline.py when missing) and each of -r repetitions from empty caches: N tokens of each,
their tokens/s, and milrun's / llama.cpp's. Needs llama-cpp-python, numpy and gguf, and libmilrun
built (scripts/setup.sh).

With --baseline-lib LIB the other side is milrun itself from another build of libmilrun (an older
commit, say) on the same model, one token each in turn, instead of llama.cpp: the ratio is then
--lib's speed over LIB's, measured through the same moments of the machine (GGUF types are
ignored, and llama-cpp-python is not needed)."""
import argparse
import ctypes
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("msg", ctypes.c_char * 1024)]  # MR_ERRMSG_MAX


class GenerateOptions(ctypes.Structure):
    _fields_ = [("max_tokens", ctypes.c_int), ("ignore_stop", ctypes.c_int)]


class Stats(ctypes.Structure):
    _fields_ = [("load_ms", ctypes.c_double), ("prompt_tokens", ctypes.c_int64), ("prefill_tokens", ctypes.c_int64),
                ("prefill_ms", ctypes.c_double), ("ttft_ms", ctypes.c_double), ("generated_tokens", ctypes.c_int64),
                ("decode_ms", ctypes.c_double), ("shifts", ctypes.c_int64), ("calls", ctypes.c_int64 * 4),
                ("ms", ctypes.c_double * 4)]


TOKEN_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p, ctypes.c_size_t)


class Milrun:
    """A model opened through libmilrun's C API, one session, generate's default sampler."""

    def __init__(self, lib, model, threads, option="--lib"):
        try:  # its own symbols first: two builds of libmilrun may be loaded side by side
            self.lib = lib = ctypes.CDLL(lib, mode=os.RTLD_LOCAL | getattr(os, "RTLD_DEEPBIND", 0))
        except OSError as e:
            sys.exit("cannot load %s (%s): build milrun first (scripts/setup.sh) or pass %s" % (lib, e, option))
        lib.mr_set_threads(threads)
        self.err = Error()
        self.model, self.session = ctypes.c_void_p(), ctypes.c_void_p()
        if lib.mr_model_open(model.encode(), None, ctypes.byref(self.model), ctypes.byref(self.err)):
            sys.exit("milrun: %s" % self.err.msg.decode())
        if lib.mr_session_new(self.model, None, ctypes.byref(self.session), ctypes.byref(self.err)):
            sys.exit("milrun: %s" % self.err.msg.decode())
        self.context = lib.mr_model_context(self.model)

    def generate(self, n, each):
        """n tokens after one fed token; each() runs after every token, outside the timing. Returns
        the seconds milrun spent."""
        lib, one = self.lib, (ctypes.c_int32 * 1)(1)
        lib.mr_session_reset(self.session)
        if lib.mr_session_feed(self.session, one, 1, ctypes.byref(self.err)):
            sys.exit("milrun: %s" % self.err.msg.decode())
        spent = [0.0, time.perf_counter()]  # total, when the current step began

        def on_token(ud, tok, text, length):
            if tok >= 0:
                spent[0] += time.perf_counter() - spent[1]
                each()
                spent[1] = time.perf_counter()
            return 0

        cb, opts, finish = TOKEN_FN(on_token), GenerateOptions(n, 1), ctypes.c_int()
        if lib.mr_session_generate(self.session, ctypes.byref(opts), cb, None, ctypes.byref(finish), ctypes.byref(self.err)):
            sys.exit("milrun: %s" % self.err.msg.decode())
        return spent[0]

    def step(self):
        """One more token after the session's tokens (fed or generated)."""
        opts, finish = GenerateOptions(1, 1), ctypes.c_int()
        if self.lib.mr_session_generate(self.session, ctypes.byref(opts), TOKEN_FN(lambda *a: 0), None,
                                        ctypes.byref(finish), ctypes.byref(self.err)):
            sys.exit("milrun (baseline): %s" % self.err.msg.decode())

    def start(self):
        """Back to one fed token (the baseline side's reset)."""
        self.lib.mr_session_reset(self.session)
        if self.lib.mr_session_feed(self.session, (ctypes.c_int32 * 1)(1), 1, ctypes.byref(self.err)):
            sys.exit("milrun (baseline): %s" % self.err.msg.decode())

    def stage_ms(self):
        """Milliseconds so far in the embeddings, the FFN, the LM head and the sampler."""
        st = Stats()
        self.lib.mr_session_stats_get(self.session, ctypes.byref(st))
        return list(st.ms)

    def close(self):
        self.lib.mr_session_free(self.session)
        self.lib.mr_model_close(self.model)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", help="the folder bench/qwen3_06b.sh wrote (fp16, lut8, lut4, gguf)")
    ap.add_argument("--pairs", default="fp16:F16,lut8:Q8_0,lut4:Q8_0",
                    help="MILRUN_DIR:GGUF_TYPE[,...] (with --baseline-lib: MILRUN_DIR[,...])")
    ap.add_argument("-n", type=int, default=128, help="tokens each side generates per repetition")
    ap.add_argument("-r", type=int, default=3, help="repetitions (after one warm-up)")
    ap.add_argument("-t", "--threads", type=int, default=2, help="threads of each side")
    ap.add_argument("--lib", default=os.path.join(HERE, "build", "libmilrun.so"), help="the libmilrun measured")
    ap.add_argument("--gap-ms", type=float, default=5.0, help="pause around each step of the other side")
    ap.add_argument("--baseline-lib", help="pair milrun from --lib with milrun from this library, not llama.cpp")
    a = ap.parse_args()
    if a.n < 1 or a.r < 1 or a.threads < 1 or a.gap_ms < 0:
        sys.exit("-n, -r and --threads must be at least 1, --gap-ms at least 0")
    gap = a.gap_ms / 1000
    other = "baseline milrun" if a.baseline_lib else "llama.cpp"
    print("| milrun model | %s | test | milrun t/s | %s t/s | milrun / %s | "
          "milrun ms per token: embeddings, FFN, LM head, sampling |" % (other, other, other))
    print("| --- | --- | --- | ---: | ---: | ---: | --- |")
    pairs = [p.split(":") if not a.baseline_lib or ":" in p else [p, "baseline"] for p in a.pairs.split(",")]
    if any(len(p) != 2 or not all(p) for p in pairs):
        sys.exit("--pairs: expected MILRUN_DIR:GGUF_TYPE[,...], e.g. fp16:F16,lut8:Q8_0")
    if not a.baseline_lib:
        try:
            import llama_cpp  # noqa: F401  (the llama.cpp side)
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import llama_baseline  # the GGUF writer and the llama.cpp runner (needs numpy and gguf)
        except ImportError as e:
            sys.exit("%s: needs llama-cpp-python, numpy and gguf in this Python" % e)
    for variant, _ in pairs:
        if not os.path.isdir(os.path.join(a.workdir, variant)):
            sys.exit("%s: not found (bench/qwen3_06b.sh WORKDIR makes fp16, lut8 and lut4)" % os.path.join(a.workdir, variant))
    for variant, qtype in pairs:
        mr = Milrun(a.lib, os.path.join(a.workdir, variant), a.threads)
        if a.n + 1 > mr.context:
            sys.exit("-n %d: %s has a context of %d positions (the fed token and n generated must fit)" % (
                a.n, variant, mr.context))
        if a.baseline_lib:
            ll = Milrun(a.baseline_lib, os.path.join(a.workdir, variant), a.threads, "another --baseline-lib")
            qtype = "baseline"
        else:
            ll = llama_baseline.Llama(llama_baseline.gguf_path(a.workdir, qtype)[0], a.n + 2, a.threads)
        ratios = []
        for rep in range(a.r + 1):  # the first is the warm-up
            if a.baseline_lib:
                ll.start()
            else:
                ll.clear()
                ll.decode([1])
            took = [0.0]

            def llama_step():
                time.sleep(gap)
                t0 = time.perf_counter()
                ll.step() if a.baseline_lib else ll.gen(1)
                took[0] += time.perf_counter() - t0
                time.sleep(gap)

            before = mr.stage_ms()
            mine = mr.generate(a.n, llama_step)
            stages = ", ".join("%.3f" % ((x - y) / a.n) for x, y in zip(mr.stage_ms(), before))
            if rep:
                ratios.append(took[0] / mine)
                print("| %s | %s | tg%d | %.2f | %.2f | %.3f | %s |" % (
                    variant, qtype, a.n, a.n / mine, a.n / took[0], ratios[-1], stages), flush=True)
        print("| %s | %s | tg%d | | mean of %d | %.3f ± %.3f | |" % (
            variant, qtype, a.n, a.r, statistics.mean(ratios), statistics.stdev(ratios) if len(ratios) > 1 else 0.0))
        ll.close()
        mr.close()


if __name__ == "__main__":
    main()
