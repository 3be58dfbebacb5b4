import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_IMAGE } from '../../src/app/image-edits.js';
import { sourceTint } from '../contract/fakes/fake-together-edits.js';
import { togetherSpec } from '../contract/fakes/openapi-validator.js';
import { decodeImage, renderImage } from '../contract/fakes/test-images.js';
import { CHAT_MODELS, expectSupportPrice, supportRequest } from '../helpers/chat-models.js';
import { waitFor } from '../helpers/wait.js';
import {
  type Capabilities,
  CURSOR,
  type PlatformDriver,
  type Request,
  type StatusView,
  type User,
} from './driver.js';

/**
 * The config every platform runs the suite with: a `studio` preset limited to one channel, a Run / Cancel question
 * above $0.10, a daily budget per person of $0.20 (each test has its own people), and the chat model presets.
 */
export function suiteConfig(channel: (name: string) => string): string {
  return [
    '  studio:',
    '    url: https://huggingface.co/owner/studio-light',
    '    description: Studio lighting',
    `    channels: ["${channel('studio')}"]`,
    'budgets:',
    '  confirm_above_usd: 0.1',
    '  user_per_day_usd: 0.2',
    ...CHAT_MODELS,
  ].join('\n');
}

const YOU_ASKED = (body: { messages: Array<{ content: unknown }> }) =>
  `You asked: ${body.messages.at(-1)?.content ?? ''}`;

/**
 * The end-to-end behaviours every platform shares, written once against the driver: a platform gets them all by
 * writing a driver (see driver.ts). Each test uses its own people (and, where the platform has them, channels),
 * so the tests do not see each other's jobs. Behaviours that need a capability the platform lacks (threads,
 * channels, DMs) are defined only for platforms that have it.
 */
export function definePlatformSuite<D extends PlatformDriver>(
  name: string,
  can: Capabilities,
  start: () => Promise<D>,
  /** Checks of the platform's wire details over everything the suite made it send, defined after the suite. */
  wireChecks?: (driver: () => D) => void,
): void {
  describe(`${name}: the shared platform suite (real SDK entry point, BullMQ on Redis, fake Together)`, () => {
    let d: D;

    beforeAll(async () => {
      d = await start();
    });

    afterAll(async () => {
      await d?.close();
    });

    const done = (request: Request, timeoutMs = 20_000): Promise<StatusView> =>
      waitFor(
        'the final status',
        () => {
          const status = d.status(request);
          return status && ['done', 'failed', 'cancelled'].includes(status.state) ? status : undefined;
        },
        timeoutMs,
      );
    const privately = (request: Request, index = 0) =>
      waitFor('the private answer', () => d.privateAnswers(request)[index]);
    const imageCalls = () => d.together.callsTo('/images/generations');
    const callsWith = (text: string) => d.together.calls.filter((c) => JSON.stringify(c.body).includes(text));
    /** Nothing lorabot could ping but the requester. */
    const expectPingsOnly = (request: Request, user: User) =>
      expect(d.pings(request).filter((p) => p !== user.id)).toEqual([]);

    it('runs /flux with a preset (and its trigger) and a LoRA link into an uploaded, costed, notified image', async () => {
      const user = await d.user('panda');
      const before = imageCalls().length;
      const request = await d.command(
        'flux',
        'a baby panda --lora tarot --lora https://huggingface.co/XLabs-AI/flux-RealismLora@0.6 --size 1024x768 --seed 11',
        { user, channel: d.channel('flux') },
      );
      const notice = await waitFor('the completion notice', () => d.notices(request)[0]);
      expect(notice).toMatchObject({
        ok: true,
        kind: 'flux',
        text: 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)',
        where: 'here',
      });
      const status = await done(request);
      expect(status).toMatchObject({ state: 'done', detail: 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)' });
      expect(status.states).toEqual(['queued', 'running', 'done']);
      const images = await d.images(request);
      expect(images).toHaveLength(1);
      expect(decodeImage(images[0]!)).toMatchObject({ width: 1024, height: 768 });
      expect(Buffer.compare(images[0]!, d.together.generated.at(-1)!)).toBe(0);
      const calls = imageCalls().slice(before);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.schemaErrors).toEqual([]);
      expect(calls[0]!.body).toMatchObject({
        prompt: 'in the style of TOK a trtcrd tarot style, a baby panda',
        width: 1024,
        height: 768,
        seed: 11,
        image_loras: [
          { path: 'https://huggingface.co/multimodalart/flux-tarot-v1', scale: 0.9 },
          { path: 'https://huggingface.co/XLabs-AI/flux-RealismLora', scale: 0.6 },
        ],
      });
      expect(d.notices(request)).toHaveLength(1);
      expectPingsOnly(request, user);
      expect(await d.spentToday(user)).toBeGreaterThanOrEqual(35_000);
    });

    it('runs /ask into one answer with its token cost', async () => {
      const user = await d.user('asker');
      const request = await d.command('ask', 'how do I rotate keys?', { user, channel: d.channel('ask') });
      const notice = await waitFor('the completion notice', () => d.notices(request)[0]);
      // The fake counts words: 13 of system prompt + 5 of question in, 7 out; at $0.18/M each, ceil(25 × 0.18) µ$.
      expect(notice).toMatchObject({ ok: true, kind: 'ask', text: 'Cost: $0.000005 (18 in + 7 out tokens)' });
      expect(d.answer(request)?.text).toBe('You asked: how do I rotate keys?');
      expect(d.count(request, 'You asked:')).toBe(1);
      expect((await done(request)).detail).toBe('Cost: $0.000005 (18 in + 7 out tokens)');
      expect(d.together.callsTo('/chat/completions').at(-1)!.schemaErrors).toEqual([]);
    });

    it('answers user errors privately with what is wrong, and queues and charges nothing', async () => {
      const user = await d.user('typo');
      const calls = d.together.calls.length;
      const cases: Array<[string, RegExp]> = [
        ['a panda --lora tarot --lora https://huggingface.co/a/b --lora https://huggingface.co/c/d', /LoRA/],
        ['a panda --lora http://example.com/style.safetensors', /https/],
        ['a panda --steps 500', /steps/],
        ['a cat --lora nope', /Unknown LoRA preset `nope`/],
      ];
      const requests: Request[] = [];
      for (const [text, says] of cases) {
        const request = await d.command('flux', text, { user, channel: d.channel('errors') });
        requests.push(request);
        const answer = await privately(request);
        expect(answer.text, text).toMatch(says);
        expect(answer.text.length).toBeGreaterThan(20);
      }
      await new Promise((r) => setTimeout(r, 300));
      for (const request of requests) expect(d.status(request)).toBeUndefined();
      expect(d.together.calls.length).toBe(calls);
      expect(await d.spentToday(user)).toBe(0);
    });

    it('accepts a Hugging Face /blob/ link, sends the /resolve/ link and says so privately', async () => {
      const user = await d.user('blob');
      const request = await d.command(
        'flux',
        'a fox --lora https://huggingface.co/o/r/blob/main/fox.safetensors --size 512x512',
        { user, channel: d.channel('blob') },
      );
      await done(request);
      expect(imageCalls().at(-1)!.body).toMatchObject({
        image_loras: [{ path: 'https://huggingface.co/o/r/resolve/main/fox.safetensors', scale: 1 }],
      });
      expect(d.privateAnswers(request).some((a) => a.text.includes('/resolve/'))).toBe(true);
    });

    it('keeps a --size just past a megapixel and says privately which size costs one less', async () => {
      const user = await d.user('sizer');
      const request = await d.command('flux', 'a heron --size 1024x1024', {
        user,
        channel: d.channel('size'),
      });
      const notice = await waitFor('the completion notice', () => d.notices(request)[0]);
      expect(notice.text).toBe('Cost: $0.07 (1 image × 2 MP × $0.035/MP)');
      expect(imageCalls().at(-1)!.body).toMatchObject({ width: 1024, height: 1024 });
      expect(decodeImage((await d.images(request))[0]!)).toMatchObject({ width: 1024, height: 1024 });
      expect(d.privateAnswers(request).map((a) => a.text)).toContain(
        '1024x1024 is billed as 2 MP; 1000x1000 costs $0.035 instead of $0.07.',
      );
    });

    it('refuses a request past the daily budget privately, stating spend and limit, and queues nothing', async () => {
      const user = await d.user('spender');
      for (const i of [1, 2]) {
        const request = await d.command('flux', `budget ${i} --size 1024x1024`, {
          user,
          channel: d.channel('budget'),
        });
        expect((await done(request)).state).toBe('done');
      }
      const refused = await d.command('flux', 'budget 3 --size 1024x1024', {
        user,
        channel: d.channel('budget'),
      });
      expect((await privately(refused)).text).toBe(
        'Over budget: You have spent $0.14 of your daily budget of $0.20, and this request may cost $0.07. Nothing was queued or charged. Ask an admin to raise the budget, or try later.',
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(d.status(refused)).toBeUndefined();
      expect(callsWith('budget 3')).toHaveLength(0);
      expect(await d.spentToday(user)).toBe(140_000);
    });

    it('/flux --image sends the edit model the links with the LoRA, and delivers the image made from them at the edit price', async () => {
      const user = await d.user('editor');
      const cat = 'https://images.example.com/cat.jpg';
      const hat = 'https://images.example.com/hat.png?v=2&size=large';
      const before = imageCalls().length;
      const request = await d.command(
        'flux',
        `put the hat on the cat --lora tarot --image ${cat} --image ${hat} --size 512x512 --seed 9`,
        { user, channel: d.channel('edit') },
      );
      const status = await done(request);
      expect(status).toMatchObject({ state: 'done', detail: 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)' });
      const notice = await waitFor('the completion notice', () => d.notices(request)[0]);
      expect(notice).toMatchObject({
        ok: true,
        kind: 'flux',
        text: 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)',
      });
      const calls = imageCalls().slice(before);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.schemaErrors).toEqual([]);
      expect(calls[0]!.body).toEqual({
        model: 'black-forest-labs/FLUX.2-dev',
        prompt: 'in the style of TOK a trtcrd tarot style, put the hat on the cat',
        width: 512,
        height: 512,
        steps: 28,
        n: 1,
        seed: 9,
        response_format: (calls[0]!.body as { response_format: string }).response_format,
        output_format: 'jpeg',
        image_loras: [{ path: 'https://huggingface.co/multimodalart/flux-tarot-v1', scale: 0.9 }],
        reference_images: [cat, hat],
      });
      // The fake derives the image from its sources: these bytes are the image made from exactly these two links.
      const images = await d.images(request);
      expect(images).toHaveLength(1);
      const expected = renderImage({
        width: 512,
        height: 512,
        seed: 9 + sourceTint([cat, hat]),
        format: 'jpeg',
      });
      expect(Buffer.compare(images[0]!, expected)).toBe(0);
      expect(await d.spentToday(user)).toBe(35_000);
      expectPingsOnly(request, user);
    });

    it('answers a bad --image privately (http, credentials, too many) and queues and charges nothing', async () => {
      const user = await d.user('badlink');
      const calls = d.together.calls.length;
      const five = [1, 2, 3, 4, 5].map((i) => `--image https://images.example.com/${i}.jpg`).join(' ');
      const cases: Array<[string, string]> = [
        [
          'a cat --image http://images.example.com/cat.jpg',
          'Image links must use https: `http://images.example.com/cat.jpg` starts with `http://`. Use the https:// link instead.',
        ],
        [
          'a cat --image https://me:hunter2@images.example.com/cat.jpg',
          'Image links must not contain a user name or password (`https://user:pass@…`): Together would see them. Use a link that opens without logging in.',
        ],
        [
          `mix them ${five}`,
          'The edit model (black-forest-labs/FLUX.2-dev) takes at most 4 images per request; you gave 5. Remove an `--image`.',
        ],
      ];
      const requests: Request[] = [];
      for (const [text, says] of cases) {
        const request = await d.command('flux', text, { user, channel: d.channel('badlink') });
        requests.push(request);
        expect((await privately(request)).text, text).toBe(says);
      }
      await new Promise((r) => setTimeout(r, 300));
      for (const request of requests) expect(d.status(request)).toBeUndefined();
      expect(d.together.calls.length).toBe(calls);
      expect(await d.spentToday(user)).toBe(0);
    });

    it('reports a source image Together cannot fetch in the thread, with what to check, and charges nothing', async () => {
      const user = await d.user('deadlink');
      const gone = 'https://images.example.com/deleted.jpg';
      d.together.failSource(gone, 'unreadable');
      const request = await d.command('flux', `make it blue --image ${gone} --size 512x512`, {
        user,
        channel: d.channel('deadlink'),
      });
      const status = await done(request);
      expect(status.state).toBe('failed');
      expect(status.detail).toContain('Together could not use the source image');
      const notice = await waitFor('the failure notice', () => d.notices(request)[0]);
      expect(notice).toMatchObject({ ok: false, kind: 'flux' });
      expect(notice.text).toContain('Check that each --image link opens a JPEG, PNG or WebP image');
      // Refused, not retried: one call.
      expect(callsWith('deleted.jpg')).toHaveLength(1);
      expect(await d.spentToday(user)).toBe(0);
    });

    it('reports a Together failure once, notifies the requester with an actionable reason and charges nothing', async () => {
      const user = await d.user('unpaid');
      d.together.inject('/images/generations', { kind: 'status', status: 402 });
      const request = await d.command('flux', 'an unpaid panda --size 512x512', {
        user,
        channel: d.channel('fail'),
      });
      const notice = await waitFor('the failure notice', () => d.notices(request)[0]);
      expect(notice).toMatchObject({
        ok: false,
        kind: 'flux',
        text: 'The Together account is out of credits or at its spending limit. An operator needs to add credits.',
      });
      expect((await done(request)).state).toBe('failed');
      await new Promise((r) => setTimeout(r, 300));
      expect(d.notices(request)).toHaveLength(1);
      expect(await d.spentToday(user)).toBe(0);
    });

    it('retries the job after passing Together trouble, with one answer and one notice', async () => {
      const user = await d.user('retry');
      // The client tries twice (max_retries: 1); three 503s make the first job attempt fail and BullMQ retry it.
      d.together.inject('/chat/completions', { kind: 'status', status: 503 }, 3);
      const request = await d.command('ask', 'will this recover?', { user, channel: d.channel('retry') });
      const notice = await waitFor('the completion notice', () => d.notices(request)[0]);
      expect(notice.text).toMatch(/^Cost: /);
      expect((await done(request)).state).toBe('done');
      expect(d.answer(request)?.text).toBe('You asked: will this recover?');
      expect(d.count(request, 'You asked: will this recover?')).toBe(1);
      expect(d.notices(request)).toHaveLength(1);
      expect(callsWith('will this recover?')).toHaveLength(4);
    });

    it('lets no text from a user or a model ping anyone', async () => {
      const user = await d.user('hostile');
      const hostile =
        '<!channel> <!here> <!everyone> <@U0BOSS> <@123456789012345678> <@&123456789012345678> ' +
        '<!subteam^S0TEAM> @everyone @here zero\u200bwidth';
      d.together.reply = () => `${hostile} and more`;
      try {
        const request = await d.command('ask', hostile, { user, channel: d.channel('hostile') });
        expect((await done(request)).state).toBe('done');
        await waitFor('the notice', () => d.notices(request)[0]);
        const answer = d.answer(request)!;
        expect(answer.text).toContain('everyone');
        expect(answer.text).toContain('and more');
        expectPingsOnly(request, user);
        if (d.can.mentions) expect(d.pings(request)).toContain(user.id);
      } finally {
        d.together.reply = YOU_ASKED;
      }
    });

    it('answers with a chat model preset: its id, system prompt, token limit and price; /ask models lists it', async () => {
      const user = await d.user('support');
      const listed = await d.command('ask', 'models', { user, channel: d.channel('models') });
      expect((await privately(listed)).text).toContain(
        '• support: Acme support, up to 256 tokens, $1.00 in / $2.00 out per 1M tokens',
      );
      const request = await d.command('ask', 'how do I rotate keys? --model support', {
        user,
        channel: d.channel('models'),
      });
      const status = await done(request);
      const call = callsWith('rotate keys').at(-1)!;
      expect(call.schemaErrors).toEqual([]);
      expect(call.body).toMatchObject(supportRequest('how do I rotate keys?'));
      expect(d.answer(request)?.text).toBe('You asked: how do I rotate keys?');
      expectSupportPrice(status.detail);
    });

    it('streams an answer by editing one message no faster than the platform allows, ending with the full text', async () => {
      const user = await d.user('stream');
      const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
      d.together.reply = () => words;
      d.together.chunkDelayMs = 120;
      try {
        const request = await d.command('ask', 'write thirty words', { user, channel: d.channel('stream') });
        const status = await done(request);
        const answer = d.answer(request)!;
        expect(answer.text).toBe(words);
        // 30 chunks × 120 ms ≈ 3.6 s: a few previews, then the final text.
        expect(answer.editTimes.length).toBeGreaterThanOrEqual(3);
        if (answer.native) {
          // Appended in order: each text the message showed goes on from the one before.
          expect(answer.history.every((t, i) => i === 0 || t.startsWith(answer.history[i - 1]!))).toBe(true);
        } else {
          expect(answer.history[0]).toBe(CURSOR);
          expect(answer.history.slice(1, -1).every((t) => t.endsWith(` ${CURSOR}`))).toBe(true);
        }
        for (let i = 1; i < answer.editTimes.length; i++) {
          expect(answer.editTimes[i]! - answer.editTimes[i - 1]!).toBeGreaterThanOrEqual(
            d.answerEditIntervalMs - 5,
          );
        }
        // One answer message, not a second copy; the cost is in the notice and the status.
        expect(d.count(request, 'word29')).toBe(1);
        expect(status.detail).toMatch(/^Cost: \$0\.\d+/);
      } finally {
        d.together.reply = YOU_ASKED;
        d.together.chunkDelayMs = 0;
      }
    });

    it('ends a stream that breaks off with what arrived and a note, never a second copy', async () => {
      const user = await d.user('cut');
      d.together.reply = () => 'one two three four five six seven eight';
      d.together.inject('/chat/completions', { kind: 'stream-drop', afterChunks: 4 });
      try {
        const request = await d.command('ask', 'count for me', { user, channel: d.channel('cut') });
        const status = await done(request);
        expect(status.state).toBe('failed');
        expect(status.detail).toContain('The answer stopped partway');
        expect(d.answer(request)!.text).toMatch(
          /^one two three four\s+\(The answer stopped partway: .*What arrived is above\. Cost: ~\$0\.\d+ \(estimated: \d+ in \+ 5 out tokens, the answer stopped partway\)\)$/s,
        );
        expect(d.count(request, 'one two')).toBe(1);
        expect(callsWith('count for me')).toHaveLength(1);
      } finally {
        d.together.reply = YOU_ASKED;
      }
    });

    it('Cancel aborts the request in flight at Together, says who cancelled, and charges nothing; only the requester may', async () => {
      const user = await d.user('canceller');
      const stranger = await d.user('stranger');
      d.together.inject('/images/generations', { kind: 'delay', ms: 10_000 });
      const calls = imageCalls().length;
      const request = await d.command('flux', 'a slow panda --size 512x512', {
        user,
        channel: d.channel('cancel'),
      });
      const call = await waitFor('the Together call', () => imageCalls()[calls]);
      await waitFor('running', () => d.status(request)?.state === 'running');
      expect(d.status(request)!.buttons.map((b) => b.action)).toEqual(['cancel']);
      const refused = await d.press(request, 'cancel', { user: stranger });
      expect((await privately(refused)).text).toContain('Only the person who asked');
      expect(d.status(request)!.state).toBe('running');
      await d.press(request, 'cancel', { user });
      const status = await done(request, 10_000);
      expect(status).toMatchObject({ state: 'cancelled', detail: user.id });
      await waitFor('the connection to close', () => call.clientClosedEarly);
      expect(d.notices(request).filter((n) => n.ok)).toEqual([]);
      expect(await d.images(request)).toEqual([]);
      expect(await d.spentToday(user)).toBe(0);
    });

    it('asks Run / Cancel above the threshold and runs only after Run by the requester, once', async () => {
      const user = await d.user('confirmer');
      const stranger = await d.user('stranger2');
      const channel = d.channel('confirm');
      const images = imageCalls().length;
      const asked = await d.command('flux', 'three pandas --n 3', { user, channel });
      const question = await privately(asked);
      expect(question.text).toContain('may cost $0.105 (3 images × 1 MP × $0.035/MP)');
      expect(question.buttons.map((b) => b.action)).toEqual(['run', 'dismiss']);
      expect(d.status(asked)).toBeUndefined();
      const theirs = await d.press(asked, 'run', { user: stranger, from: 'private' });
      expect((await privately(theirs)).text).toBe('Only the person who asked can run this request.');
      const ran = await d.press(asked, 'run', { user, from: 'private' });
      const status = await done(ran);
      expect(status.detail).toContain('Cost: $0.105 (3 images × 1 MP');
      expect(await d.images(ran)).toHaveLength(3);
      expect(d.status(theirs)).toBeUndefined();
      const again = await d.press(asked, 'run', { user, from: 'private' });
      expect((await privately(again)).text).toContain('expired or was already answered');
      expect(imageCalls().length).toBe(images + 1);

      // Cancel on the question: nothing runs (another person: this one's budget has room for one such request).
      const decliner = await d.user('decliner');
      const declined = await d.command('flux', 'more pandas --n 3', { user: decliner, channel });
      expect((await privately(declined)).text).toContain('may cost $0.105');
      const dismissed = await d.press(declined, 'dismiss', { user: decliner, from: 'private' });
      expect((await privately(dismissed)).text).toContain('Nothing was queued or charged');
      await new Promise((r) => setTimeout(r, 300));
      expect(d.status(dismissed)).toBeUndefined();
      expect(callsWith('more pandas')).toHaveLength(0);
    });

    it('Regenerate makes the same image with a new seed for whoever presses; Details shows the recipe', async () => {
      const user = await d.user('fox');
      const other = await d.user('otter');
      const request = await d.command('flux', 'a fox --lora tarot@0.7 --seed 11 --size 512x512', {
        user,
        channel: d.channel('reroll'),
      });
      const status = await done(request);
      const jobId = status.buttons.find((b) => b.action === 'regenerate')!.id;
      expect(status.buttons).toEqual([
        { action: 'regenerate', id: jobId },
        { action: 'vary', id: jobId },
        { action: 'edit', id: jobId },
        { action: 'details', id: jobId },
      ]);
      const details = await d.press(request, 'details', { user: other });
      const recipe = (await privately(details)).text;
      expect(recipe).toContain(`Recipe of job ${jobId}`);
      expect(recipe).toContain('LoRAs: tarot (https://huggingface.co/multimodalart/flux-tarot-v1) @ 0.7');
      expect(recipe).toContain('Seed: 11');
      expect(recipe).toContain('Size: 512x512, steps: 28, images: 1');
      const again = await d.press(request, 'regenerate', { user: other });
      expect((await done(again)).state).toBe('done');
      expect(await d.images(again)).toHaveLength(1);
      expect(d.notices(again)[0]).toMatchObject({ ok: true, kind: 'flux' });
      const [first, second] = imageCalls()
        .slice(-2)
        .map((c) => c.body as Record<string, unknown>);
      expect({ ...second, seed: 0 }).toEqual({ ...first, seed: 0 });
      expect(second!.seed).not.toBe(11);
    });

    it('Vary makes a new image from the result in one press: its recipe, its first image as the reference, a new seed', async () => {
      const user = await d.user('kite');
      const other = await d.user('kestrel');
      const request = await d.command('flux', 'a red kite --lora tarot@0.7 --size 512x512 --seed 5', {
        user,
        channel: d.channel('vary'),
      });
      const jobId = (await done(request)).buttons.find((b) => b.action === 'vary')!.id;
      const varied = await d.press(request, 'vary', { user: other });
      const status = await done(varied);
      expect(status.state).toBe('done');
      expect(status.detail).toMatch(/^Cost: \$0\.\d+ \(1 image × /);
      expect(await d.images(varied)).toHaveLength(1);
      expect(d.notices(varied)[0]).toMatchObject({ ok: true, kind: 'flux' });
      const variedId = status.buttons.find((b) => b.action === 'details')!.id;
      const job = await d.job(variedId);
      expect(job).toMatchObject({
        kind: 'flux',
        target: { userId: other.id },
        request: {
          prompt: 'a red kite',
          width: 512,
          height: 512,
          loras: [{ preset: 'tarot', scale: 0.7 }],
          images: [{ kind: 'result', jobId, index: 0 }],
        },
      });
      expect(job!.request).not.toMatchObject({ seed: 5 });
      expect(job!.command).toMatch(/^\/flux a red kite --lora tarot@0\.7 --size 512x512 --seed \d+$/);
      // The exact body: the edit model, the recipe, and the first result's own bytes as the reference.
      const [original] = await d.images(request);
      const body = callsWith('a red kite').at(-1)!.body as Record<string, unknown>;
      const [reference] = body.reference_images as string[];
      expect(reference).toMatch(/^data:image\/(jpeg|png);base64,/);
      expect(Buffer.from(reference!.split(',')[1]!, 'base64').equals(original!)).toBe(true);
      expect(body).toMatchObject({
        model: 'black-forest-labs/FLUX.2-dev',
        width: 512,
        height: 512,
        image_loras: [{ scale: 0.7 }],
        seed: (job!.request as { seed?: number }).seed,
      });
      expect(await d.spentToday(other)).toBeGreaterThan(0);
      expectPingsOnly(varied, other);
    });

    it('Vary and Edit go through the Run / Cancel question (keeping the image through Run) and budgets', async () => {
      const user = await d.user('owl');
      const other = await d.user('owlet');
      const channel = d.channel('vary-costly');
      const asked = await d.command('flux', 'four owls --n 4 --seed 3', { user, channel });
      expect((await privately(asked)).text).toContain('may cost $0.14 (4 images × 1 MP');
      const ran = await d.press(asked, 'run', { user, from: 'private' });
      const jobId = (await done(ran)).buttons.find((b) => b.action === 'vary')!.id;
      expect(await d.spentToday(user)).toBe(140_000);

      // Another person's Vary costs as much: they are asked first, and Run keeps the result as the source.
      const question = await d.press(ran, 'vary', { user: other });
      expect((await privately(question)).text).toMatch(/^This request may cost \$/);
      expect(d.status(question)).toBeUndefined();
      const varied = await d.press(question, 'run', { user: other, from: 'private' });
      const status = await done(varied);
      expect(status.state).toBe('done');
      const job = await d.job(status.buttons.find((b) => b.action === 'details')!.id);
      expect(job).toMatchObject({
        target: { userId: other.id },
        request: { prompt: 'four owls', n: 4, images: [{ kind: 'result', jobId, index: 0 }] },
      });

      // The owner has $0.06 left today: their Vary and their Edit are refused privately, and nothing is queued.
      const calls = imageCalls().length;
      const refused = await d.press(ran, 'vary', { user });
      expect((await privately(refused)).text).toMatch(
        /^Over budget: You have spent \$0\.14 of your daily budget/,
      );
      const { request: edit } = await d.edit(ran, { user, text: () => 'four owls in the snow --n 4' });
      expect((await privately(edit)).text).toMatch(
        /^Over budget: You have spent \$0\.14 of your daily budget/,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(d.status(refused)).toBeUndefined();
      expect(d.status(edit)).toBeUndefined();
      expect(imageCalls().length).toBe(calls);
      expect(await d.spentToday(user)).toBe(140_000);
    });

    it('Edit opens an editor with the recipe; what is sent runs on the result image', async () => {
      const user = await d.user('heron');
      const request = await d.command('flux', 'a grey heron --lora tarot@0.7 --size 512x512 --seed 9', {
        user,
        channel: d.channel('edit'),
      });
      const jobId = (await done(request)).buttons.find((b) => b.action === 'edit')!.id;
      const { opened, request: edited } = await d.edit(request, {
        user,
        text: (text) => text.replace('a grey heron', 'a blue heron at night'),
      });
      expect(opened).toBe('a grey heron --lora tarot@0.7 --size 512x512');
      // A form sent by someone else than who opened it (forged: no platform shows it to them) runs nothing.
      const stranger = await d.user('stork');
      const { request: forged } = await d.edit(request, { user, by: stranger, text: () => 'a forged heron' });
      expect((await privately(forged)).text).toBe('Only the person who opened this editor can send it.');
      const status = await done(edited);
      expect(status.state).toBe('done');
      expect(status.detail).toMatch(/^Cost: \$/);
      expect(await d.images(edited)).toHaveLength(1);
      expect(d.notices(edited)[0]).toMatchObject({ ok: true, kind: 'flux' });
      const job = await d.job(status.buttons.find((b) => b.action === 'details')!.id);
      expect(job).toMatchObject({
        kind: 'flux',
        request: {
          prompt: 'a blue heron at night',
          width: 512,
          loras: [{ preset: 'tarot', scale: 0.7 }],
          images: [{ kind: 'result', jobId, index: 0 }],
        },
      });
      expect(job!.request).not.toMatchObject({ seed: 9 });
      expect(callsWith('a blue heron at night')).toHaveLength(1);
      expect(callsWith('a forged heron')).toHaveLength(0);
      expect(d.status(forged)).toBeUndefined();
      expectPingsOnly(edited, user);
    });

    if (can.messageActions)
      it('"Edit with lorabot" on a message runs the editor\'s prompt on its image; a message without one is told so', async () => {
        const user = await d.user('photographer');
        const channel = d.channel('photos');
        const { request, expected } = await d.editMessage!({
          user,
          channel,
          attachments: ['text', 'image'],
          text: 'the same scene as a watercolour --size 512x512',
        });
        expect(expected).toHaveLength(1);
        const status = await done(request);
        expect(status.state).toBe('done');
        expect(status.detail).toMatch(/^Cost: \$/);
        expect(d.notices(request)[0]).toMatchObject({ ok: true, kind: 'flux' });
        const job = await d.job(status.buttons.find((b) => b.action === 'details')!.id);
        expect(job).toMatchObject({
          kind: 'flux',
          target: { userId: user.id },
          request: { prompt: 'the same scene as a watercolour', width: 512, height: 512, images: expected },
        });
        expectPingsOnly(request, user);

        const calls = imageCalls().length;
        const { request: none } = await d.editMessage!({
          user,
          channel,
          attachments: ['text'],
          text: 'unused',
        });
        expect((await privately(none)).text).toBe(NO_IMAGE);
        await new Promise((r) => setTimeout(r, 300));
        expect(d.status(none)).toBeUndefined();
        expect(imageCalls().length).toBe(calls);
      });

    it('/flux jobs lists a running job with its Cancel button; help, presets and usage answer privately', async () => {
      const user = await d.user('jobs');
      const channel = d.channel('jobs');
      d.together.inject('/images/generations', { kind: 'delay', ms: 1500 });
      const request = await d.command('flux', 'a queued panda --size 512x512', { user, channel });
      await waitFor('running', () => d.status(request)?.state === 'running');
      const cancel = d.status(request)!.buttons[0]!;
      const listed = await d.command('flux', 'jobs', { user, channel });
      const list = await privately(listed);
      expect(list.text).toContain('/flux a queued panda');
      expect(list.text).toContain('running');
      expect(list.buttons).toEqual([cancel]);
      expect((await done(request)).state).toBe('done');

      const help = await privately(await d.command('flux', 'help', { user, channel }));
      expect(help.text).toContain('--lora');
      const presets = await privately(await d.command('flux', 'presets', { user, channel }));
      expect(presets.text).toContain('• tarot');
      const usage = await privately(await d.command('flux', 'usage', { user, channel }));
      expect(usage.text).toMatch(/^You: \$0\.035 of \$0\.20 today, \$0\.035 this month\./);
      const askHelp = await privately(await d.command('ask', 'help', { user, channel }));
      expect(askHelp.text).toContain('--model');
    });

    if (can.channels)
      it('limits a preset to its channel: listed and usable there, refused elsewhere with nothing queued', async () => {
        const user = await d.user('lamp');
        const studio = d.channel('studio');
        const elsewhere = d.channel('elsewhere');
        const listIn = async (channel: string) =>
          (await privately(await d.command('flux', 'presets', { user, channel }))).text;
        expect(await listIn(studio)).toContain('• studio: scale 1 — Studio lighting');
        const other = await listIn(elsewhere);
        expect(other).toContain('• tarot');
        expect(other).not.toContain('studio');

        const before = d.together.callsTo('/images/generations').length;
        const refused = await d.command('flux', 'a lamp --lora studio', { user, channel: elsewhere });
        expect((await privately(refused)).text).toBe(
          'The LoRA preset `studio` is not available in this channel. Presets for this channel: tarot. Or give an https link to a LoRA.',
        );
        const used = await d.command('flux', 'a lamp --lora studio@0.7 --size 512x512', {
          user,
          channel: studio,
        });
        expect((await done(used)).state).toBe('done');
        const calls = d.together.callsTo('/images/generations').slice(before);
        expect(calls).toHaveLength(1);
        expect(calls[0]!.body).toMatchObject({
          image_loras: [{ path: 'https://huggingface.co/owner/studio-light', scale: 0.7 }],
        });
        expect(d.status(refused)).toBeUndefined();
      });

    if (can.threads)
      it('continues a conversation from a reply, sending the earlier turns and saying whose they are', async () => {
        const user = await d.user('learner');
        const other = await d.user('otter');
        const first = await d.command('ask', 'what is a LoRA?', { user });
        expect((await done(first)).state).toBe('done');
        const follow = await d.reply(first, 'and how big is one?', other);
        const call = await waitFor('the follow-up request', () =>
          d.together.callsTo('/chat/completions').find((c) => JSON.stringify(c.body).includes('how big')),
        );
        const messages = (call.body as { messages: Array<{ role: string; content: string }> }).messages;
        expect(messages.slice(-3)).toEqual([
          { role: 'user', content: 'what is a LoRA?' },
          { role: 'assistant', content: 'You asked: what is a LoRA?' },
          { role: 'user', content: 'and how big is one?' },
        ]);
        const status = await done(follow);
        expect(status.context).toContain(
          "Context: the 2 earlier messages of this thread (questions from 1 other person, and lorabot's answers)",
        );
        expect(d.answer(follow)?.text).toBe('You asked: and how big is one?');
        expect(d.notices(follow)[0]).toMatchObject({ ok: true, kind: 'ask', where: 'here' });
      });

    if (can.directMessages)
      it('/flux notify dm sends the completion notice as a direct message naming the channel, and nothing in it', async () => {
        const user = await d.user('dmuser');
        const setting = await d.command('flux', 'notify dm', { user });
        expect((await privately(setting)).text).toContain('a direct message');
        const request = await d.command('ask', 'tell me by DM', { user });
        expect((await done(request)).state).toBe('done');
        const notice = await waitFor('the DM', () => d.notices(request).find((n) => n.where === 'dm'));
        expect(notice).toMatchObject({ ok: true, kind: 'ask' });
        expect(notice.text).toMatch(/^Cost: /);
        expect(d.notices(request).filter((n) => n.where === 'here')).toEqual([]);
        expect(d.answer(request)?.text).toBe('You asked: tell me by DM');
      });

    it('sent only requests that pass Together’s OpenAPI schema', () => {
      const spec = togetherSpec();
      expect(d.together.calls.length).toBeGreaterThan(10);
      for (const call of d.together.calls) {
        expect(spec.errors(spec.requestBodyPointer(call.path, 'post'), call.body)).toEqual([]);
      }
    });

    it('counts commands, jobs, provider errors and spend on GET /metrics', async () => {
      const response = await fetch(`${d.httpUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      const value = (pattern: string) =>
        Number(new RegExp(`^${pattern.replace(/[{}]/g, '\\$&')} ([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
      const command = (kind: string, outcome: string) =>
        value(
          `lorabot_commands_total{platform="${d.platform}",entry="${d.commandEntry}",kind="${kind}",outcome="${outcome}"}`,
        );
      expect(command('flux', 'queued')).toBeGreaterThanOrEqual(8);
      // Presses and sent forms count under their own entries (the playground's are all `web`).
      const entry = (name: string) => (d.platform === 'web' ? 'web' : name);
      const count = (at: string, kind: string, outcome: string) =>
        value(
          `lorabot_commands_total{platform="${d.platform}",entry="${at}",kind="${kind}",outcome="${outcome}"}`,
        );
      expect(count(entry('button'), 'edit', 'editor')).toBeGreaterThanOrEqual(3);
      expect(count(entry('editor'), 'flux', 'queued')).toBeGreaterThanOrEqual(1);
      expect(count(entry('editor'), 'flux', 'refused')).toBe(1);
      expect(count(entry('button'), 'flux', 'over_budget')).toBeGreaterThanOrEqual(1);
      expect(command('flux', 'user_error')).toBeGreaterThanOrEqual(4);
      expect(command('flux', 'over_budget')).toBeGreaterThanOrEqual(1);
      expect(value('lorabot_jobs_total{kind="flux",outcome="done"}')).toBeGreaterThanOrEqual(6);
      // The 402 and the source image Together could not fetch.
      expect(value('lorabot_jobs_total{kind="flux",outcome="failed"}')).toBe(2);
      expect(value('lorabot_jobs_total{kind="ask",outcome="retried"}')).toBeGreaterThanOrEqual(1);
      expect(value('lorabot_provider_errors_total{kind="image",status="402"}')).toBe(1);
      expect(
        value('lorabot_provider_request_duration_seconds_count{kind="image",result="ok"}'),
      ).toBeGreaterThanOrEqual(6);
      expect(value('lorabot_spent_usd_total{model="black-forest-labs/FLUX.2-dev"}')).toBeGreaterThan(0);
      expect(text).toMatch(/^lorabot_queue_jobs\{queue="image",state="completed"\} \d+/m);
    });

    wireChecks?.(() => d);
  });
}
