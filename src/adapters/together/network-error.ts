import { type CallKind, TogetherError } from './together-error.js';

/** Network error codes that mean the request never reached Together (safe to send again). */
const CONNECT_PHASE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** Whether a network error code means the connection never opened (nothing was sent). */
export function isConnectPhaseCode(code: string | undefined): boolean {
  return code !== undefined && CONNECT_PHASE_CODES.has(code);
}

/** The first string `code` on an error or its causes (undici nests them). */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Maps a failure with no HTTP response. A connect-phase failure means Together never saw the request; anything
 * later (reset, closed socket, timeout waiting for headers) may have left an image generation running, and billed.
 */
export function togetherErrorFromNetwork(input: {
  kind: CallKind;
  error: unknown;
  timedOut: boolean;
  timeoutMs: number;
}): TogetherError {
  const { kind, error } = input;
  const code = errorCode(error);
  const timedOut = input.timedOut || code === 'UND_ERR_HEADERS_TIMEOUT';
  const connectPhase = isConnectPhaseCode(code);
  const sentMayBill = !connectPhase && kind === 'image';
  const billNote = sentMayBill
    ? ' The request may have been billed, so it was not retried automatically.'
    : '';
  const detail = `${code ?? (error instanceof Error ? error.name : 'error')}`;
  if (timedOut) {
    return new TogetherError({
      code: 'timeout',
      kind,
      phase: 'sent',
      mayBeBilled: sentMayBill,
      logMessage: `Together ${kind} request timed out after ${input.timeoutMs} ms (${detail})`,
      userMessage: `Together did not answer within ${Math.round(input.timeoutMs / 1000)} s.${billNote || ' Try again shortly.'}`,
      cause: error,
    });
  }
  return new TogetherError({
    code: 'network',
    kind,
    phase: connectPhase ? 'connect' : 'sent',
    mayBeBilled: sentMayBill,
    logMessage: `Together ${kind} request failed before a response (${detail}${connectPhase ? ', connect phase' : ''})`,
    userMessage: connectPhase
      ? 'Could not reach Together. Try again shortly.'
      : `The connection to Together dropped before it answered.${billNote || ' Try again shortly.'}`,
    cause: error,
  });
}

/** undici headers (string or string[]) as one lower-case string map. */
export function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
