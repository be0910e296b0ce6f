#!/bin/sh
# qwen3_06b.sh — `milrun bench` on a random checkpoint of Qwen3-0.6B's shape (hidden 1024, 28 layers,
# 16/8 heads x 128, FFN 3072, vocab 151936; fixed seed, bf16, tied embeddings), converted three ways:
# LUT8 and LUT4 FFN + LM head, and fp16 (embeddings fp16 in all), context 512, batch 64.
#
#   bench/qwen3_06b.sh WORKDIR [THREADS]        (THREADS default 2)
#   environment: BUILD (default build), P, N, R (default 512, 128, 5), VARIANTS (default "lut8 lut4 fp16")
#
# The checkpoint (WORKDIR/Qwen3-0.6B-random, 1.2 GB) and the bundles (WORKDIR/lut8, lut4, fp16) are
# made once and reused. bench/llama_baseline.py WORKDIR runs llama.cpp on GGUFs of the same checkpoint.
set -eu
W=${1:?usage: bench/qwen3_06b.sh WORKDIR [THREADS]}
T=${2:-2}
BUILD=${BUILD:-build}
HF=$W/Qwen3-0.6B-random
[ -f "$HF/model.safetensors" ] || "$BUILD/bench_convert_qwen3_06b" "$W" --checkpoint-only
for v in ${VARIANTS:-lut8 lut4 fp16}; do
  case $v in
    lut8) opts="--lut-ffn 8 --lut-lmhead 8" ;;
    lut4) opts="--lut-ffn 4 --lut-lmhead 4" ;;
    fp16) opts="" ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
  # shellcheck disable=SC2086
  [ -f "$W/$v/meta.yaml" ] || "$BUILD/milrun" convert "$HF" "$W/$v" $opts --context 512 --batch 64 --quiet
  "$BUILD/milrun" bench "$W/$v" -p "${P:-512}" -n "${N:-128}" -r "${R:-5}" --threads "$T"
  echo
done
