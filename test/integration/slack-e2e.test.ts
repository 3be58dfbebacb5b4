import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { togetherSpec } from '../contract/fakes/openapi-validator.js';
import { decodeImage } from '../contract/fakes/test-images.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

async function jobCounts() {
  const producer = h.running.producer!;
  const [image, chat] = await Promise.all([
    producer.queues.image.getJobCounts(),
    producer.queues.chat.getJobCounts(),
  ]);
  return Object.values(image).reduce((a, b) => a + b, 0) + Object.values(chat).reduce((a, b) => a + b, 0);
}

function notices(channel: string, parentTs: string) {
  return h.slack.thread(channel, parentTs).filter((m) => m.text.includes('<@U0PANDA>'));
}

describe('Slack end to end: signed slash command → Bolt → BullMQ on Redis → worker → Together → Slack', () => {
  it('runs /flux with two LoRAs (one a preset with a trigger phrase) into a threaded, costed reply', async () => {
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
    expect(await ledger.total('user', `slack:${h.slack.teamId}:U0PANDA`, 'day', day)).toBeGreaterThanOrEqual(
      35_000,
    );
  });

  it('runs /ask into a threaded answer with its token cost', async () => {
    const channel = 'C0ASK';
    const result = await h.slash({ channel_id: channel, command: '/ask', text: 'how do I rotate keys?' });
    expect(result.status).toBe(200);
    expect(result.ackMs).toBeLessThan(1000);
    const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
    const done = await waitFor('the completion notice', () => notices(channel, parent.ts)[0]);
    const thread = h.slack.thread(channel, parent.ts);
    expect(thread.map((m) => m.text)).toEqual(['You asked: how do I rotate keys?', done.text]);
    // The fake counts words: 13 of system prompt + 5 of question in, 7 out; at $0.18/M each, ceil(25 × 0.18) µ$.
    expect(done.text).toBe('<@U0PANDA> Your answer is ready. Cost: $0.000005 (18 in + 7 out tokens)');
    const chat = h.together.callsTo('/chat/completions').at(-1)!;
    expect(chat.schemaErrors).toEqual([]);
    await waitFor('the final status', () => parent.text.includes('Done'));
  });

  it('answers a user error privately in the ack and queues nothing', async () => {
    const before = await jobCounts();
    const calls = h.slack.calls.length;
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
    expect(h.slack.calls.length).toBe(calls);
  });

  it('accepts a /blob/ link, rewrites it and says so privately', async () => {
    const channel = 'C0BLOB';
    await h.slash({
      channel_id: channel,
      command: '/flux',
      text: 'a fox --lora <https://huggingface.co/o/r/blob/main/fox.safetensors> --size 512x512',
    });
    const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
    await waitFor('the completion notice', () => notices(channel, parent.ts)[0]);
    const call = h.together.callsTo('/images/generations').at(-1)!;
    expect(call.body).toMatchObject({
      image_loras: [{ path: 'https://huggingface.co/o/r/resolve/main/fox.safetensors', scale: 1 }],
    });
    await waitFor('the ephemeral notice', () =>
      h.slack.responses.find(
        (r) => String(r.body.text).includes('/resolve/') && r.body.response_type === 'ephemeral',
      ),
    );
  });

  it('keeps a --size just past a megapixel and says privately which size costs one less', async () => {
    const channel = 'C0SIZE';
    await h.slash({ channel_id: channel, command: '/flux', text: 'a fox --size 1024x1024' });
    const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
    const done = await waitFor('the completion notice', () => notices(channel, parent.ts)[0]);
    expect(done.text).toBe('<@U0PANDA> Your image is ready. Cost: $0.07 (1 image × 2 MP × $0.035/MP)');
    expect(h.together.callsTo('/images/generations').at(-1)!.body).toMatchObject({
      width: 1024,
      height: 1024,
    });
    await waitFor('the private hint', () =>
      h.slack.responses.find(
        (r) =>
          r.body.text === '1024x1024 is billed as 2 MP; 1000x1000 costs $0.035 instead of $0.07.' &&
          r.body.response_type === 'ephemeral',
      ),
    );
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
    expect(h.together.calls.filter((c) => JSON.stringify(c.body).includes('is this twice?'))).toHaveLength(1);
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

  it('reports a Together failure once in the thread, mentions the requester and charges nothing', async () => {
    const channel = 'C0FAIL';
    h.together.inject('/images/generations', { kind: 'status', status: 402 });
    await h.slash({ channel_id: channel, command: '/flux', text: 'an unpaid panda --size 512x512' });
    const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
    const notice = await waitFor('the failure notice', () => notices(channel, parent.ts)[0]);
    expect(notice.text).toBe(
      '<@U0PANDA> Your /flux request failed: The Together account is out of credits or at its spending limit. An operator needs to add credits.',
    );
    await waitFor('the failed status', () => parent.text.includes('Failed'));
    await new Promise((r) => setTimeout(r, 300));
    expect(notices(channel, parent.ts)).toHaveLength(1);
    const month = new Date().toISOString().slice(0, 7);
    const ledger = h.running.workers!.ledgerView;
    expect(await ledger.total('channel', `slack:${h.slack.teamId}:${channel}`, 'month', month)).toBe(0);
  });

  it('retries the job after passing Together trouble, without a second message', async () => {
    const channel = 'C0RETRY';
    // The client tries twice (max_retries: 1); three 503s make the first job attempt fail and BullMQ retry it.
    h.together.inject('/chat/completions', { kind: 'status', status: 503 }, 3);
    await h.slash({ channel_id: channel, command: '/ask', text: 'will this recover?' });
    const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
    const notice = await waitFor('the completion notice', () => notices(channel, parent.ts)[0]);
    expect(notice.text).toMatch(/Your answer is ready\. Cost: /);
    await waitFor('the final status', () => parent.text.includes('Done'));
    expect(h.slack.thread(channel, parent.ts).map((m) => m.text)).toEqual([
      'You asked: will this recover?',
      notice.text,
    ]);
    expect(
      h.together.calls.filter((c) => JSON.stringify(c.body).includes('will this recover?')),
    ).toHaveLength(4);
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

  it('sent only requests that pass Together’s OpenAPI schema', () => {
    const spec = togetherSpec();
    expect(h.together.calls.length).toBeGreaterThan(3);
    for (const call of h.together.calls) {
      expect(spec.errors(spec.requestBodyPointer(call.path, 'post'), call.body)).toEqual([]);
    }
  });

  it('called Slack only with arguments its Web API documents', () => {
    const checked = h.slack.calls.filter((call) => call.method !== 'apps.connections.open');
    expect([...new Set(checked.map((call) => call.method))]).toEqual(
      expect.arrayContaining([
        'chat.postMessage',
        'chat.update',
        'files.getUploadURLExternal',
        'files.completeUploadExternal',
      ]),
    );
    for (const call of checked)
      expect(call.schemaErrors, `${call.method} ${JSON.stringify(call.args)}`).toEqual([]);
  });

  it('shows what happened on GET /metrics', async () => {
    const response = await fetch(`${h.running.httpUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    expect(
      value(/^lorabot_commands_total\{platform="slack",entry="slash",kind="flux",outcome="queued"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(3);
    expect(
      value(
        /^lorabot_commands_total\{platform="slack",entry="slash",kind="flux",outcome="user_error"\} (\d+)/m,
      ),
    ).toBe(3);
    expect(
      value(
        /^lorabot_commands_total\{platform="slack",entry="slash",kind="ask",outcome="duplicate"\} (\d+)/m,
      ),
    ).toBe(1);
    expect(value(/^lorabot_jobs_total\{kind="flux",outcome="done"\} (\d+)/m)).toBeGreaterThanOrEqual(2);
    expect(value(/^lorabot_jobs_total\{kind="flux",outcome="failed"\} (\d+)/m)).toBe(1);
    expect(value(/^lorabot_jobs_total\{kind="ask",outcome="retried"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^lorabot_provider_errors_total\{kind="image",status="402"\} (\d+)/m)).toBe(1);
    expect(
      value(/^lorabot_provider_request_duration_seconds_count\{kind="image",result="ok"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(/^lorabot_spent_usd_total\{model="black-forest-labs\/FLUX\.2-dev"\} ([\d.]+)/m),
    ).toBeGreaterThan(0);
    expect(text).toMatch(/^lorabot_queue_jobs\{queue="image",state="completed"\} \d+/m);
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
});
