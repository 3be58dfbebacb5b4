import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { togetherSpec } from '../../contract/fakes/openapi-validator.js';
import { runCli } from '../../helpers/run-cli.js';

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, env);

describe('lorabot run --dry-run --json', () => {
  it('prints the exact Together request body with the LoRA, and the estimate', async () => {
    const { code, stdout } = await cli([
      'run',
      '--dry-run',
      '--json',
      '/flux a panda --lora https://huggingface.co/multimodalart/flux-tarot-v1@0.8',
    ]);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const output = JSON.parse(stdout);
    expect(output).toEqual({
      ok: true,
      kind: 'flux',
      request: {
        model: 'black-forest-labs/FLUX.2-dev',
        prompt: 'a panda',
        width: 1000,
        height: 1000,
        steps: 28,
        n: 1,
        response_format: 'base64',
        output_format: 'jpeg',
        image_loras: [{ path: 'https://huggingface.co/multimodalart/flux-tarot-v1', scale: 0.8 }],
      },
      estimate: { usd: 0.035, text: 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)' },
    });
    expect(
      togetherSpec().errors(togetherSpec().requestBodyPointer('/images/generations', 'post'), output.request),
    ).toEqual([]);
  });

  it('prints the edit body for --image: FLUX.2 [dev] with reference_images and the LoRA, at the edit price', async () => {
    const { code, stdout } = await cli([
      'run',
      '--dry-run',
      '--json',
      '/flux make it night --lora tarot --image https://example.com/a.jpg --image <https://example.com/b.png|b>',
    ]);
    expect(code).toBe(0);
    const output = JSON.parse(stdout);
    expect(output).toEqual({
      ok: true,
      kind: 'flux',
      request: {
        model: 'black-forest-labs/FLUX.2-dev',
        prompt: 'in the style of TOK a trtcrd tarot style, make it night',
        width: 1000,
        height: 1000,
        steps: 28,
        n: 1,
        response_format: 'base64',
        output_format: 'jpeg',
        image_loras: [{ path: 'https://huggingface.co/multimodalart/flux-tarot-v1', scale: 1 }],
        reference_images: ['https://example.com/a.jpg', 'https://example.com/b.png'],
      },
      estimate: { usd: 0.035, text: 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)' },
    });
    expect(
      togetherSpec().errors(togetherSpec().requestBodyPointer('/images/generations', 'post'), output.request),
    ).toEqual([]);
  });

  it('prints an image_url body priced at the configured edit model, and refuses what that model cannot take', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorabot-edit-'));
    const config = join(dir, 'lorabot.config.yaml');
    writeFileSync(
      config,
      [
        'image:',
        '  edit:',
        '    model: black-forest-labs/FLUX.1-kontext-pro',
        '    input: image_url',
        '    max_images: 1',
        '    loras: false',
        '    pricing: { usd_per_megapixel: 0.04 }',
      ].join('\n'),
    );
    const env = { LORABOT_CONFIG: config };
    const ok = await cli(
      ['run', '--dry-run', '--json', '/flux as a watercolour --image https://example.com/a.jpg'],
      env,
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      request: { model: 'black-forest-labs/FLUX.1-kontext-pro', image_url: 'https://example.com/a.jpg' },
      estimate: { usd: 0.04, text: 'Cost: $0.04 (1 image × 1 MP × $0.04/MP)' },
    });
    expect(JSON.parse(ok.stdout).request).not.toHaveProperty('reference_images');
    const two = await cli(
      [
        'run',
        '--dry-run',
        '--json',
        '/flux mix --image https://example.com/a.jpg --image https://example.com/b.jpg',
      ],
      env,
    );
    expect(two.code).toBe(2);
    expect(JSON.parse(two.stdout).error).toContain('takes one image per request; you gave 2');
    const lora = await cli(
      ['run', '--dry-run', '--json', '/flux a --lora tarot --image https://example.com/a.jpg'],
      env,
    );
    expect(lora.code).toBe(2);
    expect(JSON.parse(lora.stdout).error).toContain('does not take LoRAs');
    const insecure = await cli(
      ['run', '--dry-run', '--json', '/flux a --image http://example.com/a.jpg'],
      env,
    );
    expect(insecure.code).toBe(2);
    expect(JSON.parse(insecure.stdout).error).toContain('must use https');
  });

  it('keeps a size just past a megapixel and puts the cheaper size in notices', async () => {
    const { code, stdout, stderr } = await cli([
      'run',
      '--dry-run',
      '--json',
      '/flux a cat --size 1024x1024',
    ]);
    expect(code).toBe(0);
    const output = JSON.parse(stdout);
    expect(output.request).toMatchObject({ width: 1024, height: 1024 });
    expect(output.estimate).toEqual({ usd: 0.07, text: 'Cost: $0.07 (1 image × 2 MP × $0.035/MP)' });
    const hint = '1024x1024 is billed as 2 MP; 1000x1000 costs $0.035 instead of $0.07.';
    expect(output.notices).toEqual([hint]);
    expect(stderr).toBe(`note: ${hint}\n`);
  });

  it('prices /ask as an upper bound from max_tokens', async () => {
    const { code, stdout } = await cli(['run', '--dry-run', '--json', '/ask how do I rotate keys?']);
    expect(code).toBe(0);
    const output = JSON.parse(stdout);
    expect(output.kind).toBe('ask');
    expect(output.request.max_tokens).toBe(1024);
    expect(output.request.messages.at(-1)).toEqual({ role: 'user', content: 'how do I rotate keys?' });
    expect(output.estimate.text).toMatch(/^Cost: at most \$0\.\d+ \(up to \d+ in \+ 1,024 out tokens\)$/);
    expect(
      togetherSpec().errors(togetherSpec().requestBodyPointer('/chat/completions', 'post'), output.request),
    ).toEqual([]);
  });

  it('prints the user error and exits 2', async () => {
    const { code, stdout } = await cli([
      'run',
      '--dry-run',
      '--json',
      '/flux a panda --lora a --lora b --lora c',
    ]);
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toEqual({
      ok: false,
      error: expect.stringMatching(/Unknown LoRA preset `a`/),
    });
  });

  it('tells about a rewritten link on stderr, keeping stdout one JSON object', async () => {
    const { code, stdout, stderr } = await cli([
      'run',
      '--dry-run',
      '--json',
      '/flux a panda --lora https://huggingface.co/o/r/blob/main/x.safetensors',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).request.image_loras[0].path).toBe(
      'https://huggingface.co/o/r/resolve/main/x.safetensors',
    );
    expect(stderr).toMatch(/\/blob\/.*\/resolve\//);
  });

  it('stops with every configuration problem and exit code 78', async () => {
    const { code, stderr } = await cli(['run', '--dry-run', '--json', '/flux a'], {
      PORT: 'x',
      LOG_LEVEL: 'loud',
    });
    expect(code).toBe(78);
    expect(stderr).toMatch(/PORT/);
    expect(stderr).toMatch(/LOG_LEVEL/);
  });

  it('rejects bad usage with exit 2', async () => {
    expect((await cli(['run'])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['run', '--nope', 'x'])).code).toBe(2);
  });
});
