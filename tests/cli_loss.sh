#!/usr/bin/env bash
# End-to-end: `lsprobe loss` on the PyTorch case and its error paths.
. "$(dirname "$0")/e2e_common.sh"
C="$DATA/lsce_n1024_k10_eps0.1"

expect_exit 0 "loss on the PyTorch case" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing 0.1 --grad-out "$SCR/g.npy"
grep -q '^loss 2\.73414' "$SCR/out" && ok "prints 2.73414" || bad "prints $(cat "$SCR/out")"
"$TOOLS/npycmp" "$SCR/g.npy" "$C/grad.npy" 1e-7 && ok "gradient equals PyTorch's to 1e-7" || bad "gradient differs from PyTorch's"

expect_exit 0 "--json" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing=0.1 --json
grep -q '"loss": 2\.73414' "$SCR/out" && grep -q '"convention": "uniform"' "$SCR/out" && ok "JSON has loss and settings" || bad "JSON: $(cat "$SCR/out")"

expect_exit 0 "--help" "$LSP" loss --help
grep -q -- '--smoothing' "$SCR/out" && ok "help lists options" || bad "help"

# bad usage: exit 2, nothing written
expect_exit 2 "eps above 1" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing 1.5 --grad-out "$SCR/no.npy"
expect_err "--smoothing" "eps above 1"
expect_exit 2 "eps not a number" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing abc
expect_err "not a number" "eps not a number"
expect_exit 2 "unknown convention" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --convention foo
expect_err "--convention" "unknown convention"
expect_exit 2 "missing --labels" "$LSP" loss --logits "$C/logits.npy"
expect_err "--labels is required" "missing --labels"
expect_exit 2 "unknown option" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --frobnicate
expect_exit 2 "unknown command" "$LSP" frobnicate
# bad data: exit 1, message names the file
expect_exit 1 "missing file" "$LSP" loss --logits "$SCR/none.npy" --labels "$C/labels.npy" --grad-out "$SCR/no.npy"
expect_err "none.npy" "missing file"
head -c 100 "$C/logits.npy" >"$SCR/trunc.npy"
expect_exit 1 "truncated logits" "$LSP" loss --logits "$SCR/trunc.npy" --labels "$C/labels.npy" --grad-out "$SCR/no.npy"
expect_err "trunc.npy: truncated" "truncated logits"
expect_exit 1 "row mismatch" "$LSP" loss --logits "$C/logits.npy" --labels "$DATA/torch_mlp_tiny/labels.npy"
expect_err "rows" "row mismatch"
expect_exit 1 "directory as logits" "$LSP" loss --logits "$DATA" --labels "$C/labels.npy"
expect_err "is a directory" "directory as logits"
[ ! -e "$SCR/no.npy" ] && ok "no output written on failure" || bad "output written on failure"
ls "$SCR" | grep -q '\.tmp\.' && bad "temporary file left behind" || ok "no temporary left behind"

finish
