import { describe, expect, it } from 'vitest';
import { unescapeSlackText } from '../../../src/adapters/slack/slack-text.js';
import { parseCommand, parseCommandLine } from '../../../src/core/command-parser.js';
import { effectivePrompt, type ImageRequest } from '../../../src/core/requests.js';
import { testSettings } from '../../helpers/settings.js';

const settings = testSettings();
const HF = 'https://huggingface.co/multimodalart/flux-tarot-v1';

type Row =
  | {
      text: string;
      slack?: boolean;
      ok: Partial<ImageRequest> | { question: string; model?: string };
      notice?: RegExp;
    }
  | { text: string; slack?: boolean; error: string; mentions?: string };

/** Each row: what a user types after `/flux` (or a whole `/ask …` line) and what must come of it. */
const rows: Row[] = [
  // Plain prompts and defaults
  {
    text: 'a baby panda',
    ok: { prompt: 'a baby panda', width: 1000, height: 1000, steps: 28, n: 1, loras: [] },
  },
  { text: '  a   baby\tpanda \n in snow ', ok: { prompt: 'a baby panda in snow' } },
  { text: 'a panda --steps 20 in the snow', ok: { prompt: 'a panda in the snow', steps: 20 } },
  { text: 'a panda --n 4 --seed 42', ok: { n: 4, seed: 42 } },
  { text: 'a panda --seed 0', ok: { seed: 0 } },
  { text: 'a panda --seed=7 --steps=50', ok: { seed: 7, steps: 50 } },
  { text: 'a panda --STEPS 12', ok: { steps: 12 } },
  { text: 'a panda —ar 16:9', ok: { width: 1328, height: 744 } },
  { text: 'a panda –n 2', ok: { n: 2 } },
  { text: 'a cat —cute and fluffy', ok: { prompt: 'a cat —cute and fluffy' } },
  { text: 'a panda -- --not-a-flag', ok: { prompt: 'a panda --not-a-flag' } },
  { text: 'help me draw a panda', ok: { prompt: 'help me draw a panda' } },
  { text: '🐼 كتاب في الغابة 📚', ok: { prompt: '🐼 كتاب في الغابة 📚' } },
  { text: 'שלום panda ‏עולם', ok: { prompt: 'שלום panda ‏עולם' } },
  // Sizes and aspect ratios
  { text: 'a panda --size 1024x768', ok: { width: 1024, height: 768 } },
  { text: 'a panda --size 512×512', ok: { width: 512, height: 512 } },
  { text: 'a panda --size 1920x256', ok: { width: 1920, height: 256 } },
  { text: 'a panda --ar 1:1', ok: { width: 1000, height: 1000 } },
  { text: 'a panda --ar 3:4', ok: { width: 864, height: 1152 } },
  {
    text: 'a panda --size 1024x1024',
    ok: { width: 1024, height: 1024 },
    notice: /^1024x1024 is billed as 2 MP; 1000x1000 costs \$0\.035 instead of \$0\.07\.$/,
  },
  { text: 'a panda --size 1020x768', error: 'size_out_of_bounds', mentions: 'try 1016' },
  { text: 'a panda --size 2048x1024', error: 'size_out_of_bounds', mentions: '256 to 1920' },
  { text: 'a panda --size 128x128', error: 'size_out_of_bounds' },
  { text: 'a panda --size big', error: 'size_invalid', mentions: '--size 1024x768' },
  { text: 'a panda --ar 21:1', error: 'ar_out_of_bounds', mentions: '256–1920 pixels per side' },
  { text: 'a panda --ar 0:1', error: 'ar_invalid' },
  { text: 'a panda --size 512x512 --ar 1:1', error: 'size_and_ar' },
  // Numbers
  { text: 'a panda --steps 0', error: 'out_of_range', mentions: '1 to 50' },
  { text: 'a panda --steps 51', error: 'out_of_range' },
  { text: 'a panda --steps 2.5', error: 'not_an_integer' },
  { text: 'a panda --n 5', error: 'out_of_range', mentions: '1 to 4' },
  { text: 'a panda --n -1', error: 'not_an_integer' },
  { text: 'a panda --seed 1e3', error: 'not_an_integer' },
  { text: 'a panda --seed 99999999999', error: 'out_of_range' },
  { text: 'a panda --steps 20 --steps 30', error: 'duplicate_option' },
  // Flags without values, unknown flags
  { text: 'a panda --steps', error: 'missing_value', mentions: '--steps 28' },
  { text: 'a panda --lora', error: 'missing_value' },
  { text: 'a panda --lora --steps 20', error: 'missing_value', mentions: '--lora' },
  { text: 'a panda --size=', error: 'missing_value' },
  { text: 'a panda --style raw', error: 'unknown_option', mentions: '--style' },
  { text: 'a panda --model flux2', error: 'unknown_option' },
  // Empty and long prompts, control characters
  { text: '', error: 'empty_prompt' },
  { text: '   ', error: 'empty_prompt' },
  { text: '--steps 20', error: 'empty_prompt' },
  { text: 'x'.repeat(20_000), error: 'prompt_too_long', mentions: '20,000' },
  { text: `${'🐼'.repeat(2000)}`, ok: { prompt: '🐼'.repeat(2000) } },
  { text: 'a \u0007 bell', error: 'prompt_control_character' },
  // LoRA presets and scales
  {
    text: 'a panda --lora tarot',
    ok: {
      loras: [{ path: HF, scale: 1, preset: 'tarot', trigger: 'in the style of TOK a trtcrd tarot style' }],
    },
  },
  {
    text: 'a panda --lora TAROT@0.5',
    ok: {
      loras: [{ path: HF, scale: 0.5, preset: 'tarot', trigger: 'in the style of TOK a trtcrd tarot style' }],
    },
  },
  {
    text: 'a panda --lora realism',
    ok: {
      loras: [{ path: 'https://huggingface.co/XLabs-AI/flux-RealismLora', scale: 0.8, preset: 'realism' }],
    },
  },
  { text: 'a panda --lora nope', error: 'unknown_lora_preset', mentions: 'tarot' },
  { text: 'a panda --lora tarot@', error: 'lora_scale_invalid' },
  { text: 'a panda --lora tarot@abc', error: 'lora_scale_invalid', mentions: 'abc' },
  { text: 'a panda --lora tarot@2.5', error: 'lora_scale_out_of_range', mentions: '0.3 to 1.2' },
  { text: 'a panda --lora tarot@-0.5', error: 'lora_scale_out_of_range' },
  { text: 'a panda --lora tarot@0.12345', error: 'lora_scale_invalid' },
  { text: 'a panda --lora tarot --lora tarot', error: 'duplicate_lora' },
  {
    text: 'a panda --lora tarot --lora realism --lora blacklight',
    error: 'too_many_loras',
    mentions: 'you gave 3',
  },
  // Every LoRA URL format
  { text: `a panda --lora ${HF}@0.8`, ok: { loras: [{ path: HF, scale: 0.8 }] } },
  { text: `a panda --lora ${HF}/`, ok: { loras: [{ path: HF, scale: 1 }] } },
  {
    text: 'a panda --lora https://huggingface.co/o/r/resolve/main/lora.safetensors',
    ok: { loras: [{ path: 'https://huggingface.co/o/r/resolve/main/lora.safetensors', scale: 1 }] },
  },
  {
    text: 'a panda --lora https://huggingface.co/o/r/blob/main/sub/lora.safetensors@0.7',
    ok: { loras: [{ path: 'https://huggingface.co/o/r/resolve/main/sub/lora.safetensors', scale: 0.7 }] },
    notice: /\/blob\/.*\/resolve\//,
  },
  {
    text: 'a panda --lora https://civitai.com/api/download/models/12345?type=Model&format=SafeTensor',
    ok: {
      loras: [
        { path: 'https://civitai.com/api/download/models/12345?type=Model&format=SafeTensor', scale: 1 },
      ],
    },
  },
  {
    text: 'a panda --lora https://replicate.com/owner/flux-lora',
    ok: { loras: [{ path: 'https://replicate.com/owner/flux-lora', scale: 1 }] },
  },
  {
    text: 'a panda --lora https://replicate.com/owner/flux-lora/versions/abc123def',
    ok: { loras: [{ path: 'https://replicate.com/owner/flux-lora/versions/abc123def', scale: 1 }] },
  },
  {
    text: 'a panda --lora https://cdn.example.com/loras/style.safetensors@1.2',
    ok: { loras: [{ path: 'https://cdn.example.com/loras/style.safetensors', scale: 1.2 }] },
  },
  {
    text: 'a panda --lora http://cdn.example.com/style.safetensors',
    error: 'lora_url_not_https',
    mentions: 'https',
  },
  {
    text: 'a panda --lora https://example.com/style.ckpt',
    error: 'lora_url_unsupported',
    mentions: '.safetensors',
  },
  {
    text: 'a panda --lora https://civitai.com/models/12345/some-style',
    error: 'lora_url_civitai',
    mentions: 'api/download/models',
  },
  { text: 'a panda --lora https://huggingface.co/datasets/o/r', error: 'lora_url_huggingface' },
  { text: 'a panda --lora https://user:pw@example.com/a.safetensors', error: 'lora_url_credentials' },
  { text: 'a panda --lora https://replicate.com/owner', error: 'lora_url_replicate' },
  // Slack wrapping and entities (the Slack pre-step)
  { slack: true, text: `a panda --lora <${HF}>`, ok: { loras: [{ path: HF, scale: 1 }] } },
  {
    slack: true,
    text: `a panda --lora <${HF}|flux-tarot-v1>@0.6`,
    ok: { loras: [{ path: HF, scale: 0.6 }] },
  },
  {
    slack: true,
    text: 'a panda --lora <https://civitai.com/api/download/models/99?type=Model&amp;format=SafeTensor>',
    ok: {
      loras: [{ path: 'https://civitai.com/api/download/models/99?type=Model&format=SafeTensor', scale: 1 }],
    },
  },
  { slack: true, text: 'cats &amp; dogs &lt;3 &gt; fish', ok: { prompt: 'cats & dogs <3 > fish' } },
  { slack: true, text: 'a panda --lora <http://example.com/a.safetensors>', error: 'lora_url_not_https' },
  { slack: true, text: 'a panda by <@U123ABC> &amp;amp;', ok: { prompt: 'a panda by <@U123ABC> &amp;' } },
  // /ask
  { text: '/ask how do I rotate keys?', ok: { question: 'how do I rotate keys?', model: 'default' } },
  {
    text: '/ask --model support how do I reset a password',
    ok: { question: 'how do I reset a password', model: 'support' },
  },
  { text: '/ask what does git push --force do?', ok: { question: 'what does git push --force do?' } },
  { text: '/ask --model nope hi', error: 'unknown_model', mentions: 'support' },
  { text: '/ask --model', error: 'missing_value' },
  { text: '/ask', error: 'empty_question' },
  { text: '/ask --model support --model default hi', error: 'duplicate_option' },
  { text: '/draw a panda', error: 'unknown_command' },
];

function run(row: Row) {
  const text = row.slack ? unescapeSlackText(row.text) : row.text;
  return text.startsWith('/') ? parseCommandLine(text, settings) : parseCommand('flux', text, settings);
}

describe('the command grammar', () => {
  it('has a table of at least 50 inputs', () => {
    expect(rows.length).toBeGreaterThanOrEqual(50);
  });

  it.each(
    rows.map(
      (row) =>
        [
          row.text.length > 80 ? `${row.text.slice(0, 60)}… (${row.text.length} chars)` : row.text,
          row,
        ] as const,
    ),
  )('%s', (_, row) => {
    const result = run(row);
    if ('error' in row) {
      expect(result.success, JSON.stringify(result)).toBe(false);
      if (result.success) return;
      expect(result.error.code).toBe(row.error);
      expect(result.error.message.length).toBeGreaterThan(10);
      if (row.mentions) expect(result.error.message).toContain(row.mentions);
      return;
    }
    expect(result.success, JSON.stringify(result)).toBe(true);
    if (!result.success || !('request' in result.data)) throw new Error('expected a request');
    expect(result.data.request).toMatchObject(row.ok);
    if (row.notice) expect(result.data.notices.join('\n')).toMatch(row.notice);
    else expect(result.data.notices).toEqual([]);
  });

  it('answers help for /flux help and /ask help', () => {
    expect(parseCommandLine('/flux help', settings)).toEqual({
      success: true,
      data: { kind: 'help', topic: 'flux' },
    });
    expect(parseCommandLine('/ask HELP', settings)).toEqual({
      success: true,
      data: { kind: 'help', topic: 'ask' },
    });
  });

  it('adds a preset trigger phrase to the prompt once', () => {
    const once = parseCommand('flux', 'a neon city --lora blacklight --lora tarot', settings);
    if (!once.success || once.data.kind !== 'flux') throw new Error('expected flux');
    expect(effectivePrompt(once.data.request)).toBe(
      'a BLKLGHT image of, in the style of TOK a trtcrd tarot style, a neon city',
    );
    const already = parseCommand('flux', 'A BLKLGHT IMAGE OF a neon city --lora blacklight', settings);
    if (!already.success || already.data.kind !== 'flux') throw new Error('expected flux');
    expect(effectivePrompt(already.data.request)).toBe('A BLKLGHT IMAGE OF a neon city');
  });
});
