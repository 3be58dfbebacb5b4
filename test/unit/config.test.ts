import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_FILE_CONFIG, loadConfig } from '../../src/config/index.js';
import { REPO_ROOT } from '../helpers/paths.js';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorabot-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('config', () => {
  it('uses built-in defaults with no file and no variables', () => {
    const result = loadConfig({ env: {}, cwd: dirWith({}) });
    if (!result.success) throw new Error(result.error.message);
    const config = result.data;
    expect(config.together.baseUrl).toBe('https://api.together.ai/v1');
    expect(config.together.apiKey).toBeUndefined();
    expect(config.together.timeouts.imageMs).toBeGreaterThanOrEqual(180_000);
    expect(config.core.image.model).toBe('black-forest-labs/FLUX.2-dev');
    expect(config.core.image.defaults.steps).toBe(28);
    expect(config.core.image.bounds.loraScale).toEqual({ min: 0.3, max: 1.2 });
    expect(config.core.image.pricing).toEqual({
      kind: 'per-megapixel',
      microsPerMegapixel: 35_000,
      megapixelPixels: 1_000_000,
      rounding: 'up',
      stepScaling: null,
    });
    // Neither Slack nor Discord: nothing needs a public address, so only this machine (the playground works at once).
    expect(config.http).toEqual({ port: 3000, host: '127.0.0.1' });
    expect(config.slack).toBeNull();
    expect(config.discord).toBeNull();
    expect(config.configPath).toBeUndefined();
    expect(Object.isFrozen(config.core.image.bounds)).toBe(true);
  });

  it('listens on every interface when Slack or Discord is configured and HOST is unset, and on HOST when set', () => {
    const host = (env: Record<string, string>) => {
      const result = loadConfig({ env, cwd: dirWith({}) });
      if (!result.success) throw new Error(result.error.message);
      return result.data.http.host;
    };
    const slack = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret' };
    const discord = { DISCORD_TOKEN: 'token', DISCORD_APPLICATION_ID: '123456789012345678' };
    expect(host({})).toBe('127.0.0.1');
    expect(host(slack)).toBe('0.0.0.0');
    expect(host(discord)).toBe('0.0.0.0');
    expect(host({ ...slack, HOST: '10.0.0.5' })).toBe('10.0.0.5');
    expect(host({ HOST: '0.0.0.0' })).toBe('0.0.0.0');
    // An empty HOST counts as unset, like every other variable.
    expect(host({ HOST: '' })).toBe('127.0.0.1');
  });

  it('reads lorabot.config.yaml from the working directory and merges it over the defaults', () => {
    const cwd = dirWith({
      'lorabot.config.yaml': [
        'image:',
        '  model: black-forest-labs/FLUX.1-kontext-pro',
        '  pricing: { usd_per_megapixel: 0.04, megapixel_pixels: 1048576, rounding: none, step_scaling_default_steps: 28 }',
        'loras:',
        '  ink: { url: "https://huggingface.co/o/ink/blob/main/ink.safetensors", trigger: "ink style", scale: 0.7 }',
      ].join('\n'),
    });
    const result = loadConfig({ env: { TOGETHER_API_KEY: 'k', PORT: '8080' }, cwd });
    if (!result.success) throw new Error(result.error.message);
    const { core } = result.data;
    expect(core.image.model).toBe('black-forest-labs/FLUX.1-kontext-pro');
    expect(core.image.defaults.steps).toBe(28);
    expect(core.image.pricing).toEqual({
      kind: 'per-megapixel',
      microsPerMegapixel: 40_000,
      megapixelPixels: 1_048_576,
      rounding: 'none',
      stepScaling: { defaultSteps: 28 },
    });
    expect(Object.keys(core.loras)).toEqual(['ink']);
    expect(core.loras.ink!.url).toBe('https://huggingface.co/o/ink/resolve/main/ink.safetensors');
    expect(result.data.http.port).toBe(8080);
  });

  it('asks Together for jpeg by default, png when configured, and names image.output_format when it is wrong', () => {
    const byDefault = loadConfig({ env: {}, cwd: dirWith({}) });
    if (!byDefault.success) throw new Error(byDefault.error.message);
    expect(byDefault.data.core.image.outputFormat).toBe('jpeg');
    const png = loadConfig({
      env: {},
      cwd: dirWith({ 'lorabot.config.yaml': 'image:\n  output_format: png' }),
    });
    if (!png.success) throw new Error(png.error.message);
    expect(png.data.core.image.outputFormat).toBe('png');
    const webp = loadConfig({
      env: {},
      cwd: dirWith({ 'lorabot.config.yaml': 'image:\n  output_format: webp' }),
    });
    expect(webp.success).toBe(false);
    if (!webp.success) expect(webp.error.problems.join('\n')).toMatch(/image\.output_format.*"jpeg".*"png"/);
  });

  it('sends lorabot/<version> from package.json as the User-Agent', () => {
    const result = loadConfig({ env: {}, cwd: dirWith({}) });
    if (!result.success) throw new Error(result.error.message);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(result.data.together.userAgent).toBe(`lorabot/${pkg.version}`);
  });

  it('reads the channels a preset is limited to, and asks for quotes around a bare Discord id', () => {
    const good = dirWith({
      'lorabot.config.yaml': [
        'loras:',
        '  ink: { url: "https://huggingface.co/o/ink", channels: ["C0STUDIO", "123456789012345678"] }',
        '  open: { url: "https://huggingface.co/o/open" }',
      ].join('\n'),
    });
    const result = loadConfig({ env: {}, cwd: good });
    if (!result.success) throw new Error(result.error.message);
    expect(result.data.core.loras.ink!.channels).toEqual(['C0STUDIO', '123456789012345678']);
    expect(result.data.core.loras.open!.channels).toBeUndefined();

    const bare = dirWith({
      'lorabot.config.yaml':
        'loras:\n  ink: { url: "https://huggingface.co/o/ink", channels: [123456789012345678] }',
    });
    const refused = loadConfig({ env: {}, cwd: bare });
    expect(refused.success).toBe(false);
    if (refused.success) return;
    expect(refused.error.message).toContain('loras.ink.channels.0');
    expect(refused.error.message).toContain('write each channel id in quotes');
  });

  it('reads the pricing variants: per megapixel, per image, per minute of a dedicated endpoint, auto', () => {
    const cwd = dirWith({
      'lorabot.config.yaml': [
        'image:',
        '  model: acme/flux-lora-endpoint',
        '  pricing: { usd_per_image: 0.025 }',
        'chat:',
        '  models:',
        '    default: { id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo, max_tokens: 512, pricing: auto }',
        '    support: { id: "acme-endpoint:support-adapter", max_tokens: 512, pricing: { billed: per_minute } }',
        '    priced: { id: acme/priced, max_tokens: 512, pricing: { input_usd_per_m_tokens: 1, output_usd_per_m_tokens: 2 } }',
        '    free: { id: acme/unknown, max_tokens: 512, pricing: null }',
      ].join('\n'),
    });
    const result = loadConfig({ env: {}, cwd });
    if (!result.success) throw new Error(result.error.message);
    const { core } = result.data;
    expect(core.image.model).toBe('acme/flux-lora-endpoint');
    expect(core.image.pricing).toEqual({ kind: 'per-image', microsPerImage: 25_000 });
    expect(core.chat.models.default!.pricing).toEqual({ kind: 'auto' });
    expect(core.chat.models.support!.pricing).toEqual({ kind: 'per-minute' });
    expect(core.chat.models.support!.id).toBe('acme-endpoint:support-adapter');
    expect(core.chat.models.priced!.pricing).toEqual({
      kind: 'per-token',
      inputMicrosPerMTokens: 1_000_000,
      outputMicrosPerMTokens: 2_000_000,
    });
    expect(core.chat.models.free!.pricing).toBeNull();

    const uptime = dirWith({ 'lorabot.config.yaml': 'image:\n  pricing: { billed: per_minute }' });
    const billed = loadConfig({ env: {}, cwd: uptime });
    if (!billed.success) throw new Error(billed.error.message);
    expect(billed.data.core.image.pricing).toEqual({ kind: 'per-minute' });

    // A per-megapixel price alone keeps the defaults of the other megapixel settings.
    const perMp = dirWith({ 'lorabot.config.yaml': 'image:\n  pricing: { usd_per_megapixel: 0.025 }' });
    const mp = loadConfig({ env: {}, cwd: perMp });
    if (!mp.success) throw new Error(mp.error.message);
    expect(mp.data.core.image.pricing).toEqual({
      kind: 'per-megapixel',
      microsPerMegapixel: 25_000,
      megapixelPixels: 1_000_000,
      rounding: 'up',
      stepScaling: null,
    });
  });

  it('names the pricing key and what it expects when a price is wrong', () => {
    const cwd = dirWith({
      'lorabot.config.yaml': [
        'image:',
        '  pricing: { usd_per_megapixel: 0.035, usd_per_image: 0.02 }',
        'chat:',
        '  models:',
        '    default: { id: a/b, max_tokens: 512, pricing: automatic }',
        '    other: { id: a/c, max_tokens: 512, pricing: { input_usd_per_m_tokens: 1 } }',
        '    third: { id: a/d, max_tokens: 512, pricing: { billed: hourly } }',
      ].join('\n'),
    });
    const result = loadConfig({ env: {}, cwd });
    expect(result.success).toBe(false);
    if (result.success) return;
    const problems = result.error.problems;
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^image\.pricing .*: expected \{ usd_per_megapixel: … \}, \{ usd_per_image: … \}/,
      ),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^chat\.models\.default\.pricing .*auto, \{ billed: per_minute \} or null/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^chat\.models\.other\.pricing\.output_usd_per_m_tokens /),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^chat\.models\.third\.pricing\.billed .*per_minute/),
    );
    expect(problems).toHaveLength(4);
  });

  it('reports every bad key and variable in one message, naming each', () => {
    const cwd = dirWith({
      'bad.yaml': [
        'image:',
        '  defaults: { width: 1000, steps: 80 }',
        '  bounds: { n: { min: 1, max: 9 } }',
        '  pricing: { usd_per_megapixel: 0.0000001, megapixel_pixels: 1000000, rounding: up, step_scaling_default_steps: null }',
        '  modle: typo',
        'chat:',
        '  default_model: missing',
        'loras:',
        '  bad: { url: "http://example.com/x.safetensors" }',
      ].join('\n'),
    });
    const result = loadConfig({
      env: {
        LORABOT_CONFIG: 'bad.yaml',
        PORT: 'eighty',
        SLACK_BOT_TOKEN: 'xoxb-secret-value',
        REDIS_URL: 'localhost',
      },
      cwd,
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    const text = result.error.message;
    for (const expected of [
      'PORT',
      'REDIS_URL',
      'image.bounds.n.max',
      'image.pricing.usd_per_megapixel',
      'modle',
    ]) {
      expect(text).toContain(expected);
    }
    expect(text).toContain('bad.yaml');
    expect(text).not.toContain('xoxb-secret-value');
    expect(result.error.problems.length).toBeGreaterThanOrEqual(5);
  });

  it('reports cross-field problems: defaults outside bounds, unknown default model, bad preset URLs, Slack without a secret', () => {
    const cwd = dirWith({
      'lorabot.config.yaml': [
        'image:',
        '  defaults: { width: 1001, steps: 50 }',
        'chat:',
        '  default_model: missing',
        'loras:',
        '  bad: { url: "http://example.com/x.safetensors" }',
      ].join('\n'),
    });
    const result = loadConfig({ env: { SLACK_BOT_TOKEN: 'xoxb-1' }, cwd });
    expect(result.success).toBe(false);
    if (result.success) return;
    const text = result.error.message;
    expect(text).toContain('image.defaults.width');
    expect(text).toContain('chat.default_model');
    expect(text).toContain('loras.bad.url');
    expect(text).toContain('SLACK_SIGNING_SECRET');
  });

  it.each([
    'TOGETHER_API_KEY',
    'SLACK_BOT_TOKEN',
    'SLACK_SIGNING_SECRET',
    'SLACK_APP_TOKEN',
    'DISCORD_TOKEN',
    'LORABOT_WEB_PASSWORD',
    'LORABOT_ADMIN_PASSWORD',
    'LORABOT_METRICS_TOKEN',
  ])('refuses an empty or blank %s, naming it, where other empty variables count as unset', (name) => {
    for (const value of ['', '   ', '\t\n']) {
      const result = loadConfig({ env: { [name]: value, HOST: '' }, cwd: dirWith({}) });
      expect(result.success, JSON.stringify(value)).toBe(false);
      if (result.success) return;
      expect(result.error.problems).toContainEqual(
        expect.stringMatching(new RegExp(`^${name}: is empty or only spaces`)),
      );
    }
  });

  it('takes TOGETHER_BASE_URL over https anywhere and over plain http only to a loopback address', () => {
    const baseUrl = (url: string) => {
      const result = loadConfig({ env: { TOGETHER_BASE_URL: url }, cwd: dirWith({}) });
      return result.success ? result.data.together.baseUrl : result.error.message;
    };
    for (const url of [
      'https://api.together.ai/v1',
      'https://proxy.internal:8443/v1',
      'http://127.0.0.1:4010/v1',
      'http://127.8.9.10/v1',
      'http://localhost:4010/v1',
      'http://[::1]:4010/v1',
    ])
      expect(baseUrl(url)).toBe(url);
    for (const url of [
      'http://api.together.ai/v1',
      'http://10.0.0.5/v1',
      'http://localhost.example.com/v1',
      'http://127.0.0.1.nip.io/v1',
      'http://[::2]/v1',
    ])
      expect(baseUrl(url)).toMatch(
        /TOGETHER_BASE_URL: expected an https URL \(plain http only to 127\.0\.0\.0\/8, ::1 or localhost\)/,
      );
  });

  it("turns on the board's actions only with LORABOT_ADMIN_WRITE=1, and keeps the metrics token", () => {
    const load = (env: Record<string, string>) => {
      const result = loadConfig({ env, cwd: dirWith({}) });
      if (!result.success) throw new Error(result.error.message);
      return result.data;
    };
    expect(load({}).adminWrite).toBe(false);
    expect(load({ LORABOT_ADMIN_WRITE: '0' }).adminWrite).toBe(false);
    expect(load({ LORABOT_ADMIN_WRITE: '1' }).adminWrite).toBe(true);
    expect(load({}).metricsToken).toBeUndefined();
    expect(load({ LORABOT_METRICS_TOKEN: 'scrape-me-123' }).metricsToken).toBe('scrape-me-123');
    const bad = loadConfig({ env: { LORABOT_ADMIN_WRITE: 'yes' }, cwd: dirWith({}) });
    expect(!bad.success && bad.error.message).toMatch(/LORABOT_ADMIN_WRITE: expected 1/);
  });

  it('reads image.edit: FLUX.2 [dev] with reference_images by default, an image_url model when set, and its problems', () => {
    const load = (yaml: string) => loadConfig({ env: {}, cwd: dirWith({ 'lorabot.config.yaml': yaml }) });
    const defaults = loadConfig({ env: {}, cwd: dirWith({}) });
    if (!defaults.success) throw new Error(defaults.error.message);
    expect(defaults.data.core.image.edit).toEqual({
      model: 'black-forest-labs/FLUX.2-dev',
      input: 'reference_images',
      maxImages: 4,
      loras: true,
      pricing: {
        kind: 'per-megapixel',
        microsPerMegapixel: 35_000,
        megapixelPixels: 1_000_000,
        rounding: 'up',
        stepScaling: null,
      },
      // The defaults hand images off as links and know no public address: a Slack file or an upload is refused.
      handsOffSources: false,
    });
    const kontext = load(
      'image:\n  edit:\n    model: black-forest-labs/FLUX.1-kontext-max\n    input: image_url\n    max_images: 1\n    loras: false\n    pricing: { usd_per_image: 0.08 }',
    );
    if (!kontext.success) throw new Error(kontext.error.message);
    expect(kontext.data.core.image.edit).toEqual({
      model: 'black-forest-labs/FLUX.1-kontext-max',
      input: 'image_url',
      maxImages: 1,
      loras: false,
      pricing: { kind: 'per-image', microsPerImage: 80_000 },
      handsOffSources: false,
    });
    const inline = load('sources:\n  image_as: data_url');
    if (!inline.success) throw new Error(inline.error.message);
    expect(inline.data.core.image.edit.handsOffSources).toBe(true);
    const linked = load('gateway:\n  public_url: https://lorabot.example.com');
    if (!linked.success) throw new Error(linked.error.message);
    expect(linked.data.core.image.edit.handsOffSources).toBe(true);
    // The image model's price is untouched by the edit model's.
    expect(kontext.data.core.image.pricing).toMatchObject({
      kind: 'per-megapixel',
      microsPerMegapixel: 35_000,
    });
    const bad = load('image:\n  edit:\n    input: image_urls\n    max_images: 9');
    expect(!bad.success && bad.error.message).toMatch(/image\.edit\.input/);
    expect(!bad.success && bad.error.message).toMatch(/image\.edit\.max_images/);
    const many = load('image:\n  edit:\n    input: image_url');
    expect(!many.success && many.error.message).toMatch(
      /image\.edit\.max_images.*image_url carries one image/,
    );
  });

  it('runs on a Redis Cluster from REDIS_CLUSTER_NODES, else from redis.cluster_nodes, and names a bad node', () => {
    const none = loadConfig({ env: {}, cwd: dirWith({}) });
    expect(none.success && none.data.redisClusterNodes).toEqual([]);
    const fromFile = loadConfig({
      env: {},
      cwd: dirWith({ 'lorabot.config.yaml': 'redis:\n  cluster_nodes: ["10.0.0.5:6379", "redis-b:7000"]\n' }),
    });
    expect(fromFile.success && fromFile.data.redisClusterNodes).toEqual([
      { host: '10.0.0.5', port: 6379 },
      { host: 'redis-b', port: 7000 },
    ]);
    const fromEnv = loadConfig({
      env: { REDIS_CLUSTER_NODES: 'a:1,b:2' },
      cwd: dirWith({ 'lorabot.config.yaml': 'redis:\n  cluster_nodes: ["10.0.0.5:6379"]\n' }),
    });
    expect(fromEnv.success && fromEnv.data.redisClusterNodes).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    const bad = loadConfig({
      env: { REDIS_CLUSTER_NODES: 'a:1, b' },
      cwd: dirWith({ 'lorabot.config.yaml': 'redis:\n  cluster_nodes: ["no-port"]\n' }),
    });
    expect(!bad.success && bad.error.problems).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_NODES: expected host:port,host:port/),
      expect.stringMatching(/^redis\.cluster_nodes\.0 \(in .*\): expected host:port/),
    ]);
  });

  it('says when LORABOT_CONFIG names no file, and when the file is not YAML', () => {
    const missing = loadConfig({ env: { LORABOT_CONFIG: 'nope.yaml' }, cwd: dirWith({}) });
    expect(!missing.success && missing.error.message).toMatch(/LORABOT_CONFIG: no file at .*nope\.yaml/);
    const broken = loadConfig({ env: {}, cwd: dirWith({ 'lorabot.config.yaml': 'image: [unclosed' }) });
    expect(!broken.success && broken.error.message).toMatch(/cannot be read as YAML/);
  });

  it('ships an example config whose every setting is commented and which loads as it is', () => {
    const example = join(REPO_ROOT, 'lorabot.config.example.yaml');
    const result = loadConfig({ env: { LORABOT_CONFIG: example }, cwd: REPO_ROOT });
    if (!result.success) throw new Error(result.error.message);
    const text = readFileSync(example, 'utf8');
    const parsed = parseYaml(text) as Record<string, unknown>;
    // Every default key appears in the example, and every key line has a comment right above it or beside it.
    const keys = flattenKeys(DEFAULT_FILE_CONFIG).filter(
      (k) => !k.startsWith('loras.') && !k.startsWith('chat.models.'),
    );
    for (const key of keys) expect(flattenKeys(parsed), key).toContain(key);
    // The values shown are the built-in ones: the example is the defaults' documentation, so it may not drift.
    expect(parsed).toEqual(DEFAULT_FILE_CONFIG);
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (/^\s*[a-z_]+:/.test(line)) {
        const commented = line.includes('#') || /^\s*#/.test(lines[i - 1] ?? '');
        expect(commented, `line ${i + 1} "${line.trim()}" has no comment`).toBe(true);
      }
    });
  });
});

function flattenKeys(value: unknown, prefix = ''): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [prefix.slice(0, -1)];
  return Object.entries(value).flatMap(([k, v]) => flattenKeys(v, `${prefix}${k}.`));
}
