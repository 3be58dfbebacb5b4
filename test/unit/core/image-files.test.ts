import { describe, expect, it } from 'vitest';
import { imageFileName } from '../../../src/core/image-files.js';
import { failedReasonText, readFailedReason } from '../../../src/core/job-failure.js';

describe('imageFileName', () => {
  const base = { seed: 42, jobId: 'job-0123456789abcdef', index: 0, count: 1 };

  it('names an image after its seed, with the extension of its type', () => {
    expect(imageFileName({ ...base, mimeType: 'image/jpeg' })).toBe('lorabot-42.jpg');
    expect(imageFileName({ ...base, mimeType: 'image/png' })).toBe('lorabot-42.png');
    expect(imageFileName({ ...base, mimeType: 'image/webp' })).toBe('lorabot-42.webp');
  });

  it('numbers the images of one request, and falls back to the job id without a seed', () => {
    expect(imageFileName({ ...base, mimeType: 'image/png', index: 2, count: 4 })).toBe('lorabot-42-3.png');
    expect(imageFileName({ ...base, seed: undefined, mimeType: 'image/jpeg' })).toBe(
      'lorabot-456789abcdef.jpg',
    );
  });
});

describe('failed reasons', () => {
  it('carry the code in brackets and read back to the same reason and code', () => {
    const text = failedReasonText({ reason: 'Together rejected the key.', code: 'unauthorized' });
    expect(text).toBe('[unauthorized] Together rejected the key.');
    expect(readFailedReason(text)).toEqual({ reason: 'Together rejected the key.', code: 'unauthorized' });
  });

  it('leave a reason without a code as it is', () => {
    expect(failedReasonText({ reason: 'cancelled', code: undefined })).toBe('cancelled');
    expect(readFailedReason('Something went wrong [x]')).toEqual({
      reason: 'Something went wrong [x]',
      code: undefined,
    });
  });
});
