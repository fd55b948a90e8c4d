/** The package is compiled to CommonJS; ESM consumers must still get named exports. */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as path from 'path';
import { pathToFileURL } from 'url';

describe('module formats', () => {
  it('works from an ES module with named and default imports', () => {
    const index = pathToFileURL(path.resolve(__dirname, '..', 'lib', 'index.js')).href;
    const coffee = path.resolve(__dirname, '..', '..', 'assets', 'demo', 'coffee.png');
    const source = `
      import { load, MobileNetError } from ${JSON.stringify(index)};
      import pkg from ${JSON.stringify(index)};
      const m = await load();
      const [top] = await m.classify(${JSON.stringify(coffee)}, { topk: 1 });
      let code = '';
      try { await m.infer(new Float32Array(1), [1, 224, 224, 3]); } catch (e) { code = e instanceof MobileNetError ? e.code : 'not a MobileNetError'; }
      m.dispose();
      console.log(JSON.stringify({ label: top.className, code, defaultLoad: typeof pkg.load }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', source], { encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop() as string)).to.deep.equal({ label: 'espresso', code: 'ERR_SHAPE', defaultLoad: 'function' });
  });
});
