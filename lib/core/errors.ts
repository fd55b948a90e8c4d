/**
 * Every error the library raises on purpose is a MobileNetError with a stable `code`;
 * callers branch on the code, never on the message text.
 */
export type ErrorCode =
  | 'ERR_INVALID_ARGUMENT' // an option or argument of the wrong type or out of range
  | 'ERR_SHAPE' // a tensor whose length or shape does not match the model
  | 'ERR_DTYPE' // a tensor of the wrong element type
  | 'ERR_WEIGHTS' // a weight file that is missing, truncated, or not MobileNet v1
  | 'ERR_INVALID_IMAGE' // image bytes that cannot be decoded
  | 'ERR_IMAGE_TOO_LARGE' // an image whose pixel count exceeds the configured limit
  | 'ERR_UNSUPPORTED_MEDIA' // bytes that are not an accepted raster format (by magic bytes), or SVG where it is not allowed
  | 'ERR_DECODE_TIMEOUT' // an image whose decode ran past its time limit (the decode was stopped)
  | 'ERR_READ' // an input file that exists but cannot be read (permissions, I/O error)
  | 'ERR_WRITE' // an output that cannot be written (disk full, I/O error)
  | 'ERR_UNSUPPORTED' // a valid request this build or CPU cannot serve
  | 'ERR_DISPOSED' // a call on a model after dispose()
  | 'ERR_DOWNLOAD' // a weight download that failed or was corrupt
  | 'ERR_CALIBRATION' // an INT8 calibration file that is missing, corrupt or for another model
  | 'ERR_QUEUE_FULL' // the executor's queue is over its limit
  | 'ERR_QUEUE' // the cluster's Redis queue cannot be reached, or another producer holds it
  | 'ERR_NATIVE'; // the native engine reported a failure (a bug or out of memory)

export class MobileNetError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MobileNetError';
    this.code = code;
  }
}

export function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new MobileNetError(code, message, cause === undefined ? undefined : { cause });
}

/** Human-readable name of a value's type, for "expected X, got Y" messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length?: number }).length ?? value.byteLength}`;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : `the number ${value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value)}`;
  return typeof value;
}
