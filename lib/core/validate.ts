/**
 * The one vocabulary for checking what callers pass (after sharp's lib/is.js): every failure is a
 * MobileNetError whose message reads "Expected <what> for <name> but received <value>".
 */
import { describe, fail, type ErrorCode } from './errors';

export const PREPROCESS_MODES = ['tfjs', 'center-crop'] as const;

/** Throws: "Expected `what` for `name` but received `value`". */
export function invalid(what: string, name: string, value: unknown, code: ErrorCode = 'ERR_INVALID_ARGUMENT'): never {
  return fail(code, `Expected ${what} for ${name} but received ${describe(value)}`);
}

/** An integer in [min, max]. */
export function int(value: unknown, name: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    invalid(max === Number.MAX_SAFE_INTEGER ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`, name, value);
  return value;
}

/** A finite number in [min, max]; with `exclusiveMin`, above min. */
export function number(value: unknown, name: string, min: number, max: number, exclusiveMin = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (exclusiveMin && value === min))
    invalid(`a number ${exclusiveMin ? 'above' : 'from'} ${min}${max === Number.MAX_VALUE ? '' : ` ${exclusiveMin ? 'and at most' : 'to'} ${max}`}`, name, value);
  return value;
}

/** One of `allowed` (compared with ===). */
export function oneOf<T>(value: unknown, name: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) invalid(`one of ${allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a))).join(', ')}`, name, value);
  return value as T;
}

export function bool(value: unknown, name: string): boolean {
  return oneOf(value, name, [true, false]);
}

/** A plain object (not null, not an array). */
export function plainObject(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid('an object', name, value);
  return value as Record<string, unknown>;
}

/** Refuses keys outside `known`: an unknown option is an error, not ignored. */
export function knownKeys(value: Record<string, unknown>, name: string, known: ReadonlySet<string>): void {
  for (const key of Object.keys(value))
    if (!known.has(key)) fail('ERR_INVALID_ARGUMENT', `unknown ${name} '${key}'; known: ${[...known].join(', ')}`);
}

/** `check(value)` when value is defined, else undefined. */
export function optional<T>(value: unknown, check: (v: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(value);
}

export function preprocess(value: unknown, name = 'preprocess'): (typeof PREPROCESS_MODES)[number] {
  return oneOf(value, name, PREPROCESS_MODES);
}

/** A command-line flag's parser: its string as a number, then `check`ed (an empty string is refused). */
export function flag(name: string, check: (n: unknown, name: string) => number): (v: string) => number {
  return (v: string): number => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isFinite(n)) invalid('a number', `--${name}`, v);
    return check(n, `--${name}`);
  };
}
