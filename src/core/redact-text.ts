/**
 * Secrets by their shape, for text that pino's path redaction cannot see: the message strings SDKs log (Bolt,
 * Socket Mode, the Slack Web API client), which may quote a payload, a URL or a header.
 */
const SHAPES: ReadonlyArray<readonly [RegExp, string]> = [
  // Slack bot, user, legacy and refresh tokens, and app-level tokens.
  [/\bxox[a-z]-[A-Za-z0-9-]+/g, '[redacted]'],
  [/\bxapp-[A-Za-z0-9-]+/g, '[redacted]'],
  // Together keys: `tgp_v1_…`, and the older 64 hex digits (any SHA-256 in a message goes with them).
  [/\btgp_v1_[A-Za-z0-9_-]+/g, '[redacted]'],
  [/\b[0-9a-fA-F]{64}\b/g, '[redacted]'],
  // Discord bot tokens: three base64url parts.
  [/\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{20,}\b/g, '[redacted]'],
  // Authorization header values, however they are quoted.
  [/\b(Bearer|Basic|Bot)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/("?authorization"?\s*[:=]\s*"?)[^",}\s]+/gi, '$1[redacted]'],
  // A payload's verification token (JSON or form) and Socket Mode's connection ticket.
  [/("token"\s*:\s*")[^"]*/g, '$1[redacted]'],
  [/\b(token|ticket)=[^&\s"]+/g, '$1=[redacted]'],
];

/** Literal secrets shorter than this are not searched for: a short value would blank out ordinary words. */
const MIN_LITERAL = 8;

/**
 * Text with every known secret replaced by `[redacted]`: the given literal values (a signing secret has no
 * recognisable shape) and every token shape above.
 */
export function redactText(text: string, literals: readonly string[] = []): string {
  let out = text;
  for (const literal of literals) {
    if (literal.trim().length >= MIN_LITERAL) out = out.split(literal).join('[redacted]');
  }
  for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement);
  return out;
}
