#!/usr/bin/env bash
# GPU check (<= 5 minutes on one GPU): every config on the GPU, the automatic twin and the manual
# twin (1 update per step, and the configs' updates_per_step), a one-GPU DDP run, a user's own
# table (the breast-cancer CSV, standardised: fit, then predict new rows from the checkpoint), a
# `lit-basics compare` of the notes' linear regression, the penguins (fit, predict by class name; a
# logistic regression with robust standard errors and its answer), a
# 1M-row CSV fit with the data on the GPU, a float64 fit of NIST's Filip polynomial (Legendre basis)
# with its certified digits, and the benchmark's CUDA section; prints a summary table.
# Needs the dev extras for the tables (pip install -e ".[dev]").
#   bash scripts/gpu_check.sh            (in an environment where `pip install -e .` was run)
set -uo pipefail
cd "$(dirname "$0")/.."
python - <<'PY' || { echo "no CUDA device: nothing to check"; exit 1; }
import torch, sys
sys.exit(0 if torch.cuda.is_available() else 1)
PY
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gpu=$(python -c "import torch; print(torch.cuda.get_device_name(0))")
results=()
run() {  # name, then lit-basics arguments
  local name=$1; shift
  local start=$SECONDS
  if (cd "$work" && timeout 120 lit-basics "$@" > "$work/$name.log" 2>&1); then status=ok; else status=FAILED; fi
  local line
  line=$(grep -E "^Trained|^Predictions|^\| (heavy_ball|nesterov) |^error:" "$work/$name.log" | tail -1)
  results+=("| $name | $status | $((SECONDS - start)) s | ${line} |")
}
for config in linear polynomial logistic softmax; do
  run "$config-automatic" fit -c "$PWD/configs/$config.yaml" --trainer.accelerator=gpu \
    --model.optimization=automatic --trainer.enable_progress_bar=false
  run "$config-manual-1-per-step" fit -c "$PWD/configs/$config.yaml" --trainer.accelerator=gpu \
    --model.optimization=manual --model.updates_per_step=1 --trainer.enable_progress_bar=false
  run "$config-manual-as-configured" fit -c "$PWD/configs/$config.yaml" --trainer.accelerator=gpu \
    --model.optimization=manual --trainer.enable_progress_bar=false
done
run "ddp-1gpu" fit -c "$PWD/configs/ddp.yaml" --trainer.accelerator=gpu --trainer.devices=1 \
  --trainer.enable_progress_bar=false
python scripts/own_data_example.py "$work/cancer" > /dev/null
own=(--model LogisticRegression --model.l2=0.01 --data ArrayDataModule --data.path "$work/cancer/train.csv"
     --data.scale=standardize --data.val_fraction=0.2 --trainer.accelerator=gpu --trainer.enable_progress_bar=false)
run "own-data-fit" fit "${own[@]}"
run "own-data-predict" predict "${own[@]}" --ckpt_path last --data.predict_path "$work/cancer/new.csv"
run "compare-linear" compare -c "$PWD/configs/linear.yaml" --trainer.accelerator=gpu --trainer.max_steps=1100
# Real tables: the penguins as they ship (text, NA, class names), and a 1M x 30 CSV with the data
# resident on the GPU (the exact optimum and the diagnosis are computed there too).
python scripts/penguins_example.py "$work/penguins" > /dev/null
pg=(--model SoftmaxRegression --model.l2=0.01 --model.lr=auto --data ArrayDataModule
    --data.path "$work/penguins/train.csv" --data.target species --data.missing=drop --data.scale=standardize
    --trainer.accelerator=gpu --trainer.enable_progress_bar=false)
run "penguins-fit" fit "${pg[@]}"
run "penguins-predict" predict "${pg[@]}" --ckpt_path last --data.predict_path "$work/penguins/new.csv"
# The model's answer on the GPU: a logistic regression of the penguins' sex with robust (HC0)
# standard errors, float64, momentum auto; the table, glance.csv and the digits line are computed there.
run "penguins-robust-fit" fit --model LogisticRegression --model.lr=auto --model.momentum=auto \
  --model.std_errors=HC0 --data ArrayDataModule --data.path "$work/penguins/train.csv" --data.target sex \
  --data.features '[island, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g]' \
  --data.missing=drop --data.scale=standardize --trainer.precision=64-true --trainer.accelerator=gpu \
  --trainer.max_steps=1000 --trainer.enable_progress_bar=false
robust=$(grep -E "^Estimates:" "$work/penguins-robust-fit.log" | tail -1)
results+=("| penguins-robust-fit answer | $([ -n "$robust" ] && echo ok || echo FAILED) | - | ${robust:-no digits line} |")
python -c "import sys; sys.path.insert(0, 'scripts'); from pathlib import Path; import tables_benchmark as t; \
t.write_tables(Path(sys.argv[1]), 1_000_000)" "$work"
run "table-1m-fit" fit --model LogisticRegression --data ArrayDataModule --data.path "$work/t1000000.csv" \
  --trainer.accelerator=gpu --trainer.max_steps=20 --trainer.enable_progress_bar=false
# Float64 on the GPU: the NIST Filip polynomial (degree 10) in the Legendre basis, lr and momentum
# auto, 2000 updates; the coefficient table's certified digits are printed by the check below.
python -c "import sys; sys.path.insert(0, '.'); from tests.nist_strd import PROBLEMS; p = PROBLEMS['Filip']; open(sys.argv[1], 'w').write('x,y\n' + ''.join(f'{a[0]!r},{b!r}\n' for a, b in zip(p.x, p.y)))" "$work/filip.csv"
run "filip-float64" fit --model PolynomialRegression --model.degree=10 --model.basis=legendre --model.lr=auto \
  --model.momentum=auto --model.optimization=manual --data ArrayDataModule --data.path "$work/filip.csv" \
  --trainer.precision=64-true --trainer.accelerator=gpu --trainer.max_steps=2000 --trainer.enable_progress_bar=false
filip_digits=$(python -c "import csv, glob, math, sys; sys.path.insert(0, '.'); from tests.nist_strd import PROBLEMS; \
rows = list(csv.DictReader(open(sorted(glob.glob(sys.argv[1] + '/runs/polynomial/version_*/coefficients.csv'))[-1]))); \
print(round(min(-math.log10(abs(float(r['estimate']) - c) / abs(c)) for r, c in zip(rows, PROBLEMS['Filip'].estimates)), 1))" \
  "$work" 2>/dev/null || echo "?")
results+=("| filip-float64 certified digits | $([ "$filip_digits" != "?" ] && echo ok || echo FAILED) | - | $filip_digits (>= 6 expected) |")
bench_start=$SECONDS
if timeout 150 python scripts/benchmark.py --cuda-only --out "$work/bench" > "$work/bench.log" 2>&1; then
  bench=ok
else
  bench=FAILED
fi
echo
echo "GPU check on: $gpu (torch $(python -c 'import torch; print(torch.__version__)'))"
echo
echo "| run | status | time | result |"
echo "|---|---|---|---|"
printf '%s\n' "${results[@]}"
echo "| benchmark CUDA section | $bench | $((SECONDS - bench_start)) s | see below |"
echo
cat "$work/bench/benchmark.md" 2>/dev/null || tail -20 "$work/bench.log"
grep -q FAILED <<< "${results[*]} $bench" && exit 1 || exit 0
