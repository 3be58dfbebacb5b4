import { describe, expect, it } from 'vitest';
import { isProviderFailure } from '../../../src/core/lorabot-error.js';
import {
  dataUrl,
  type SourceProblem,
  sniffImageSize,
  sniffImageType,
  sourceImageError,
} from '../../../src/core/source-images.js';
import { renderImage } from '../../contract/fakes/test-images.js';

const bytes = (...values: Array<number | string>) =>
  new Uint8Array(values.flatMap((v) => (typeof v === 'string' ? [...v].map((c) => c.charCodeAt(0)) : [v])));

describe('sniffImageSize', () => {
  const le = (value: number, length: number) => Array.from({ length }, (_, i) => (value >> (8 * i)) & 0xff);

  it('reads the pixel size of real PNG and JPEG files', () => {
    for (const format of ['png', 'jpeg'] as const) {
      expect(sniffImageSize(renderImage({ width: 700, height: 90, seed: 3, format }))).toEqual({
        width: 700,
        height: 90,
      });
    }
  });

  it('reads GIF and the three WebP headers (lossy, lossless, extended) as their specifications lay them out', () => {
    expect(sniffImageSize(bytes('GIF89a', ...le(640, 2), ...le(480, 2), 0, 0))).toEqual({
      width: 640,
      height: 480,
    });
    const riff = (chunk: string, ...rest: number[]) =>
      bytes('RIFF', 0, 0, 0, 0, 'WEBP', chunk, 0, 0, 0, 0, ...rest);
    const lossy = riff('VP8 ', 0, 0, 0, 0x9d, 0x01, 0x2a, ...le(1200, 2), ...le(800, 2));
    expect(sniffImageSize(lossy)).toEqual({ width: 1200, height: 800 });
    const lossless = riff('VP8L', 0x2f, ...le((1023 << 14) | 299, 4), 0, 0, 0, 0, 0);
    expect(sniffImageSize(lossless)).toEqual({ width: 300, height: 1024 });
    const extended = riff('VP8X', 0, 0, 0, 0, ...le(1919, 3), ...le(1079, 3));
    expect(sniffImageSize(extended)).toEqual({ width: 1920, height: 1080 });
  });

  it('is undefined for a file that is not an image or whose header is cut short', () => {
    expect(sniffImageSize(bytes('%PDF-1.7 ...'))).toBeUndefined();
    expect(sniffImageSize(bytes(0xff, 0xd8, 0xff, 0xe0, 0, 16))).toBeUndefined();
    expect(
      sniffImageSize(renderImage({ width: 8, height: 8, seed: 1, format: 'png' }).subarray(0, 20)),
    ).toBeUndefined();
  });
});

describe('sniffImageType', () => {
  it('reads the type from the first bytes of real PNG and JPEG files', () => {
    expect(sniffImageType(renderImage({ width: 8, height: 8, seed: 1, format: 'png' }))).toBe('image/png');
    expect(sniffImageType(renderImage({ width: 8, height: 8, seed: 1, format: 'jpeg' }))).toBe('image/jpeg');
  });

  it('knows WebP and both GIF versions by their signatures', () => {
    expect(sniffImageType(bytes('RIFF', 0, 0, 0, 0, 'WEBPVP8 '))).toBe('image/webp');
    expect(sniffImageType(bytes('GIF87a', 1, 0))).toBe('image/gif');
    expect(sniffImageType(bytes('GIF89a', 1, 0))).toBe('image/gif');
  });

  it.each([
    ['a PDF', bytes('%PDF-1.7 ...')],
    ['an HTML sign-in page', bytes('<!DOCTYPE html><html>')],
    ['a RIFF that is not WebP (a WAV)', bytes('RIFF', 0, 0, 0, 0, 'WAVEfmt ')],
    ['a truncated PNG signature', bytes(0x89, 'PN')],
    ['nothing', new Uint8Array()],
  ])('refuses %s', (_, input) => {
    expect(sniffImageType(input)).toBeUndefined();
  });
});

describe('dataUrl', () => {
  it('carries the type and the bytes, base64', () => {
    expect(dataUrl({ bytes: bytes('GIF89a'), mimeType: 'image/gif' })).toBe('data:image/gif;base64,R0lGODlh');
  });
});

describe('sourceImageError', () => {
  it('is a provider failure the worker ends at $0: never billed, retried only when it may pass', () => {
    const retried: SourceProblem[] = [];
    const problems: SourceProblem[] = [
      'not_image',
      'too_large',
      'timeout',
      'not_found',
      'refused',
      'server',
      'unreachable',
      'bad_url',
      'no_slack',
      'no_public_url',
      'result_gone',
      'upload_gone',
    ];
    for (const problem of problems) {
      const error = sourceImageError(problem, 'detail for the log', {
        maxBytes: 20 * 1024 * 1024,
        status: 404,
      });
      expect(isProviderFailure(error)).toBe(true);
      expect(error).toMatchObject({ code: `source_${problem}`, mayBeBilled: false, billed: false });
      expect(error.userMessage).not.toContain('detail for the log');
      if (error.retryLater) retried.push(problem);
    }
    expect(retried).toEqual(['timeout', 'server', 'unreachable']);
  });

  it('names the limit and the key to change for a file too large', () => {
    expect(sourceImageError('too_large', 'x', { maxBytes: 20 * 1024 * 1024 }).userMessage).toBe(
      "The image shared on Slack could not be used: it is larger than the bot's limit of 20 MB (sources.max_bytes). Share a smaller image.",
    );
  });

  it('tells a sign-in page (a token without files:read) from a file that is not an image', () => {
    expect(sourceImageError('not_image', 'x', { signIn: true }).userMessage).toContain('files:read');
    expect(sourceImageError('not_image', 'x').userMessage).toContain('not a PNG, JPEG, WebP or GIF');
  });
});
