import { describe, expect, it } from 'vitest';
import {
  replaceSourceMarkers,
  type SourceImage,
  sourceInBody,
  sourceMarker,
} from '../../../src/core/requests.js';
import { contentText } from '../../../src/core/together-bodies.js';

describe('source images in a Together body', () => {
  it('writes a link as itself and any other source as its marker', () => {
    const sources: SourceImage[] = [
      { kind: 'link', url: 'https://cdn.example.com/a.png' },
      { kind: 'slack-file', url: 'https://files.slack.com/files-pri/T1-F1/a.png' },
      { kind: 'result', jobId: 'job-1', index: 2 },
    ];
    expect(sources.map(sourceInBody)).toEqual([
      'https://cdn.example.com/a.png',
      'lorabot-source:1',
      'lorabot-source:2',
    ]);
  });

  it('replaces markers at any depth and leaves every other value alone', () => {
    const body = {
      model: 'm',
      image_url: sourceMarker(0),
      reference_images: ['https://x.example/y.png', sourceMarker(1)],
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: sourceMarker(1) } }] }],
      n: 1,
      note: 'lorabot-source:1 is only a marker when it is the whole string',
    };
    const resolved = replaceSourceMarkers(body, ['data:image/png;base64,AAAA', 'https://gw.example/files/t']);
    expect(resolved).toEqual({
      model: 'm',
      image_url: 'data:image/png;base64,AAAA',
      reference_images: ['https://x.example/y.png', 'https://gw.example/files/t'],
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://gw.example/files/t' } }] },
      ],
      n: 1,
      note: 'lorabot-source:1 is only a marker when it is the whole string',
    });
    expect(body.image_url).toBe('lorabot-source:0');
  });

  it('refuses a marker it has no image for', () => {
    expect(() => replaceSourceMarkers({ image_url: sourceMarker(3) }, ['a'])).toThrow(/lorabot-source:3/);
  });

  it('reads the text of a message with images', () => {
    expect(contentText('plain')).toBe('plain');
    expect(
      contentText([
        { type: 'text', text: 'what is this?' },
        { type: 'image_url', image_url: { url: 'https://x.example/a.png' } },
      ]),
    ).toBe('what is this?');
  });
});
