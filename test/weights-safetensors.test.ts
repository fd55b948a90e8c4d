import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { loadSafetensors } from '../lib/core/weights/safetensors';
import { randomWeights } from '../lib/core/weights/random';
import { expectedTensors } from '../lib/core/weights/types';
import { ArchSpec, DEFAULT_ARCH, weightedLayers } from '../lib/core/spec';
import { removeDir, tempDir, writeRawSafetensors, writeSafetensors } from './helpers/weights-fixtures';
import { rejection } from './helpers/errors';

/**
 * Writes random weights with the documented PyTorch names and layouts. The transposes are written
 * out index by index here, independently of the loader's.
 */
function torchTensors(arch: ArchSpec, seed: number) {
  const w = randomWeights(arch, seed);
  const out: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  const bn: Record<string, string> = { gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };
  for (const { name, shape } of expectedTensors(weightedLayers(arch))) {
    const t = w.tensors.get(name)!;
    const [layer, part] = name.split('/');
    if (layer === 'conv_preds' && part === 'kernel') {
      const [, , cin, k] = shape;
      const d = new Float32Array(t.length);
      for (let c = 0; c < cin; c++) for (let j = 0; j < k; j++) d[j * cin + c] = t[c * k + j];
      out.push({ name: 'fc.weight', shape: [k, cin], data: d });
    } else if (layer === 'conv_preds') out.push({ name: 'fc.bias', shape, data: t });
    else if (part === 'depthwise_kernel') {
      const [kh, kw, c] = shape;
      const d = new Float32Array(t.length);
      for (let ch = 0; ch < c; ch++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) d[(ch * kh + y) * kw + x] = t[(y * kw + x) * c + ch];
      out.push({ name: `${layer}.weight`, shape: [c, 1, kh, kw], data: d });
    } else if (part === 'kernel') {
      const [kh, kw, ci, co] = shape;
      const d = new Float32Array(t.length);
      for (let o = 0; o < co; o++) for (let i = 0; i < ci; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++)
        d[((o * ci + i) * kh + y) * kw + x] = t[((y * kw + x) * ci + i) * co + o];
      out.push({ name: `${layer}.weight`, shape: [co, ci, kh, kw], data: d });
    } else out.push({ name: `${layer}.${bn[part]}`, shape, data: t });
  }
  return { weights: w, torch: out };
}

describe('weights: safetensors loader', function () {
  this.timeout(20000);
  let dir: string;
  beforeEach(() => { dir = tempDir(); });
  afterEach(() => removeDir(dir));

  const cases: Array<[string, ArchSpec, Record<string, string> | undefined]> = [
    ['defaults (symmetric padding, ε 1e-5, α inferred)', { ...DEFAULT_ARCH, alpha: 0.5, padding: 'symmetric', bnEpsilon: 1e-5 }, undefined],
    ['metadata overrides', { ...DEFAULT_ARCH, alpha: 0.25, resolution: 160, classes: 10, padding: 'same', bnEpsilon: 1e-3 }, { alpha: '0.25', resolution: '160', padding: 'same', bn_eps: '0.001' }],
    ['the shallow variant (inferred)', { ...DEFAULT_ARCH, alpha: 0.25, variant: 'shallow', padding: 'symmetric', bnEpsilon: 1e-5 }, undefined],
    ['the full-conv variant (inferred)', { ...DEFAULT_ARCH, alpha: 0.25, variant: 'full-conv', padding: 'symmetric', bnEpsilon: 1e-5 }, undefined],
  ];
  for (const [label, arch, meta] of cases) {
    it(`round-trips random weights: ${label}`, async () => {
      const { weights, torch } = torchTensors(arch, 9);
      const f = path.join(dir, 'model.safetensors');
      writeSafetensors(f, torch.slice().reverse(), meta); // order in the file must not matter
      const w = await loadSafetensors(f);
      expect(w.arch).to.deep.equal(arch);
      expect(w.format).to.equal('safetensors');
      expect([...w.tensors.keys()]).to.deep.equal([...weights.tensors.keys()]);
      for (const [name, t] of weights.tensors) expect(Buffer.from(w.tensors.get(name)!.buffer).equals(Buffer.from(t.buffer)), name).to.equal(true);
    });
  }

  it('converts F16 and BF16 tensors and ignores num_batches_tracked', async () => {
    const arch: ArchSpec = { ...DEFAULT_ARCH, alpha: 0.25, classes: 5, padding: 'symmetric', bnEpsilon: 1e-5 };
    const { torch } = torchTensors(arch, 2);
    const header: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    let off = 0;
    const add = (name: string, dtype: string, shape: number[], b: Buffer) => {
      header[name] = { dtype, shape, data_offsets: [off, off + b.length] };
      chunks.push(b); off += b.length;
    };
    for (const t of torch) {
      if (t.name === 'conv1.weight') {
        const b = Buffer.alloc(t.data.length * 2);
        for (let i = 0; i < t.data.length; i++) b.writeUInt16LE(i % 2 ? 0x4000 : 0x3c00, i * 2); // half 2.0 at odd, 1.0 at even indices
        add(t.name, 'F16', t.shape, b);
      } else if (t.name === 'fc.bias') {
        const b = Buffer.alloc(10);
        [0x3f80, 0xbf80, 0x4000, 0x0000, 0x3f00].forEach((v, i) => b.writeUInt16LE(v, i * 2)); // 1, -1, 2, 0, 0.5
        add(t.name, 'BF16', t.shape, b);
      } else add(t.name, 'F32', t.shape, Buffer.from(t.data.buffer));
      if (t.name.endsWith('_bn.running_var')) add(t.name.replace('running_var', 'num_batches_tracked'), 'I64', [], Buffer.alloc(8));
    }
    const f = path.join(dir, 'm.safetensors');
    writeRawSafetensors(f, header, Buffer.concat(chunks));
    const w = await loadSafetensors(f);
    expect(Array.from(w.tensors.get('conv_preds/bias')!)).to.deep.equal([1, -1, 2, 0, 0.5]);
    const k = w.tensors.get('conv1/kernel')!; // OIHW [8,3,3,3] → HWIO: element (o=0,i=0,h=0,w=1) is source index 1
    expect(k[8 * 3 * 1]).to.equal(2); // h=0,w=1,i=0,o=0 ← source index 1
    expect(k[0]).to.equal(1);
  });

  describe('rejects corrupt files with ERR_WEIGHTS', () => {
    const arch: ArchSpec = { ...DEFAULT_ARCH, alpha: 0.25, classes: 10, padding: 'symmetric', bnEpsilon: 1e-5 };
    const good = () => {
      const f = path.join(dir, 'model.safetensors');
      writeSafetensors(f, torchTensors(arch, 4).torch);
      return f;
    };
    const expectError = async (f: string, ...fragments: string[]) => {
      const e = await rejection(loadSafetensors(f));
      expect(e.code).to.equal('ERR_WEIGHTS');
      for (const s of fragments) expect(e.message).to.contain(s);
    };
    const header = (f: string) => {
      const b = fs.readFileSync(f);
      const n = Number(b.readBigUInt64LE(0));
      return { json: JSON.parse(b.subarray(8, 8 + n).toString()), data: b.subarray(8 + n) };
    };

    it('a missing file', async () => expectError(path.join(dir, 'gone.safetensors'), 'gone.safetensors'));
    it('a file shorter than 8 bytes', async () => {
      const f = path.join(dir, 'x.safetensors'); fs.writeFileSync(f, Buffer.from([1, 2, 3]));
      await expectError(f, 'too short');
    });
    it('a header length beyond the file', async () => {
      const f = good(); const b = fs.readFileSync(f); b.writeBigUInt64LE(BigInt(b.length)); fs.writeFileSync(f, b);
      await expectError(f, 'header length');
    });
    it('a header that is not JSON', async () => {
      const f = path.join(dir, 'x.safetensors'); writeRawSafetensors(f, {}, Buffer.alloc(0));
      const b = fs.readFileSync(f); b[8] = 0x5b; /* '[' with nothing closing */ fs.writeFileSync(f, b);
      await expectError(f, 'JSON');
    });
    it('a truncated data section', async () => {
      const f = good(); const b = fs.readFileSync(f); fs.writeFileSync(f, b.subarray(0, b.length - 100));
      await expectError(f, 'truncated');
    });
    it('a byte span that does not match the shape', async () => {
      const f = good(); const { json, data } = header(f);
      json['conv_pw_3.weight'].shape = [16, 16, 1, 2];
      writeRawSafetensors(f, json, data);
      await expectError(f, 'conv_pw_3.weight', 'spans');
    });
    it('overlapping tensors', async () => {
      const f = good(); const { json, data } = header(f);
      const a = json['fc.bias'].data_offsets;
      json['fc.bias'].data_offsets = [a[0] - 4, a[1] - 4];
      writeRawSafetensors(f, json, data);
      await expectError(f, 'fc.bias');
    });
    it('an unsupported dtype', async () => {
      const f = good(); const { json, data } = header(f);
      json['conv1_bn.running_mean'].dtype = 'I32';
      writeRawSafetensors(f, json, data);
      await expectError(f, 'conv1_bn.running_mean', 'I32');
    });
    it('a missing tensor', async () => {
      const f = path.join(dir, 'model.safetensors');
      writeSafetensors(f, torchTensors(arch, 4).torch.filter((t) => t.name !== 'conv_dw_4_bn.running_var'));
      await expectError(f, 'conv_dw_4_bn.running_var', 'missing');
    });
    it('a wrong shape', async () => {
      const f = path.join(dir, 'model.safetensors');
      writeSafetensors(f, torchTensors(arch, 4).torch.map((t) => (t.name === 'conv_dw_2.weight' ? { ...t, shape: [16, 1, 9, 1] } : t)));
      await expectError(f, 'conv_dw_2.weight', '[16, 1, 9, 1]', '[16, 1, 3, 3]');
    });
    it('bad metadata', async () => {
      const f = path.join(dir, 'model.safetensors');
      writeSafetensors(f, torchTensors(arch, 4).torch, { padding: 'reflect' });
      await expectError(f, 'padding', 'reflect');
      writeSafetensors(f, torchTensors(arch, 4).torch, { alpha: 'wide' });
      await expectError(f, 'alpha');
      writeSafetensors(f, torchTensors(arch, 4).torch, { alpha: '0.5' }); // disagrees with the tensors
      await expectError(f, 'conv1.weight');
    });
    it('another network', async () => {
      const f = path.join(dir, 'model.safetensors');
      writeSafetensors(f, [{ name: 'layer1.0.conv1.weight', shape: [64, 3, 7, 7], data: new Float32Array(64 * 147) }]);
      await expectError(f, 'conv1.weight');
    });
  });
});
