#!/usr/bin/env bash
# Assembles prebuilds/linux-x64/ from build/Release: the addon, the shared objects it needs that are
# not part of glibc/libstdc++ (which Node itself links), an $ORIGIN rpath on each, and their licences.
# Needs patchelf and the system libs the addon was linked against (Debian: libdnnl2, libgomp1,
# ocl-icd-libopencl1). Run after `npm run build:native`; `npm pack` runs it through prepack.
set -euo pipefail
cd "$(dirname "$0")/.."
addon=build/Release/mobilenet_native.node
out="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
[ -f "$addon" ] || { echo "prebuild: $addon is missing; run npm run build:native first" >&2; exit 1; }
command -v patchelf >/dev/null || { echo "prebuild: needs patchelf (Debian: apt-get install patchelf)" >&2; exit 1; }

rm -rf prebuilds
mkdir -p "$out/licenses"
cp "$addon" "$out/"
# The platform the prebuild assumes: glibc, plus libstdc++/libgcc_s, which Node's own binary links.
platform_re='^(linux-vdso|libc|libm|libdl|libpthread|librt|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so'
bundled=()
while read -r name _ path _; do
  [[ "$name" =~ $platform_re ]] && continue
  [ -f "$path" ] || { echo "prebuild: $name is not resolved (ldd: $path)" >&2; exit 1; }
  cp -L "$path" "$out/$name"
  bundled+=("$name")
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1 || true)
  if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
    cp "/usr/share/doc/$pkg/copyright" "$out/licenses/$name.copyright"
  else
    echo "prebuild: no licence found for $name (package '${pkg:-?}')" >&2; exit 1
  fi
done < <(ldd "$addon" | awk '/=>/ {print $1, $2, $3, $4}')

# Each object finds its siblings first; RUNPATH is not inherited, so libdnnl needs its own.
for f in "$out"/*.node "$out"/*.so*; do
  patchelf --set-rpath '$ORIGIN' "$f"
done
strip --strip-unneeded "$out/mobilenet_native.node"

glibc=$(for f in "$out"/*.node "$out"/*.so*; do objdump -T "$f"; done | grep -oE 'GLIBC_[0-9.]+' | sort -Vu | tail -1)
glibcxx=$(for f in "$out"/*.node "$out"/*.so*; do objdump -T "$f"; done | grep -oE 'GLIBCXX_[0-9.]+' | sort -Vu | tail -1)
cat > "$out/README.md" <<MD
Prebuilt by scripts/prebuild.sh on $(. /etc/os-release && echo "$PRETTY_NAME"), $(date -u +%Y-%m-%d).
Needs ${glibc/_/ ≥ } and libstdc++ with ${glibcxx/_/ ≥ } (GCC 12 or newer); nothing else from the system.
Bundled: ${bundled[*]} (licences in licenses/, Debian's copyright files).
MD
echo "prebuild: $out ($(du -sh "$out" | cut -f1)): mobilenet_native.node ${bundled[*]}; needs $glibc, $glibcxx"
