import { describe, expect, it } from 'vitest';
import { type ImageCheckpoint, savedImageBytes } from '../../../src/queue/image-job.js';
import { decodeSaved, encodeSaved } from '../../../src/queue/saved-result.js';

describe('a provider result as the journal stores it', () => {
  it('is plain JSON when it holds no bytes, as results always were', () => {
    const answer = { text: 'line one\nline two', usage: { prompt: 3 } };
    const stored = encodeSaved(answer);
    expect(stored).toBe(JSON.stringify(answer));
    expect(decodeSaved(Buffer.from(stored))).toEqual(answer);
  });

  it('keeps images as bytes after the JSON, not as base64 inside it, and gives them back whole', () => {
    // Bytes that look like the format itself: newlines, braces, a placeholder's text.
    const first = Buffer.from('\n{"$blob":0}\n\u0000\u00ff', 'latin1');
    const second = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0a, 0x0a]);
    const saved = {
      images: [
        { mimeType: 'image/png', bytes: first },
        { mimeType: 'image/png', bytes: new Uint8Array(second) },
      ],
      requestId: 'req-1',
    };
    const stored = encodeSaved(saved);
    expect(Buffer.isBuffer(stored)).toBe(true);
    expect((stored as Buffer).length).toBeLessThan(200);
    expect((stored as Buffer).includes(first.toString('base64'))).toBe(false);
    const read = decodeSaved(stored as Buffer) as ImageCheckpoint;
    expect(read.requestId).toBe('req-1');
    expect(read.images.map((image) => image.mimeType)).toEqual(['image/png', 'image/png']);
    expect(savedImageBytes(read.images[0]!).equals(first)).toBe(true);
    expect(savedImageBytes(read.images[1]!).equals(second)).toBe(true);
  });

  it('still reads an image result saved as base64 text before bytes were kept as bytes', () => {
    const bytes = Buffer.from([1, 2, 3, 10, 255]);
    const old = JSON.stringify({ images: [{ mimeType: 'image/jpeg', base64: bytes.toString('base64') }] });
    const read = decodeSaved(Buffer.from(old)) as ImageCheckpoint;
    expect(savedImageBytes(read.images[0]!).equals(bytes)).toBe(true);
  });
});
