import { describe, expect, it } from 'vitest';
import { isProviderFailure } from '../../../src/core/lorabot-error.js';
import {
  dataUrl,
  type SourceProblem,
  sniffImageType,
  sourceImageError,
} from '../../../src/core/source-images.js';
import { renderImage } from '../../contract/fakes/test-images.js';

const bytes = (...values: Array<number | string>) =>
  new Uint8Array(values.flatMap((v) => (typeof v === 'string' ? [...v].map((c) => c.charCodeAt(0)) : [v])));

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
