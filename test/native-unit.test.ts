/**
 * The engine's C++ unit tests (test/native: plan_passes, the Executor on a fake runner, the spec and
 * BN folding), built by CMake with -DMOBILENET_TESTS=ON into build-tests/ (a cache kept between
 * runs, so only the first build compiles the engine) and run by ctest.
 */
import { spawnSync } from 'child_process';
import { expect } from 'chai';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = path.join(ROOT, 'build-tests');

/** Runs a command in the repository root; throws with its output when it exits non-zero. */
function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${output.slice(-20000)}`);
  return output;
}

describe('native unit tests (C++, ctest)', function () {
  this.timeout(900_000);

  before(() => {
    // Debug: the engine library compiles faster without optimisation, and the tests need no speed.
    run('cmake', ['-S', '.', '-B', BUILD, '-DMOBILENET_TESTS=ON', '-DMOBILENET_WERROR=ON', '-DCMAKE_BUILD_TYPE=Debug']);
    run('cmake', ['--build', BUILD, '--target', 'mobilenet_engine_tests', '--parallel', '2']);
  });

  it('every suite and case passes (plan_passes, executor, spec, network)', () => {
    const output = run('ctest', ['--test-dir', BUILD, '--output-on-failure', '--no-tests=error', '-V']);
    // The runner closes each suite with 'N passed, M failed'; ctest with '100% tests passed'.
    const counts = [...output.matchAll(/^(?:\d+: )?(\d+) passed, (\d+) failed$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
    const passed = counts.reduce((s, c) => s + c[0], 0);
    const failed = counts.reduce((s, c) => s + c[1], 0);
    expect(counts.length, 'suites run').to.be.at.least(4);
    expect(failed, 'failing C++ cases').to.equal(0);
    expect(passed, 'passing C++ cases').to.be.at.least(20);
    expect(output).to.match(/100% tests passed, 0 tests failed out of \d+/);
    console.log(`      ${passed} C++ cases in ${counts.length} ctest suites passed`);
  });
});
