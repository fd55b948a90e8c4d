/** The compiled addon, loaded once through `bindings` (build/Release/mobilenet_native.node). */
import bindings from 'bindings';
import * as path from 'path';
import { MobileNetError } from './errors';

export type NativeOutput = 'probabilities' | 'logits' | 'embedding';

export interface NativeArch {
  alpha: number;
  resolution: number;
  classes: number;
  channelRule: string;
  padding: string;
  bnEpsilon: number;
  variant: string;
}

export interface NativeModel {
  infer(input: Float32Array, batch: number, output: NativeOutput): Promise<Float32Array>;
  dispose(): void;
  stats(): { batches?: number; images?: number; jobs?: number; queueDepth?: number; pending: number };
}

export interface NativeLayer {
  name: string; type: string; kernel: number; stride: number; inChannels: number; outChannels: number;
  inSize: number; outSize: number; padBefore: number; padAfter: number; macs: number; params: number;
}

export interface NativeAddon {
  Model: new (arch: NativeArch, tensors: Float32Array[], options: { threads: number; maxBatch: number; maxWaitUs: number }) => NativeModel;
  specLayers(arch: NativeArch): NativeLayer[];
  info(): { onednn: string; cpuRuntime: string; isa: number };
}

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (!addon) {
    try {
      addon = bindings({ bindings: 'mobilenet_native', module_root: path.resolve(__dirname, '..', '..') }) as NativeAddon;
    } catch (e) {
      throw new MobileNetError(
        'ERR_UNSUPPORTED',
        `the native engine is not built or cannot load (${(e as Error).message.split('\n')[0]}); run \`npm run build\` (needs libdnnl-dev)`,
        { cause: e },
      );
    }
  }
  return addon;
}
