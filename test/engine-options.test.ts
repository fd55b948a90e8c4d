// engine.waitPolicy reaches libgomp: it reads OMP_WAIT_POLICY once, at start-up, and prints the
// value it took with OMP_DISPLAY_ENV. Each case runs in a fresh process (the policy is per process).
import { execFile } from 'child_process';
import * as path from 'path';
import { expect } from 'chai';

const LIB = path.resolve(__dirname, '..', 'lib');

function childPolicy(waitPolicy: string, env: Record<string, string> = {}): Promise<{ policy: string; inherited: string }> {
  const script = `const { load } = require(${JSON.stringify(LIB)});
    load({ weights: 'random', alpha: 0.25, resolution: 32, classes: 2, engine: { waitPolicy: ${JSON.stringify(waitPolicy)} } })
      .then((m) => { m.dispose(); console.log(JSON.stringify(process.env.OMP_WAIT_POLICY ?? 'unset')); });`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, OMP_DISPLAY_ENV: 'TRUE', ...env };
  if (!('OMP_WAIT_POLICY' in env)) delete childEnv.OMP_WAIT_POLICY;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}\n${stderr}`));
      const m = /OMP_WAIT_POLICY = '(\w+)'/.exec(stderr);
      resolve({ policy: m ? m[1] : 'not shown', inherited: JSON.parse(stdout.trim().split('\n').pop() as string) });
    });
  });
}

describe('engine.waitPolicy', function () {
  this.timeout(120000);

  it("'passive' and 'active' are what libgomp takes, and the environment is left as it was", async () => {
    const passive = await childPolicy('passive', { OMP_WAIT_POLICY: 'active' });  // the option wins over the environment
    expect(passive.policy).to.equal('PASSIVE');
    expect(passive.inherited, 'OMP_WAIT_POLICY after load()').to.equal('active');
    const active = await childPolicy('active');
    expect(active.policy).to.equal('ACTIVE');
    expect(active.inherited, 'OMP_WAIT_POLICY after load()').to.equal('unset');
  });

  it("'auto' keeps a user's own OMP_WAIT_POLICY", async () => {
    expect((await childPolicy('auto', { OMP_WAIT_POLICY: 'passive' })).policy).to.equal('PASSIVE');
  });
});
