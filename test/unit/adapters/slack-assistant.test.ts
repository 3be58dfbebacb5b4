import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { suggestedPrompts } from '../../../src/adapters/slack/slack-assistant-prompts.js';
import { assistantStatusText, threadTitle } from '../../../src/adapters/slack/slack-assistant-status.js';
import type { Place } from '../../../src/core/access.js';
import { parseCommand } from '../../../src/core/command-parser.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { testSettings } from '../../helpers/settings.js';

const DM: Place = { platform: 'slack', workspaceId: 'T1', channelId: 'D0PANDA' };
const view = (kind: 'flux' | 'ask', images?: number) => ({
  jobId: 'j',
  kind,
  command: kind === 'flux' ? '/flux a fox' : '/ask why?',
  ...(images ? { images } : {}),
});

describe('the loading status of an assistant thread', () => {
  it('says where the job waits, then what it makes, and clears once it has ended', () => {
    expect(assistantStatusText(view('flux', 2), { state: 'queued', position: 3 })).toBe(
      'in queue, position 3',
    );
    expect(assistantStatusText(view('flux', 2), { state: 'running' })).toBe('generating 2 images…');
    expect(assistantStatusText(view('flux', 1), { state: 'running' })).toBe('generating an image…');
    expect(assistantStatusText(view('ask'), { state: 'running' })).toBe('writing…');
    for (const end of [
      { state: 'done', costText: 'Cost: $0.035' },
      { state: 'failed', reason: 'no' },
      { state: 'cancelled', by: 'U1' },
    ] as const)
      expect(assistantStatusText(view('ask'), end)).toBe('');
  });
});

describe('the suggested prompts of a new assistant thread', () => {
  it('offers two image presets and two chat presets, each a request the grammar accepts', () => {
    const prompts = suggestedPrompts(testSettings(), DM);
    expect(prompts).toHaveLength(4);
    expect(prompts.map((p) => p.title)).toEqual([
      'Draw in the tarot style',
      'Draw in the realism style',
      'Ask a question',
      'Ask support',
    ]);
    for (const { message } of prompts) {
      const image = /^draw /.exec(message);
      const parsed = image
        ? parseCommand('flux', message.slice(image[0].length), testSettings(), DM)
        : parseCommand('ask', message, testSettings(), DM);
      expect(parsed.success, message).toBe(true);
    }
    expect(prompts[3]!.message).toBe('What can you help me with? --model support');
  });

  it('leaves out presets limited to other channels, and offers plain examples when there are none', () => {
    const settings = testSettings();
    const only = {
      ...settings,
      loras: {
        house: { name: 'house', url: 'https://huggingface.co/a/b', scale: 1, channels: ['C0DESIGN'] },
      },
      chat: { ...settings.chat, models: {} },
    };
    expect(suggestedPrompts(only, DM)).toEqual([
      { title: 'Draw a picture', message: 'draw a lighthouse on a cliff at dusk' },
      { title: 'Ask a question', message: 'What can you help me with?' },
    ]);
    expect(suggestedPrompts(only, { ...DM, channelId: 'C0DESIGN' })[0]!.title).toBe(
      'Draw in the house style',
    );
  });
});

describe('the title of an assistant thread', () => {
  it('is the question, or the image request, cut to 80 characters', () => {
    expect(threadTitle({ kind: 'ask', command: '/ask what is a LoRA?' })).toBe('what is a LoRA?');
    expect(threadTitle({ kind: 'flux', command: '/flux a fox --n 2' })).toBe('Image: a fox --n 2');
    const long = threadTitle({ kind: 'ask', command: `/ask ${'why '.repeat(40)}` });
    expect([...long]).toHaveLength(80);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('the Slack app manifest', () => {
  it('asks for what the AI app view uses: its scope, its events and the view itself', () => {
    const manifest = parseYaml(readFileSync(join(REPO_ROOT, 'slack-app-manifest.yaml'), 'utf8'));
    expect(manifest.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining(['assistant:write', 'im:history']),
    );
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(['assistant_thread_started', 'assistant_thread_context_changed', 'message.im']),
    );
    expect(manifest.features.assistant_view.assistant_description).toMatch(/draw/);
  });
});
