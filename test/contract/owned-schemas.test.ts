import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from './fakes/fake-slack.js';
import { discordSpec, ownedSpec, slackSpec, togetherSpec } from './fakes/openapi-validator.js';
import { escapePointer } from './json-pointer.js';
import { upstreamOf } from './schema-drift.js';
import { loadOwnedSchema, OWNED_SCHEMAS, type OwnedSchemaName } from './schemas/owned-schemas.js';

const NAMES = Object.keys(OWNED_SCHEMAS) as OwnedSchemaName[];
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

/** Every schema an owned document declares: request bodies, responses and components. */
function schemaPointers(name: OwnedSchemaName): string[] {
  const document = loadOwnedSchema(name) as {
    paths: Record<string, Record<string, { requestBody?: unknown; responses?: Record<string, unknown> }>>;
    components?: { schemas?: Record<string, unknown> };
  };
  const spec = ownedSpec(name);
  const pointers: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS.filter((m) => item[m])) {
      const operation = item[method]!;
      const bodies =
        (operation.requestBody as { content?: Record<string, unknown> } | undefined)?.content ?? {};
      for (const type of Object.keys(bodies)) pointers.push(spec.requestBodyPointer(path, method, type));
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        for (const type of Object.keys((response as { content?: object }).content ?? {}))
          pointers.push(spec.responsePointer(path, method, status, type));
      }
    }
  }
  for (const component of Object.keys(document.components?.schemas ?? {}))
    pointers.push(`/components/schemas/${escapePointer(component)}`);
  return pointers;
}

describe('the owned API descriptions', () => {
  it.each(NAMES)('%s names the upstream document and version it was checked against', (name) => {
    const document = loadOwnedSchema(name) as { openapi: string; info: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    const upstream = document.info['x-upstream'] as Record<string, string>;
    expect(upstreamOf(document)).toEqual({ title: upstream.title, version: upstream.version });
    expect(upstream.source).toMatch(/^https:\/\//);
    expect(upstream.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it.each(NAMES)('%s compiles, with every $ref resolved inside the document', (name) => {
    const pointers = schemaPointers(name);
    expect(pointers.length).toBeGreaterThan(5);
    // Compiling a schema whose $ref points nowhere throws ("can't resolve reference").
    for (const pointer of pointers)
      expect(() => ownedSpec(name).errors(pointer, null), pointer).not.toThrow();
  });
});

describe('the Together schema refuses what Together refuses', () => {
  const spec = togetherSpec();
  const image = spec.requestBodyPointer('/images/generations', 'post');
  const chat = spec.requestBodyPointer('/chat/completions', 'post');
  const body = {
    model: 'black-forest-labs/FLUX.1-dev-lora',
    prompt: 'a panda',
    width: 1024,
    height: 768,
    steps: 28,
    n: 1,
    response_format: 'base64',
    output_format: 'png',
    image_loras: [{ path: 'https://huggingface.co/a/b', scale: 0.8 }],
    reference_images: ['https://example.com/a.png'],
  };

  it('accepts an image body lorabot sends', () => {
    expect(spec.errors(image, body)).toEqual([]);
  });

  it.each([
    ['no prompt', { ...body, prompt: undefined }, /must have required property 'prompt'/],
    ['a LoRA without scale', { ...body, image_loras: [{ path: 'https://huggingface.co/a/b' }] }, /scale/],
    ['steps as text', { ...body, steps: 'many' }, /\/steps must be integer/],
    [
      'an unknown response format',
      { ...body, response_format: 'png' },
      /response_format must be equal to one/,
    ],
    ['an unknown output format', { ...body, output_format: 'webp' }, /output_format must be equal to one/],
  ])('refuses an image body with %s', (_, bad, message) => {
    expect(spec.errors(image, JSON.parse(JSON.stringify(bad))).join('\n')).toMatch(message);
  });

  it('accepts text and image_url content parts and refuses an unknown role', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
        ],
      },
    ];
    expect(spec.errors(chat, { model: 'm', messages, max_tokens: 64, stream: true })).toEqual([]);
    expect(spec.errors(chat, { model: 'm', messages: [{ role: 'robot', content: 'hi' }] })).not.toEqual([]);
    expect(spec.errors(chat, { model: 'm', messages: [], max_tokens: 'lots' }).join('\n')).toMatch(
      /\/max_tokens must be integer/,
    );
  });

  it('reads a model list with its type and pricing', () => {
    const list = spec.responsePointer('/models', 'get', '200');
    const model = { id: 'm', object: 'model', created: 1, type: 'chat' };
    const pricing = { input: 0.18, output: 0.18, base: 0, hourly: 0, finetune: 0 };
    expect(spec.errors(list, [{ ...model, pricing }])).toEqual([]);
    expect(spec.errors(list, [{ ...model, type: 'robot' }])).not.toEqual([]);
    expect(spec.errors(list, [{ ...model, pricing: { input: 0.18 } }]).join('\n')).toMatch(/output/);
  });

  it('describes the fine-tuning and job endpoints', () => {
    const create = spec.requestBodyPointer('/fine-tunes', 'post');
    const lora = { type: 'Lora', lora_r: 8, lora_alpha: 16 };
    expect(spec.errors(create, { training_file: 'file-1', model: 'm', training_type: lora })).toEqual([]);
    expect(spec.errors(create, { training_file: 'file-1' }).join('\n')).toMatch(/model/);
    const job = spec.responsePointer('/jobs/{jobId}', 'get', '200');
    expect(spec.errors(job, { type: 'x', job_id: 'j', status: 'Done' }).join('\n')).toMatch(/status/);
  });
});

describe('the Discord schema refuses what Discord refuses', () => {
  const spec = discordSpec();
  const create = spec.requestBodyPointer('/channels/{channel_id}/messages', 'post');
  const callback = spec.requestBodyPointer(
    '/interactions/{interaction_id}/{interaction_token}/callback',
    'post',
  );
  const button = { type: 2, style: 1, custom_id: 'run', label: 'Run' };

  it('accepts a message with buttons, Components V2 and allowed_mentions', () => {
    const message = {
      content: 'done',
      allowed_mentions: { parse: [], users: ['111111111111111111'] },
      components: [{ type: 1, components: [button] }],
    };
    expect(spec.errors(create, message)).toEqual([]);
    const v2 = {
      flags: 32768,
      components: [
        {
          type: 17,
          accent_color: 0x5865f2,
          components: [
            { type: 10, content: '**a panda**' },
            { type: 12, items: [{ media: { url: 'attachment://panda.png' } }] },
            { type: 1, components: [button] },
          ],
        },
      ],
    };
    expect(spec.errors(create, v2)).toEqual([]);
  });

  it.each([
    ['content over 4,000 characters', { content: 'x'.repeat(4001) }, /content must NOT have more than 4000/],
    [
      'a button without style',
      { components: [{ type: 1, components: [{ type: 2, custom_id: 'a' }] }] },
      /style/,
    ],
    ['a component type Discord does not have', { components: [{ type: 99 }] }, /oneOf/],
    ['an unknown allowed_mentions type', { allowed_mentions: { parse: ['everybody'] } }, /parse/],
    ['an empty media gallery', { components: [{ type: 12, items: [] }] }, /oneOf/],
  ])('refuses a message with %s', (_, bad, message) => {
    expect(spec.errors(create, bad).join('\n')).toMatch(message);
  });

  it('refuses an interaction callback of an unknown type', () => {
    expect(spec.errors(callback, { type: 5, data: { flags: 64 } })).toEqual([]);
    expect(spec.errors(callback, { type: 3, data: { content: 'hi' } })).not.toEqual([]);
  });

  it('refuses a command whose name is too long', () => {
    const commands = spec.requestBodyPointer('/applications/{application_id}/commands', 'put');
    expect(spec.errors(commands, [{ name: 'flux', description: 'Make an image', type: 1 }])).toEqual([]);
    expect(spec.errors(commands, [{ name: 'x'.repeat(33), description: 'd' }]).join('\n')).toMatch(/name/);
  });
});

describe('the Slack schema and the fake Slack that checks it', () => {
  const spec = slackSpec();
  const post = spec.requestBodyPointer('/chat.postMessage', 'post');
  let slack: FakeSlack;

  beforeAll(async () => {
    slack = await new FakeSlack().start();
  });
  afterAll(async () => {
    await slack.close();
  });

  function call(method: string, args: Record<string, string>) {
    return fetch(`${slack.apiUrl}${method}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${slack.botToken}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(args).toString(),
    }).then((r) => r.json() as Promise<{ ok: boolean; error?: string; response_metadata?: unknown }>);
  }

  it('refuses a message without a channel, and blocks that are not Block Kit blocks', () => {
    expect(spec.errors(post, { channel: 'C1', text: 'hi', blocks: [{ type: 'section' }] })).toEqual([]);
    expect(spec.errors(post, { text: 'hi' }).join('\n')).toMatch(/channel/);
    expect(spec.errors(post, { channel: 'C1', blocks: [{ text: 'no type' }] }).join('\n')).toMatch(/type/);
  });

  it('describes the streaming methods Slack added after its last OpenAPI document', () => {
    const append = spec.requestBodyPointer('/chat.appendStream', 'post');
    expect(spec.errors(append, { channel: 'C1', ts: '1.2', markdown_text: '**hi**' })).toEqual([]);
    expect(spec.errors(append, { channel: 'C1', ts: '1.2' }).join('\n')).toMatch(/markdown_text/);
    const stop = spec.requestBodyPointer('/chat.stopStream', 'post');
    expect(spec.errors(stop, { channel: 'C1', ts: '1.2', session_status: 'gone' }).join('\n')).toMatch(
      /session_status/,
    );
  });

  it('decodes form arguments by the schema and accepts a well-formed call', async () => {
    const answer = await call('chat.postMessage', {
      channel: 'C0FORM',
      text: 'hello',
      blocks: JSON.stringify([{ type: 'section', text: { type: 'mrkdwn', text: 'hello' } }]),
      unfurl_links: 'false',
    });
    expect(answer.ok).toBe(true);
    expect(slack.callsTo('chat.postMessage').at(-1)!.schemaErrors).toEqual([]);
  });

  it('answers invalid_arguments, records the errors and changes nothing for arguments Slack would refuse', async () => {
    const before = slack.messages.length;
    const answer = await call('chat.postMessage', { channel: 'C0FORM', text: 'hi', unfurl_links: 'maybe' });
    expect(answer).toMatchObject({ ok: false, error: 'invalid_arguments' });
    expect(JSON.stringify(answer.response_metadata)).toMatch(/unfurl_links must be boolean/);
    expect(slack.callsTo('chat.postMessage').at(-1)!.schemaErrors.join('\n')).toMatch(/unfurl_links/);
    const upload = await call('files.getUploadURLExternal', { filename: 'a.png', length: 'big' });
    expect(upload).toMatchObject({ ok: false, error: 'invalid_arguments' });
    expect(slack.messages.length).toBe(before);
  });
});
