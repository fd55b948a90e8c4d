#!/usr/bin/env bash
# A release in one command: a clean native build, `npm pack` (prepack: tsc, cmake-js, scripts/prebuild.sh),
# then the install test on that very tarball. Output: release/mobilenet-native-<version>.tgz, ready
# for `npm publish release/<file>`. Needs libdnnl-dev, g++, cmake, patchelf and root (pack-test's unshare).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf build prebuilds release
mkdir -p release
npm pack --pack-destination release
bash scripts/pack-test.sh release/*.tgz
ls -l release/
