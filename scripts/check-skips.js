#!/usr/bin/env node
// CI: every pending test must have a reason and appear in test/expected-skips.json, so that a check
// that silently stopped running turns CI red instead of counting as "pending".
// Usage: node scripts/check-skips.js <skips.json written by the reporter>
'use strict';
const fs = require('fs');
const path = require('path');

const got = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const expected = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'test', 'expected-skips.json'), 'utf8'));
const problems = [];
const used = new Map();
for (const s of got) {
  if (!s.reason) {
    problems.push(`skipped without a reason: ${s.title}`);
    continue;
  }
  const entry = expected.find((e) => new RegExp(e.test).test(s.title) && new RegExp(e.reason).test(s.reason));
  if (!entry) {
    problems.push(`unexpected skip: ${s.title} (reason: ${s.reason})`);
    continue;
  }
  used.set(entry, (used.get(entry) ?? 0) + 1);
}
for (const [entry, n] of used) {
  if (n > (entry.max ?? 1)) problems.push(`${n} tests skipped for /${entry.test}/, at most ${entry.max ?? 1} expected`);
}
const allowed = expected.reduce((a, e) => a + (e.max ?? 1), 0);
console.log(`skips: ${got.length} pending, ${allowed} allowed by test/expected-skips.json`);
if (problems.length > 0) {
  for (const p of problems) console.error(`check-skips: ${p}`);
  process.exit(1);
}
