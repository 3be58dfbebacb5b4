import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../contract/fakes/test-images.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { ON_EACH_REDIS } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

async function jobCounts() {
  const producer = h.running.producer!;
  const [image, chat] = await Promise.all([
    producer.queues.image.getJobCounts(),
    producer.queues.chat.getJobCounts(),
  ]);
  return Object.values(image).reduce((a, b) => a + b, 0) + Object.values(chat).reduce((a, b) => a + b, 0);
}

/** The job count once the earlier tests' jobs have settled (two reads 300 ms apart agree). */
async function settledJobCounts() {
  let last = await jobCounts();
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await jobCounts();
    if (now === last) return now;
    last = now;
  }
}

function notices(channel: string, parentTs: string) {
  return h.slack.thread(channel, parentTs).filter((m) => m.text.includes('<@U0PANDA>'));
}

describe.each(ON_EACH_REDIS)(
  'Slack end to end on $where: signed slash command → Bolt → BullMQ → worker → Together → Slack',
  ({ kind }) => {
    beforeAll(async () => {
      h = await startHarness({ redis: kind });
    });

    afterAll(async () => {
      await h.close();
    });

    it('acks /flux at once and empty, unwraps Slack-wrapped LoRA links, and uploads the image into the thread', async () => {
      const channel = 'C0FLUX';
      const result = await h.slash({
        channel_id: channel,
        command: '/flux',
        text: 'a baby panda --lora tarot --lora <https://huggingface.co/XLabs-AI/flux-RealismLora|realism>@0.6 --size 1024x768 --seed 11',
      });
      expect(result.status).toBe(200);
      expect(result.ackMs).toBeLessThan(1000);
      expect(result.text).toBe('');

      const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
      expect(parent.text).toContain('<@U0PANDA> ran /flux a baby panda');
      expect(parent.history[0]).toMatch(/Queued/);
      const done = await waitFor('the completion notice', () => notices(channel, parent.ts)[0]);
      expect(done.text).toBe('<@U0PANDA> Your image is ready. Cost: $0.035 (1 image × 1 MP × $0.035/MP)');
      await waitFor('the final status', () => parent.text.includes('Done'));
      expect(parent.text).toContain('Done · Cost: $0.035 (1 image × 1 MP × $0.035/MP)');
      expect(parent.history.some((text) => text.includes('Running'))).toBe(true);

      expect(h.slack.parents(channel)).toHaveLength(1);
      const files = h.slack.files.filter((f) => f.channel === channel);
      expect(files).toHaveLength(1);
      expect(files[0]!.thread_ts).toBe(parent.ts);
      expect(decodeImage(files[0]!.bytes)).toMatchObject({ width: 1024, height: 768 });
      const calls = h.together.callsTo('/images/generations');
      expect(calls).toHaveLength(1);
      expect(Buffer.compare(files[0]!.bytes, h.together.generated.at(-1)!)).toBe(0);
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
      const day = new Date().toISOString().slice(0, 10);
      const ledger = h.running.workers!.ledgerView;
      expect(
        await ledger.total('user', `slack:${h.slack.teamId}:U0PANDA`, 'day', day),
      ).toBeGreaterThanOrEqual(35_000);
    });

    it('answers a user error privately in the ack and queues nothing', async () => {
      const before = await settledJobCounts();
      // A Home tab published again for an earlier job's end (views.publish) is not one of these commands' calls.
      const slackCalls = () => h.slack.calls.filter((c) => c.method !== 'views.publish').length;
      const calls = slackCalls();
      for (const text of [
        'a panda --lora tarot --lora https://huggingface.co/a/b --lora https://huggingface.co/c/d',
        'a panda --lora http://example.com/style.safetensors',
        'a panda --steps 500',
      ]) {
        const result = await h.slash({ channel_id: 'C0ERR', command: '/flux', text });
        expect(result.status).toBe(200);
        const body = JSON.parse(result.text) as { response_type: string; text: string };
        expect(body.response_type).toBe('ephemeral');
        expect(body.text.length).toBeGreaterThan(20);
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(await jobCounts()).toBe(before);
      expect(h.slack.parents('C0ERR')).toHaveLength(0);
      expect(slackCalls()).toBe(calls);
    });

    it('rejects a bad signature with 401 and a stale timestamp too, queueing nothing', async () => {
      const before = await jobCounts();
      const bad = await h.slash(
        { channel_id: 'C0SIG', command: '/flux', text: 'a panda' },
        { secret: 'wrong-secret' },
      );
      expect(bad.status).toBe(401);
      const stale = await h.slash(
        { channel_id: 'C0SIG', command: '/flux', text: 'a panda' },
        { timestamp: Math.floor(Date.now() / 1000) - 600 },
      );
      expect(stale.status).toBe(401);
      await new Promise((r) => setTimeout(r, 200));
      expect(await jobCounts()).toBe(before);
      expect(h.slack.parents('C0SIG')).toHaveLength(0);
    });

    it('makes one job and one reply from the same slash command delivered twice', async () => {
      const channel = 'C0DUP';
      const first = await h.slash({ channel_id: channel, command: '/ask', text: 'is this twice?' });
      const again = await h.slash(
        { channel_id: channel, command: '/ask', text: 'is this twice?' },
        { body: first.body },
      );
      expect([first.status, again.status]).toEqual([200, 200]);
      const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
      await waitFor('the completion notice', () => notices(channel, parent.ts)[0]);
      await new Promise((r) => setTimeout(r, 300));
      expect(h.slack.parents(channel)).toHaveLength(1);
      expect(notices(channel, parent.ts)).toHaveLength(1);
      expect(h.together.calls.filter((c) => JSON.stringify(c.body).includes('is this twice?'))).toHaveLength(
        1,
      );
      const metrics = await (await fetch(`${h.running.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /^lorabot_commands_total\{platform="slack",entry="slash",kind="ask",outcome="duplicate"\} 1$/m,
      );
    });

    it('takes a message in a thread lorabot did not start for chatter, not a question', async () => {
      const channel = 'C0CHATTER';
      const before = h.together.calls.length;
      const other = h.slack.seedMessage(channel, 'a human thread');
      expect(await h.say({ channelId: channel, threadTs: other, text: 'unrelated chatter' })).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(h.together.calls.length).toBe(before);
      expect(h.slack.messages.filter((m) => m.channel === channel)).toHaveLength(1);
    });

    it('waits out a Slack 429 on chat.update and still ends with the right status', async () => {
      const channel = 'C0RATE';
      h.slack.inject('chat.update', { kind: 'rate-limited', retryAfterSeconds: 1 });
      const started = Date.now();
      await h.slash({ channel_id: channel, command: '/ask', text: 'rate limits?' });
      const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
      await waitFor('the final status', () => parent.text.includes('Done'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      const updates = h.slack.callsTo('chat.update').filter((c) => c.args.channel === channel);
      expect(updates.map((u) => u.outcome)).toContain('HTTP 429');
      expect(updates.at(-1)!.outcome).toBe('ok');
      expect(notices(channel, parent.ts)).toHaveLength(1);
    });

    it('lets no prompt or model answer ping anyone or disguise a link', async () => {
      const channel = 'C0HOSTILE';
      const hostile =
        '<!channel> <!here> <!everyone> <@U0BOSS> <!subteam^S0TEAM> @everyone @here <@&123> zero\u200bwidth';
      h.together.reply = () =>
        `${hostile} [https://good.example](https://evil.example) <https://evil.example|https://good.example>`;
      try {
        await h.slash({
          channel_id: channel,
          command: '/ask',
          text: hostile.replace(/</g, '&lt;').replace(/>/g, '&gt;'),
        });
        const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
        await waitFor('the final status', () => parent.text.includes('Done'));
        const posted = [parent, ...h.slack.thread(channel, parent.ts)];
        for (const message of posted) {
          const mentions = [...message.text.matchAll(/<([@!#][^>]*)>/g)].map((m) => m[1]);
          expect(
            mentions.every((m) => m === '@U0PANDA'),
            message.text,
          ).toBe(true);
          expect(message.text).not.toMatch(/<https?:[^>]*\|/);
        }
        const answer = h.slack.thread(channel, parent.ts)[0]!.text;
        expect(answer).toContain('&lt;!channel&gt;');
        expect(answer).toContain('https://good.example (https://evil.example)');
      } finally {
        h.together.reply = (body) => `You asked: ${body.messages.at(-1)?.content ?? ''}`;
      }
    });

    it('logs the job id from command to delivery', () => {
      const lines = h.logs
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const queued = lines.find((l) => l.msg === 'job queued' && l.channel === 'C0FLUX');
      expect(queued?.jobId).toMatch(/^slack-T0LORABOT-/);
      const trail = lines.filter((l) => l.jobId === queued!.jobId).map((l) => l.msg);
      expect(trail).toEqual(expect.arrayContaining(['job queued', 'job started', 'job done']));
    });

    it('never logs a secret', () => {
      const logs = h.logs.join('');
      expect(logs.length).toBeGreaterThan(100);
      for (const secret of [h.together.apiKey, h.slack.botToken, 'test-signing-secret-8f742231b10e']) {
        expect(logs).not.toContain(secret);
      }
    });
  },
);
