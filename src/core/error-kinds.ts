/** The error taxonomy: every failed request gets exactly one kind. */
export const ERROR_KINDS = [
  'refused',
  'reset',
  'timeout',
  'dns',
  'tls',
  'http_4xx',
  'http_5xx',
  'other',
  // A stream (SSE) that the server closed before its end event.
  'stream_cut',
  // A flow step's check failed (expect:), or it needed a value that was never captured.
  'check',
  // gRPC status codes other than OK (src/core/grpc-status.ts maps them).
  'grpc_cancelled',
  'grpc_unknown',
  'grpc_invalid_argument',
  'grpc_deadline_exceeded',
  'grpc_not_found',
  'grpc_already_exists',
  'grpc_permission_denied',
  'grpc_resource_exhausted',
  'grpc_failed_precondition',
  'grpc_aborted',
  'grpc_out_of_range',
  'grpc_unimplemented',
  'grpc_internal',
  'grpc_unavailable',
  'grpc_data_loss',
  'grpc_unauthenticated',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

const BY_CODE: Record<string, ErrorKind> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  ECONNABORTED: 'reset',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EPROTO: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  CERT_HAS_EXPIRED: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls',
};

export function classifyError(err: unknown): ErrorKind {
  let e: unknown = err;
  // undici wraps socket errors; the root cause carries the errno code.
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (BY_CODE[code]) return BY_CODE[code];
      if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) return 'tls';
    }
    e = (e as { cause?: unknown }).cause;
  }
  return 'other';
}

export function classifyStatus(status: number): ErrorKind | null {
  if (status >= 500) return 'http_5xx';
  if (status >= 400) return 'http_4xx';
  return null;
}
