/**
 * mocha's spec reporter, plus a list of every pending test with the reason it was skipped. With
 * MOBILENET_SKIPS_FILE set it also writes that list as JSON for scripts/check-skips.js (CI).
 */
import * as fs from 'fs';
import Mocha from 'mocha';
import { skipReasons } from './skip';

const { EVENT_TEST_PENDING, EVENT_RUN_END } = Mocha.Runner.constants;

interface Skipped {
  title: string;
  reason: string;
}

/** The recorded reason for a test or, failing that, for the nearest suite above it. */
function reasonFor(test: Mocha.Runnable): string {
  for (let node: Mocha.Runnable | Mocha.Suite | undefined = test; node; node = node.parent) {
    const r = skipReasons.get(node.fullTitle());
    if (r) return r;
  }
  return '';
}

class SkipReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const skipped: Skipped[] = [];
    runner.on(EVENT_TEST_PENDING, (test) => skipped.push({ title: test.fullTitle(), reason: reasonFor(test) }));
    runner.once(EVENT_RUN_END, () => {
      if (skipped.length > 0) {
        console.log(`  skipped (${skipped.length}):`);
        for (const s of skipped) console.log(`    - ${s.title}\n      reason: ${s.reason || '(none given: use skipBecause() or requireData())'}`);
        console.log();
      }
      const file = process.env.MOBILENET_SKIPS_FILE;
      if (file) fs.writeFileSync(file, JSON.stringify(skipped, null, 2) + '\n');
    });
  }
}

export = SkipReporter;
