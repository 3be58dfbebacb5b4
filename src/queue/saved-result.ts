/**
 * How the journal stores a provider's result: JSON, with any bytes in it (an image job's images) kept as bytes
 * after the JSON instead of as base64 text inside it. A result with no bytes is plain JSON, as it always was; one
 * with bytes is the JSON (each byte array replaced by `{"$blob": i}`, their lengths in `blobs`), a newline, then the
 * bytes one after another. JSON text never holds a raw newline, so the first one ends it.
 */

const NEWLINE = 0x0a;

/** A result as Redis keeps it: a string when it holds no bytes, else one Buffer. */
export function encodeSaved(value: unknown): string | Buffer {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key, replaced: unknown) {
    // The value before `toJSON` (a Buffer's is an array of numbers): the holder's own property.
    const raw = this[key];
    if (!(raw instanceof Uint8Array)) return replaced;
    blobs.push(raw);
    return { $blob: blobs.length - 1 };
  });
  if (blobs.length === 0) return json;
  const header = `{"blobs":${JSON.stringify(blobs.map((b) => b.length))},"value":${json}}`;
  return Buffer.concat([Buffer.from(`${header}\n`), ...blobs]);
}

/** The result `encodeSaved` stored; its bytes come back as Buffers (views on `raw`, not copies). */
export function decodeSaved(raw: Buffer): unknown {
  const end = raw.indexOf(NEWLINE);
  if (end < 0) return JSON.parse(raw.toString('utf8'));
  const header = JSON.parse(raw.subarray(0, end).toString('utf8')) as { value: unknown; blobs: number[] };
  const blobs: Buffer[] = [];
  let at = end + 1;
  for (const length of header.blobs) {
    blobs.push(raw.subarray(at, at + length));
    at += length;
  }
  return revive(header.value, blobs);
}

function revive(value: unknown, blobs: readonly Buffer[]): unknown {
  if (Array.isArray(value)) return value.map((item) => revive(item, blobs));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]![0] === '$blob' && typeof entries[0]![1] === 'number') {
    return blobs[entries[0]![1]];
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, revive(item, blobs)]));
}
