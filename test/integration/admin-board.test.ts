import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';

let h: Harness;
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  h = await startHarness({
    env: { LORABOT_ADMIN_USER: 'ops', LORABOT_ADMIN_PASSWORD: 'correct horse battery' },
  });
});

afterAll(async () => {
  await h.close();
});

describe('Bull Board at /admin/queues', () => {
  it('asks for credentials and refuses wrong ones', async () => {
    const none = await fetch(`${h.running.httpUrl}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    const wrong = await fetch(`${h.running.httpUrl}/admin/queues`, {
      headers: { authorization: basic('ops', 'guess') },
    });
    expect(wrong.status).toBe(401);
  });

  it('shows both queues to the operator', async () => {
    const page = await fetch(`${h.running.httpUrl}/admin/queues`, {
      headers: { authorization: basic('ops', 'correct horse battery') },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const api = await fetch(`${h.running.httpUrl}/admin/queues/api/queues`, {
      headers: { authorization: basic('ops', 'correct horse battery') },
    });
    expect(api.status).toBe(200);
    const names = ((await api.json()) as { queues: Array<{ name: string }> }).queues
      .map((q) => q.name)
      .sort();
    expect(names).toEqual(['chat', 'image']);
  });
});

describe('without admin credentials', () => {
  it('has no /admin/queues at all', async () => {
    const plain = await startHarness();
    try {
      expect((await fetch(`${plain.running.httpUrl}/admin/queues`)).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
