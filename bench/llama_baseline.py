#!/usr/bin/env python3
"""llama_baseline.py — llama.cpp on the same random checkpoint as `milrun bench`, for the README's
side-by-side table. Nothing of llama.cpp is part of milrun: this script uses what the user has.

    python3 bench/llama_baseline.py WORKDIR [--types Q8_0,Q4_0,F16] [-p 512] [-n 128] [-r 5] [-t 2]

Reads WORKDIR/Qwen3-0.6B-random (config.json + bf16 model.safetensors, written by
bench/qwen3_06b.sh), writes WORKDIR/gguf/qwen3-0.6b-random-<TYPE>.gguf once per type with the
`gguf` package (Q8_0 / Q4_0 by its quants module; a dummy SentencePiece-style vocabulary, since the
weights are random), then measures pp<P> and tg<N>:
  - with $LLAMA_BENCH (a llama-bench binary) when set: its own markdown table;
  - else through llama-cpp-python's low-level API, timed as llama-bench times: one warm-up, then per
    repetition an empty KV cache, pp = the prompt of random ids decoded in batches of 2048,
    tg = N single-token decodes; t/s is the mean ± standard deviation of the per-repetition rates.
Needs numpy and gguf (and llama-cpp-python without $LLAMA_BENCH)."""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

import numpy as np


def load_checkpoint(hf):
    cfg = json.load(open(os.path.join(hf, "config.json")))
    path = os.path.join(hf, "model.safetensors")
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "BF16", name
        a, b = info["data_offsets"]
        words = np.frombuffer(data[a:b], dtype=np.uint16).astype(np.uint32) << 16
        tensors[name] = words.view(np.float32).reshape(info["shape"])
    return cfg, tensors


GGUF_NAMES = {
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def gguf_name(hf_name):
    if hf_name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf_name == "model.norm.weight":
        return "output_norm.weight"
    if hf_name == "lm_head.weight":
        return "output.weight"
    parts = hf_name.split(".")  # model.layers.N.<module>.weight
    return "blk.%s.%s.weight" % (parts[2], GGUF_NAMES[".".join(parts[3:-1])])


def write_gguf(cfg, tensors, qtype_name, out):
    import gguf

    qtype = gguf.GGMLQuantizationType[qtype_name]
    arch = "qwen3"
    w = gguf.GGUFWriter(out, arch)
    w.add_name("Qwen3-0.6B-random")
    w.add_context_length(cfg.get("max_position_embeddings", 40960))
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_key_length(cfg["head_dim"])
    w.add_value_length(cfg["head_dim"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_file_type({"F16": 1, "Q8_0": 7, "Q4_0": 2}[qtype_name])
    vocab = cfg["vocab_size"]  # ids 0-2 unk/bos/eos, then the 256 byte tokens, then placeholders
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)]
    toks += ["t%d" % i for i in range(len(toks), vocab)]
    types = [2, 3, 3] + [6] * 256 + [1] * (vocab - 259)
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores([0.0] * vocab)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    for name, t in tensors.items():
        if t.ndim == 1:  # norms stay fp32, as llama.cpp's converters keep them
            w.add_tensor(gguf_name(name), t.astype(np.float32))
        else:
            w.add_tensor(gguf_name(name), gguf.quants.quantize(t, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


class Llama:
    """One GGUF loaded through llama-cpp-python's low-level API, decoding as llama-bench does."""

    def __init__(self, path, n_ctx, threads):
        import llama_cpp as L

        self.L = L
        L.llama_backend_init()
        self.model = L.llama_model_load_from_file(path.encode(), L.llama_model_default_params())
        if not self.model:
            sys.exit("cannot load %s" % path)
        self.vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(self.model))
        cp = L.llama_context_default_params()
        cp.n_ctx = max(n_ctx, 16)
        cp.n_batch, cp.n_ubatch = 2048, 512
        cp.n_threads = cp.n_threads_batch = threads
        cp.no_perf = True
        self.ctx = L.llama_init_from_model(self.model, cp)
        if not self.ctx:
            sys.exit("cannot make a context for %s" % path)
        self.rng = random.Random(42)

    def decode(self, ids):
        L = self.L
        for s in range(0, len(ids), 2048):
            chunk = ids[s:s + 2048]
            arr = (L.llama_token * len(chunk))(*chunk)
            if L.llama_decode(self.ctx, L.llama_batch_get_one(arr, len(chunk))):
                sys.exit("llama_decode failed")
        L.llama_synchronize(self.ctx)

    def prompt(self, n):
        self.decode([1] + [self.rng.randrange(self.vocab) for _ in range(n - 1)])

    def gen(self, n):
        for _ in range(n):
            self.decode([self.rng.randrange(self.vocab)])

    def clear(self):
        self.L.llama_memory_clear(self.L.llama_get_memory(self.ctx), False)

    def close(self):
        self.L.llama_free(self.ctx)
        self.L.llama_model_free(self.model)


def bench_python(path, label, P, N, R, threads):
    ll = Llama(path, P + N, threads)
    rows = []
    for kind, n, fn in (("pp", P, ll.prompt), ("tg", N, ll.gen)):
        if not n:
            continue
        ll.clear()
        fn(min(n, 2048) if kind == "pp" else 1)  # warm-up, as llama-bench
        rates = []
        for _ in range(R):
            ll.clear()
            t0 = time.perf_counter()
            fn(n)
            rates.append(n / (time.perf_counter() - t0))
        std = statistics.stdev(rates) if len(rates) > 1 else 0.0
        rows.append((label, os.path.getsize(path), threads, "%s%d" % (kind, n), statistics.mean(rates), std))
    ll.close()
    return rows


def gguf_path(workdir, qtype, cfg=None, tensors=None):
    """WORKDIR/gguf/qwen3-0.6b-random-<TYPE>.gguf, written first when missing (the checkpoint is
    loaded once and handed back for the next type)."""
    path = os.path.join(workdir, "gguf", "qwen3-0.6b-random-%s.gguf" % qtype)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if tensors is None:
            cfg, tensors = load_checkpoint(os.path.join(workdir, "Qwen3-0.6B-random"))
        t0 = time.time()
        write_gguf(cfg, tensors, qtype, path + ".tmp")
        os.replace(path + ".tmp", path)
        print("wrote %s in %.0f s" % (path, time.time() - t0), file=sys.stderr)
    return path, cfg, tensors


def print_table(rows):
    print("| %-30s | %10s | %-12s | %7s | %13s | %20s |" % ("model", "size", "backend", "threads", "test", "t/s"))
    print("| ------------------------------ | ---------: | ------------ | ------: | ------------: | -------------------: |")
    for label, size, threads, test, mean, std in rows:
        print("| %-30s | %10s | %-12s | %7d | %13s | %20s |" % (
            label, "%.2f MiB" % (size / 1048576), "llama.cpp CPU", threads, test, "%.2f ± %.2f" % (mean, std)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir")
    ap.add_argument("--types", default="Q8_0,Q4_0,F16")
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-r", type=int, default=5)
    ap.add_argument("-t", "--threads", type=int, default=2)
    a = ap.parse_args()
    types = a.types.split(",")
    if any(t not in ("Q8_0", "Q4_0", "F16") for t in types):
        sys.exit("--types: a comma-separated list of Q8_0, Q4_0 and F16, not %s" % a.types)
    if a.p < 0 or a.n < 0 or a.r < 1 or a.threads < 1:
        sys.exit("-p and -n must be at least 0 (0 skips the test), -r and --threads at least 1")
    cfg = tensors = None
    rows = []
    for t in types:
        path, cfg, tensors = gguf_path(a.workdir, t, cfg, tensors)
        if os.environ.get("LLAMA_BENCH"):
            subprocess.run([os.environ["LLAMA_BENCH"], "-m", path, "-p", str(a.p), "-n", str(a.n), "-r", str(a.r),
                            "-t", str(a.threads)], check=True)
        else:
            rows += bench_python(path, "qwen3 0.6B-random %s" % t, a.p, a.n, a.r, a.threads)
    if rows:
        print_table(rows)


if __name__ == "__main__":
    main()
