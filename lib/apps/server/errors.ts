/**
 * How errors become HTTP responses. Every error body is `{ code, message }`. Library errors keep
 * their MobileNetError code; errors that only exist at the HTTP layer (a body over the limit, an
 * unknown route, a full queue) get the codes below. Bad input is always a 4xx: a 500 means a bug.
 */
import { type ErrorCode, MobileNetError } from '../../core';

export type HttpErrorCode =
  | 'ERR_BODY_TOO_LARGE' // request body over --max-body-mb
  | 'ERR_UNSUPPORTED_MEDIA_TYPE' // a content type that is neither an image, octet-stream nor multipart
  | 'ERR_BAD_REQUEST' // a malformed request (bad multipart, no image, bad headers)
  | 'ERR_NOT_FOUND' // unknown route
  | 'ERR_UNKNOWN_MODEL' // ?model= names no loaded model
  | 'ERR_TIMEOUT' // the inference did not finish within --timeout-ms
  | 'ERR_SHUTTING_DOWN' // the server is draining after SIGTERM
  | 'ERR_INTERNAL'; // a bug

/** One table for the status of every library error code, checked for completeness by the compiler. */
export const STATUS_OF_CODE: Record<ErrorCode | HttpErrorCode, number> = {
  ERR_INVALID_ARGUMENT: 400,
  ERR_SHAPE: 400,
  ERR_DTYPE: 400,
  ERR_BAD_REQUEST: 400,
  ERR_NOT_FOUND: 404,
  ERR_UNKNOWN_MODEL: 404,
  ERR_BODY_TOO_LARGE: 413,
  ERR_IMAGE_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_INVALID_IMAGE: 422,
  ERR_UNSUPPORTED_MEDIA: 415,
  ERR_DECODE_TIMEOUT: 422,
  ERR_READ: 500,
  ERR_WRITE: 500,
  ERR_UNSUPPORTED: 422,
  ERR_QUEUE_FULL: 503,
  ERR_QUEUE: 503, // cluster batches only; the server never raises it
  ERR_TIMEOUT: 503,
  ERR_SHUTTING_DOWN: 503,
  ERR_DISPOSED: 503, // a model disposed under a request: only during shutdown
  ERR_WEIGHTS: 500,
  ERR_DOWNLOAD: 500,
  ERR_CALIBRATION: 500,
  ERR_NATIVE: 500,
  ERR_INTERNAL: 500,
};

export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
  get statusCode(): number {
    return STATUS_OF_CODE[this.code];
  }
}

/** Fastify's own 4xx errors (body parsing, routing), by their FST_ codes. */
const FASTIFY_CODES: Record<string, HttpErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'ERR_BAD_REQUEST',
  FST_REQ_FILE_TOO_LARGE: 'ERR_BODY_TOO_LARGE',
};

export interface ErrorReply {
  status: number;
  body: { code: string; message: string };
}

/** Maps anything thrown while handling a request to a status and a `{ code, message }` body. */
export function toErrorReply(e: unknown): ErrorReply {
  if (e instanceof MobileNetError || e instanceof HttpError) {
    return { status: STATUS_OF_CODE[e.code] ?? 500, body: { code: e.code, message: e.message } };
  }
  const err = e as { statusCode?: unknown; code?: unknown; message?: unknown };
  const status = typeof err?.statusCode === 'number' ? err.statusCode : 500;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  if (status >= 400 && status < 500) {
    const fst = typeof err.code === 'string' ? FASTIFY_CODES[err.code] : undefined;
    const code = fst ?? (status === 413 ? 'ERR_BODY_TOO_LARGE' : status === 415 ? 'ERR_UNSUPPORTED_MEDIA_TYPE' : status === 404 ? 'ERR_NOT_FOUND' : 'ERR_BAD_REQUEST');
    return { status, body: { code, message } };
  }
  if (status === 503) return { status, body: { code: 'ERR_SHUTTING_DOWN', message } };
  return { status: 500, body: { code: 'ERR_INTERNAL', message } };
}
