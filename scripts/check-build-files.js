#!/usr/bin/env node
// CI check: CMakeLists.txt (cmake-js, the primary build) and binding.gyp (node-gyp: npm install and
// npm rebuild from the package) compile the same sources with the same defines.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));  // another checkout's root, for the test
const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8').replace(/#[^\n]*/g, '');
// gyp files are Python literals: strip comments and trailing commas to read them as JSON.
const gypText = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, '').replace(/,(\s*[\]}])/g, '$1');
const target = JSON.parse(gypText).targets.find((t) => t.target_name === 'mobilenet_native');

const cmakeSources = new Set();
for (const m of cmake.matchAll(/add_library\(\s*\S+\s+(?:STATIC|SHARED)\s+([^)]*)\)/g))
  for (const word of m[1].split(/\s+/)) if (/\.(cc|cpp)$/.test(word)) cmakeSources.add(word);
const cmakeDefines = new Set();
for (const m of cmake.matchAll(/target_compile_definitions\(\s*\S+\s+(?:PRIVATE|PUBLIC|INTERFACE)\s+([^)]*)\)/g))
  for (const word of m[1].split(/\s+/)) if (word) cmakeDefines.add(word);

function diff(name, a, b) {
  const onlyA = [...a].filter((x) => !b.has(x));
  const onlyB = [...b].filter((x) => !a.has(x));
  if (onlyA.length === 0 && onlyB.length === 0) return true;
  console.error(`${name} differ: only in CMakeLists.txt: [${onlyA.join(', ')}]; only in binding.gyp: [${onlyB.join(', ')}]`);
  return false;
}

const ok = [
  cmakeSources.size > 0 || (console.error('no sources found in CMakeLists.txt'), false),
  diff('sources', cmakeSources, new Set(target.sources)),
  diff('defines', cmakeDefines, new Set(target.defines)),
].every(Boolean);
if (!ok) process.exit(1);
console.log(`CMakeLists.txt and binding.gyp agree: ${cmakeSources.size} sources, defines ${[...cmakeDefines].join(' ')}`);
