#!/usr/bin/env bash
# Regenerates the format-1 model files of this folder. Format 1 is only
# written by lsprobe up to commit 158ed33, so this builds that commit in a
# scratch worktree: bash tests/data/model_v1/gen_v1.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$tmp/src" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
git -C "$repo" worktree add --detach "$tmp/src" 158ed33 >/dev/null
cmake -S "$tmp/src" -B "$tmp/b" -DLSP_BUILD_TESTS=OFF -DLSP_BUILD_BENCH=OFF >/dev/null
cmake --build "$tmp/b" -j 2 >/dev/null
# the PyTorch export of tests/data/torch_mlp_tiny, saved as .lspm v1
gcc -std=c11 -I"$tmp/src" "$here/gen_v1.c" "$tmp/b/liblsp_core.a" \
  -lgsl -lopenblas -lz -lm -fopenmp -o "$tmp/gen"
"$tmp/gen" "$repo/tests/data/torch_mlp_tiny" "$here/torch_mlp_tiny.lspm"
# a trained model with a full training record
"$tmp/b/lsprobe" train --data synthetic:train=600,test=200,dim=16,classes=4 \
  --smoothing 0.1 --convention t2t --hidden 12,8 --epochs 3 --batch 32 \
  --lr 0.05 --momentum 0.8 --seed 7 --threads 1 \
  --out "$here/synthetic_t2t.lspm" --quiet
