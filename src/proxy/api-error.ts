import { ChaosError, ExitCode } from '../core/errors.ts';

/**
 * An error with the HTTP status the API answers with, Toxiproxy's table of named errors
 * (`{"error": message, "status": code}`). In-process callers get the same class, so a 400 maps
 * to "invalid input" and anything else to "internal".
 */
export class ProxyApiError extends ChaosError {
  override readonly exitCode: ExitCode;
  /** The errno code of the cause, e.g. EADDRINUSE when a proxy's listen port is taken. */
  readonly code: string | undefined;
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.exitCode = status >= 400 && status < 500 ? ExitCode.invalidInput : ExitCode.internal;
    this.code = (options?.cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

export const badRequest = (detail: string): ProxyApiError =>
  new ProxyApiError(`bad request body: ${detail}`, 400);
export const missingField = (field: string): ProxyApiError =>
  new ProxyApiError(`missing required field: ${field}`, 400);
export const proxyNotFound = (name: string): ProxyApiError =>
  new ProxyApiError(`proxy not found: ${name}`, 404);
export const proxyExists = (name: string): ProxyApiError =>
  new ProxyApiError(`proxy already exists: ${name}`, 409);
export const toxicNotFound = (name: string): ProxyApiError =>
  new ProxyApiError(`toxic not found: ${name}`, 404);
export const toxicExists = (name: string): ProxyApiError =>
  new ProxyApiError(`toxic already exists: ${name}`, 409);
export const invalidStream = (): ProxyApiError =>
  new ProxyApiError('stream was invalid, can be either upstream or downstream', 400);
