#!/usr/bin/env node
// binding.gyp runs this before compiling: without oneDNN or libjpeg it prints what to install (the
// texts cmake/OneDNN.cmake and cmake/Jpeg.cmake print too) and fails, instead of a bare
// "dnnl.hpp: No such file" from g++.
// gyp fails on any stderr output, so it writes nothing when all is well.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const missing = fs.readFileSync(path.join(__dirname, '..', 'cmake', 'onednn-missing.txt'), 'utf8');
const cxx = process.env.CXX || 'c++';

function probe(source, out = []) {
  return spawnSync(cxx, ['-std=c++17', '-E', '-P', '-x', 'c++', ...out, '-'], { input: source, encoding: 'utf8' });
}

function failWith(message) {
  process.stderr.write(`\n${message.trimEnd()}\n\n`);
  process.exit(1);
}

const header = probe('#include <dnnl.hpp>\n', ['-o', '/dev/null']);
if (header.error) failWith(`mobilenet-native: no C++ compiler ('${cxx}': ${header.error.code}); install g++, make and python3.\n${missing}`);
if (header.status !== 0) failWith(`mobilenet-native: dnnl.hpp (oneDNN) not found by ${cxx}.\n${missing}`);
const version = probe('#include <oneapi/dnnl/dnnl_version.h>\nDNNL_VERSION_MAJOR.DNNL_VERSION_MINOR\n');
const found = (version.stdout || '').trim().split('\n').pop().replace(/\s+/g, '');
if (!/^2\.\d+$/.test(found)) failWith(`mobilenet-native is written for the oneDNN 2.x API; found oneDNN ${found}.\n${missing}`);
// jpeglib.h needs <stdio.h> first (it uses FILE and size_t without including them).
const jpeg = probe('#include <stdio.h>\n#include <jpeglib.h>\n', ['-o', '/dev/null']);
if (jpeg.status !== 0) failWith(`mobilenet-native: jpeglib.h (libjpeg) not found by ${cxx}.\n${fs.readFileSync(path.join(__dirname, '..', 'cmake', 'jpeg-missing.txt'), 'utf8')}`);
