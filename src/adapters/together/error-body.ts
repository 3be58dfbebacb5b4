/** The parts of Together's `ErrorData` body we use; every field may be missing in odd bodies (HTML, text). */
export interface ProviderErrorBody {
  message: string | undefined;
  type: string | undefined;
  code: string | undefined;
  param: string | undefined;
}

/** Reads `{"error":{"message","type","code","param"}}`, other JSON, plain text or HTML into one shape. */
export function parseErrorBody(text: string): ProviderErrorBody {
  try {
    const json: unknown = JSON.parse(text);
    if (json && typeof json === 'object') {
      const root = json as Record<string, unknown>;
      const inner = (typeof root.error === 'object' && root.error !== null ? root.error : root) as Record<
        string,
        unknown
      >;
      const message =
        typeof inner.message === 'string'
          ? inner.message
          : typeof root.error === 'string'
            ? root.error
            : undefined;
      const code = inner.code ?? root.error_type;
      return {
        message,
        type: typeof inner.type === 'string' ? inner.type : undefined,
        code: typeof code === 'string' ? code : undefined,
        param: typeof inner.param === 'string' ? inner.param : undefined,
      };
    }
  } catch {
    // Not JSON: a proxy's HTML or a plain-text 503.
  }
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return {
    message: plain ? plain.slice(0, 300) : undefined,
    type: undefined,
    code: undefined,
    param: undefined,
  };
}
