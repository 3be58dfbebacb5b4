import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackFileSource } from '../../src/adapters/slack/slack-files.js';
import { SourceImageError } from '../../src/core/source-images.js';
import { FakeSlack } from './fakes/fake-slack.js';
import { renderImage } from './fakes/test-images.js';

/** The Slack file download against the fake Slack's `url_private` files, as the bot (or not). */
const PHOTO = renderImage({ width: 32, height: 32, seed: 3, format: 'jpeg' });
let slack: FakeSlack;

const source = (botToken = slack.botToken) =>
  createSlackFileSource({ botToken, apiUrl: slack.apiUrl, maxBytes: 1024 * 1024, timeoutMs: 2000 });

async function failure(promise: Promise<unknown>): Promise<SourceImageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceImageError);
  return error as SourceImageError;
}

beforeAll(async () => {
  slack = await new FakeSlack().start();
});

afterAll(async () => {
  await slack.close();
});

describe('downloading a file shared on Slack', () => {
  it('sends the bot token and reads the type from the bytes, not from Slack’s mimetype', async () => {
    const file = slack.hostFile(PHOTO, { name: 'photo.png', mimetype: 'image/png' });
    const files = source();
    const image = await files.download(file.url_private);
    await files.close();
    expect(image.mimeType).toBe('image/jpeg');
    expect(Buffer.from(image.bytes).equals(PHOTO)).toBe(true);
    expect(slack.fileDownloads.at(-1)).toEqual({ id: file.id, token: slack.botToken, outcome: 'ok' });
  });

  it('says the app lacks files:read when Slack answers a sign-in page (a token it does not take)', async () => {
    const file = slack.hostFile(PHOTO);
    const files = source('xoxb-not-this-workspace');
    const error = await failure(files.download(file.url_private));
    await files.close();
    expect(error.code).toBe('source_not_image');
    expect(error.userMessage).toContain('Slack answered with a sign-in page');
    expect(error.userMessage).toContain('files:read');
  });

  it('never sends the token to a host that is not Slack’s: no request is made', async () => {
    const before = slack.fileDownloads.length;
    const files = source();
    for (const url of ['https://images.example.com/a.png', 'http://files.slack.com/a.png', 'not a url']) {
      expect((await failure(files.download(url))).code).toBe('source_bad_url');
    }
    await files.close();
    expect(slack.fileDownloads.length).toBe(before);
  });

  it('follows a redirect that stays on Slack’s file host', async () => {
    const target = slack.hostFile(PHOTO);
    const hop = slack.hostFile(Buffer.alloc(0), {
      fault: { kind: 'redirect', location: target.url_private },
    });
    const files = source();
    const image = await files.download(hop.url_private);
    await files.close();
    expect(Buffer.from(image.bytes).equals(PHOTO)).toBe(true);
    expect(slack.fileDownloads.slice(-2).map((d) => d.id)).toEqual([hop.id, target.id]);
  });

  it('passes the job’s own abort on as it is (a cancel is not a Slack failure)', async () => {
    const file = slack.hostFile(PHOTO, { fault: { kind: 'stall', ms: 1500 } });
    const files = source();
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('cancelled')), 100);
    const error = await files.download(file.url_private, cancel.signal).catch((e: unknown) => e);
    await files.close();
    expect(error).not.toBeInstanceOf(SourceImageError);
  });
});
