#!/usr/bin/env bash
# The GPU measurements of issue 15 in one short run (at most 7.5 minutes: the steps' limits add up to 440 s):
#
#     bash bench/gpu_check.sh            # writes its log to $OUT/gpu_check.log when OUT is set, else ./gpu_check.log
#
# 1. tests/test_fast_paths.py on CUDA (the default CUDA path, inductor-compiled, gives the plain captions);
# 2. BLIP-2 OPT-2.7B shape (random weights, bf16, 20 new tokens): batch 1 beam 5 and batch 32 greedy,
#    plain generate() beside the project's caption_images (static cache, compiled decoding, prefetch), peak memory;
# 3. PaliGemma2-3B-224 shape LoRA r 8: the plain Trainer at batch 16 beside the project defaults (fused AdamW,
#    logits only over the caption positions) at batch 16 and 32, images/s and peak memory.
# Every step has its own time limit, so one that hangs or runs out of memory does not stop the others.
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python
LOG=${OUT:-.}/gpu_check.log
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
step() {  # step SECONDS TITLE COMMAND...
    local limit=$1 title=$2
    shift 2
    echo "== $title (limit ${limit}s)" | tee -a "$LOG"
    local began=$SECONDS
    timeout "$limit" "$@" 2>&1 | grep -v -e "Loading weights" -e "Warning" | tee -a "$LOG"
    echo "== exit ${PIPESTATUS[0]} after $((SECONDS - began))s" | tee -a "$LOG"
}
: > "$LOG"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$LOG"
step 60 "fast-path tests on CUDA" "$PY" -m pytest -q -p no:cacheprovider tests/test_fast_paths.py
step 100 "BLIP-2 OPT-2.7B batch 1, beam 5" "$PY" bench/bench_caption.py --tiny-shape blip2-opt-2.7b \
    --device cuda --dtype bf16 --batch-sizes 1 --beams 5 --batches 8
step 100 "BLIP-2 OPT-2.7B batch 32, greedy" "$PY" bench/bench_caption.py --tiny-shape blip2-opt-2.7b \
    --device cuda --dtype bf16 --batch-sizes 32 --beams 1 --batches 2
step 90 "PaliGemma2-3B-224 LoRA, batch 16 both" "$PY" bench/bench_training.py --shape paligemma2-3b-224 \
    --batch 16 --steps 8 --warmup 2
step 90 "PaliGemma2-3B-224 LoRA, plain 16 vs project 32" "$PY" bench/bench_training.py --shape paligemma2-3b-224 \
    --batch 16 --project-batch 32 --steps 8 --warmup 2
echo "log: $LOG"
