#!/usr/bin/env bash
# The plots and the HTML report as a person sees them (issue 18): runs trained on generated data
# (an MF, an MF over 2 seeds, the baseline), then
#   - `plot` writes an SVG that parses as XML and names every run, and a PNG (librsvg) that shows
#     each run's colour;
#   - `compare --html` writes a page that a real headless browser (Debian's chromium) renders:
#     its screenshot has the expected size, is not blank and shows each curve's colour. The
#     checker must also reject a blank page's screenshot, so that it can fail.
# MLREC_KEEP_REPORT=DIR keeps the report, the plots and the screenshot there to look at.
# usage: report_browser_test.sh MLREC_DIST PYTHON
set -uo pipefail
bin="$1"
py="$2"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

browser=""
for candidate in chromium chromium-browser google-chrome; do
  command -v "$candidate" >/dev/null 2>&1 && { browser="$candidate"; break; }
done
[ -n "$browser" ] || fail "no chromium on PATH: scripts/setup.sh --test-tools installs it"

"$bin" synth --out "$work/data" --users 200 --movies 80 --seed 11 >/dev/null || fail "synth"
train=(--config "$here/../../configs/smoke.yaml" --set "data.dir=$work/data" --set train.threads=1
       --set train.log_every_steps=0 --set train.epochs=4 --set train.patience=0 --set train.batch_size=64)
"$bin" "${train[@]}" --set "output.dir=$work/runs/mf" >"$work/mf.log" 2>&1 || fail "training mf"
"$bin" "${train[@]}" --set "output.dir=$work/runs/mf_seeds" --seeds 1,2 >"$work/seeds.log" 2>&1 || fail "training mf over seeds"
"$bin" --config "$here/../../configs/baseline.yaml" --set "data.dir=$work/data" --set "output.dir=$work/runs/baseline" \
  >"$work/baseline.log" 2>&1 || fail "the baseline"

# Curves are drawn in matplotlib's colours, in the order of the runs given.
blue=1f77b4 orange=ff7f0e green=2ca02c
runs=("$work/runs/mf" "$work/runs/mf_seeds" "$work/runs/baseline")
"$bin" plot "${runs[@]}" --out "$work/curves.svg" >"$work/plot.log" 2>&1 || fail "plot --out curves.svg"
"$py" - "$work/curves.svg" <<'PY' || fail "the SVG"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
for label in ("mf (mf)", "mf (mf_seeds): mean of 2 seeds", "baseline", "Validation MAE", "Training loss"):
    assert label in texts, f"no '{label}' in the SVG's text"
# mf: a line per panel; mf_seeds: a line per panel; a band where the seeds spread.
assert len(list(root.iter(ns + "polyline"))) == 4, "expected 4 curves"
print("curves.svg: well-formed, every run named")
PY

if "$bin" --version >/dev/null && "$bin" plot "${runs[@]}" --out "$work/curves.png" >"$work/png.log" 2>&1; then
  "$py" "$here/check_png.py" "$work/curves.png" --width 2000 --colour "$blue:300" --colour "$orange:300" \
    --colour "$green:100" || fail "curves.png"
else
  grep -q "without PNG support" "$work/png.log" || fail "plot --out curves.png"
  echo "this build writes no PNG (no librsvg): the refusal is checked instead"
fi

"$bin" compare "${runs[@]}" --html "$work/report.html" >"$work/compare.log" 2>&1 || fail "compare --html"
grep -q "<svg" "$work/report.html" || fail "the report has no plot"
if grep -Eq '(src|href)="(https?:)?//' "$work/report.html"; then fail "the report fetches something: not self-contained"; fi

screenshot() {  # screenshot URL PNG
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
    --window-size=1200,1400 --screenshot="$2" "$1" >>"$work/browser.log" 2>&1 || fail "$browser on $1"
}
screenshot "file://$work/report.html" "$work/report.png"
"$py" "$here/check_png.py" "$work/report.png" --width 1200 --height 1400 --colour "$blue:300" \
  --colour "$orange:300" --colour "$green:100" || fail "the report's screenshot"
echo '<!DOCTYPE html><html><body></body></html>' >"$work/blank.html"
screenshot "file://$work/blank.html" "$work/blank.png"
if "$py" "$here/check_png.py" "$work/blank.png" --colour "$blue:300" >/dev/null 2>&1; then
  fail "the screenshot check passes a blank page"
fi

if [ -n "${MLREC_KEEP_REPORT:-}" ]; then
  mkdir -p "$MLREC_KEEP_REPORT" && cp "$work"/{report.html,report.png,curves.svg} "$MLREC_KEEP_REPORT"/
  [ -f "$work/curves.png" ] && cp "$work/curves.png" "$MLREC_KEEP_REPORT"/
fi
echo "PASS: plot and compare --html, rendered by $($browser --version 2>/dev/null)"
