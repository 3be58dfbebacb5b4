import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TogetherJobsClient } from '../../src/adapters/together/together-jobs.js';
import { FakeTogether } from './fakes/fake-together.js';
import { togetherSpec } from './fakes/openapi-validator.js';

let together: FakeTogether;
let client: TogetherJobsClient;

beforeAll(async () => {
  together = await new FakeTogether().start();
  client = new TogetherJobsClient({ baseUrl: together.baseUrl, apiKey: together.apiKey });
});

afterAll(async () => {
  await client.close();
  await together.close();
});

async function get(path: string) {
  const response = await fetch(`${together.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${together.apiKey}` },
  });
  return { status: response.status, json: (await response.json()) as unknown };
}

/**
 * Together's document types a fine-tune's `id` as `format: uuid`, while its ids are `ft-<uuid>` (its own examples
 * say `ft-id`): that one format is the only difference allowed.
 */
function errorsBesidesIdFormat(pointer: string, value: unknown): string[] {
  return togetherSpec()
    .errors(pointer, value)
    .filter((e) => !/^\/id must match format "uuid"/.test(e));
}

describe("the fake Together's fine-tunes and jobs answer in Together's shapes, and the client reads them", () => {
  it('serves a fine-tune, its events and an upload job as the owned schema describes', async () => {
    together.fineTunes.addFineTune('ft-contract-1', { stepMs: 50, outputModel: 'team/contract-ft' });
    together.fineTunes.addUpload('job-contract-1', { stepMs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    const spec = togetherSpec();
    const job = await get('/fine-tunes/ft-contract-1');
    expect(errorsBesidesIdFormat(spec.responsePointer('/fine-tunes/{id}', 'get', '200'), job.json)).toEqual(
      [],
    );
    const events = await get('/fine-tunes/ft-contract-1/events');
    expect(spec.errors(spec.responsePointer('/fine-tunes/{id}/events', 'get', '200'), events.json)).toEqual(
      [],
    );
    const upload = await get('/jobs/job-contract-1');
    expect(spec.errors(spec.responsePointer('/jobs/{jobId}', 'get', '200'), upload.json)).toEqual([]);
    expect((await get('/fine-tunes/ft-nobody')).status).toBe(404);
  });

  it('reads a completed fine-tune: output model, total_price in nano-dollars as micros, the last event', async () => {
    const look = await client.look('ft-contract-1', 'fine-tune');
    expect(look).toEqual({
      ok: true,
      snapshot: expect.objectContaining({
        state: 'completed',
        outputModel: 'team/contract-ft',
        priceMicros: 4_200_000,
        lastEvent: 'Job finished',
      }),
    });
    expect(await client.look('job-contract-1', 'upload')).toMatchObject({
      ok: true,
      snapshot: { state: 'Complete' },
    });
    expect(await client.look('ft-nobody', 'fine-tune')).toEqual({ ok: false, reason: 'gone' });
    together.fineTunes.rateLimit(1, 7);
    expect(await client.look('ft-contract-1', 'fine-tune')).toMatchObject({
      ok: false,
      reason: 'later',
      retryAfterMs: 7000,
    });
  });

  it('sends estimate and create bodies the schema accepts', async () => {
    const body = {
      training_file: 'file-1',
      model: 'meta/base',
      n_epochs: 1,
      training_type: { type: 'Full' },
    };
    expect(await client.estimate(body)).toEqual({ micros: 4_200_000, allowed: true });
    const created = await client.create(body);
    expect(created.id).toMatch(/^ft-/);
    const posts = together.fineTunes.calls.filter((c) => c.method === 'POST');
    expect(posts.map((c) => c.schemaErrors)).toEqual([[], []]);
  });
});
