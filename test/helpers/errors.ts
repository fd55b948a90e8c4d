import { expect } from 'chai';
import { MobileNetError } from '../../lib/core/errors';

/** Awaits `p`, which must reject with a MobileNetError, and returns that error for further checks. */
export async function rejection(p: Promise<unknown>): Promise<MobileNetError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(MobileNetError);
    return e as MobileNetError;
  }
  throw new Error('expected a rejection');
}
