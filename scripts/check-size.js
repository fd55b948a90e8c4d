#!/usr/bin/env node
// Size budget of the sources (issue 17): no file over 400 lines and no function over 80 lines in
// lib/ and native/. TypeScript functions are measured with the TypeScript compiler's parse tree;
// C++ functions by matching braces after comments and literals are blanked. Prints the largest of
// each and exits 1 when something is over. Usage: node scripts/check-size.js [--top N] [root]
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;
const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 5;
const root = path.resolve(args[0] || path.join(__dirname, '..'));

function walk(dir, exts) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return walk(p, exts);
    return exts.some((x) => e.name.endsWith(x)) ? [p] : [];
  });
}

const lineCount = (text) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

/** TypeScript: every function-like node with a body, named by itself or by what holds it. */
function tsFunctions(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out = [];
  const nameOf = (node) => {
    if (node.name && ts.isIdentifier(node.name)) return node.name.text;
    if (ts.isConstructorDeclaration(node)) return 'constructor';
    const p = node.parent;
    if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
    if (p && ts.isPropertyAssignment(p) && p.name && ts.isIdentifier(p.name)) return p.name.text;
    if (p && ts.isPropertyDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
    return '(anonymous)';
  };
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ name: nameOf(node), line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** C++ with comments, string and character literals and preprocessor lines replaced by spaces (newlines kept). */
function blankCpp(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/R"(\w*)\([\s\S]*?\)\1"/g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/\/\/[^\n]*/g, (m) => ' '.repeat(m.length))
    .replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, (m) => ' '.repeat(m.length))
    .replace(/^[ \t]*#(?:[^\n]*\\\n)*[^\n]*/gm, (m) => m.replace(/[^\n]/g, ' '));
}

const NOT_A_FUNCTION = /^(if|for|while|switch|catch|do|else|return|namespace|class|struct|enum|union|extern)\b|=\s*$|\]\s*(\([^)]*\))?\s*(mutable\s*)?(->[^{]*)?$/;

/** C++: a `{` whose header (text since the last ; { or }) ends in a parameter list, opened at namespace or class level. */
function cppFunctions(text) {
  const src = blankCpp(text);
  const out = [];
  const stack = [];  // kind of each open brace: 'scope' (namespace, class, extern) or 'body'
  let headerStart = 0;
  let line = 1;
  let open;  // the function being measured: { name, line, depth }
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\n') line++;
    else if (c === ';') headerStart = i + 1;
    else if (c === '{') {
      const header = src.slice(headerStart, i).replace(/\s+/g, ' ').trim();
      const atScope = stack.every((k) => k === 'scope');
      let kind = 'body';
      if (/^(namespace|extern)\b|^(template ?<[^>]*> ?)?(class|struct|union)\b[^()]*$/.test(header)) kind = 'scope';
      else if (atScope && !open && /\)\s*(const|noexcept|override|final|\s)*(->[^{]*)?(:[\s\S]*)?$/.test(header) && !NOT_A_FUNCTION.test(header)) {
        const name = (/([~\w:]+|operator\W+)\s*\([^()]*(\([^()]*\)[^()]*)*\)\s*(const|noexcept|override|final|\s)*(->[^{]*)?(:[\s\S]*)?$/.exec(header) || [, '(unnamed)'])[1];
        const raw = src.slice(headerStart, i);
        const at = Math.max(0, raw.lastIndexOf(name.replace(/\s+/g, '')));
        const headerLine = line - (raw.slice(at).match(/\n/g) || []).length;
        open = { name, line: headerLine, depth: stack.length };
      }
      stack.push(kind);
      headerStart = i + 1;
    } else if (c === '}') {
      stack.pop();
      headerStart = i + 1;
      if (open && stack.length === open.depth) {
        out.push({ name: open.name, line: open.line, lines: line - open.line + 1 });
        open = undefined;
      }
    }
  }
  return out;
}

const files = [];
const functions = [];
for (const file of walk(path.join(root, 'lib'), ['.ts']).concat(walk(path.join(root, 'native'), ['.cc', '.h', '.hpp', '.cpp']))) {
  const text = fs.readFileSync(file, 'utf8');
  const rel = path.relative(root, file);
  files.push({ file: rel, lines: lineCount(text) });
  const found = file.endsWith('.ts') ? tsFunctions(file, text) : cppFunctions(text);
  for (const f of found) functions.push({ ...f, file: rel });
}
files.sort((a, b) => b.lines - a.lines);
functions.sort((a, b) => b.lines - a.lines);

const overFiles = files.filter((f) => f.lines > MAX_FILE_LINES);
const overFunctions = functions.filter((f) => f.lines > MAX_FUNCTION_LINES);
console.log(`size check: ${files.length} files, ${functions.length} functions in lib/ and native/ (limits: ${MAX_FILE_LINES} lines a file, ${MAX_FUNCTION_LINES} a function)`);
console.log('largest files:');
for (const f of files.slice(0, top)) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}`);
console.log('largest functions:');
for (const f of functions.slice(0, top)) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}:${f.line} ${f.name}`);
for (const f of overFiles) console.error(`over ${MAX_FILE_LINES} lines: ${f.file} (${f.lines})`);
for (const f of overFunctions) console.error(`over ${MAX_FUNCTION_LINES} lines: ${f.file}:${f.line} ${f.name} (${f.lines})`);
process.exit(overFiles.length + overFunctions.length > 0 ? 1 : 0);
