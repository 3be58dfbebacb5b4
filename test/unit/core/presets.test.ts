import { describe, expect, it } from 'vitest';
import { presetChoices } from '../../../src/adapters/discord/command-definitions.js';
import type { Place } from '../../../src/core/access.js';
import { parseCommand } from '../../../src/core/command-parser.js';
import { presetsAt, presetsText } from '../../../src/core/presets.js';
import type { CoreSettings } from '../../../src/core/settings.js';
import { testSettings } from '../../helpers/settings.js';

/** The test presets, with `realism` limited to a Slack channel and a Discord channel. */
function limitedSettings(): CoreSettings {
  const base = testSettings();
  return {
    ...base,
    loras: { ...base.loras, realism: { ...base.loras.realism!, channels: ['C0STUDIO', '111222333'] } },
  };
}

const settings = limitedSettings();
const studio: Place = { platform: 'slack', workspaceId: 'T1', channelId: 'C0STUDIO' };
const general: Place = { platform: 'slack', workspaceId: 'T1', channelId: 'C0GENERAL' };
const discordThread: Place = {
  platform: 'discord',
  workspaceId: 'G1',
  channelId: '999',
  parentChannelId: '111222333',
};
const discordElsewhere: Place = { platform: 'discord', workspaceId: 'G1', channelId: '444' };

describe('LoRA presets limited to channels', () => {
  it('lets a limited preset be used in its channels, in a Discord thread of one, and by the operator', () => {
    for (const place of [studio, discordThread, undefined]) {
      const parsed = parseCommand('flux', 'a lake --lora realism@0.5', settings, place);
      expect(parsed.success, JSON.stringify(place)).toBe(true);
      if (!parsed.success || parsed.data.kind !== 'flux') continue;
      expect(parsed.data.request.loras).toEqual([
        { path: 'https://huggingface.co/XLabs-AI/flux-RealismLora', scale: 0.5, preset: 'realism' },
      ]);
    }
  });

  it('refuses it elsewhere, naming the preset and listing what may be used there', () => {
    for (const place of [general, discordElsewhere]) {
      const parsed = parseCommand('flux', 'a lake --lora REALISM', settings, place);
      expect(parsed.success).toBe(false);
      if (parsed.success) continue;
      expect(parsed.error.code).toBe('lora_preset_not_here');
      expect(parsed.error.message).toBe(
        'The LoRA preset `realism` is not available in this channel. Presets for this channel: tarot, blacklight. ' +
          'Or give an https link to a LoRA.',
      );
    }
  });

  it('lists only the presets usable here when a name is unknown', () => {
    const parsed = parseCommand('flux', 'a lake --lora nope', settings, general);
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    expect(parsed.error.code).toBe('unknown_lora_preset');
    expect(parsed.error.message).toContain('Presets for this channel: tarot, blacklight.');
    const anywhere = parseCommand('flux', 'a lake --lora nope', settings);
    expect(!anywhere.success && anywhere.error.message).toContain('Presets: tarot, realism, blacklight.');
  });

  it('shows /flux presets and Discord autocomplete with only the usable presets', () => {
    expect(presetsAt(settings, general).map((p) => p.name)).toEqual(['tarot', 'blacklight']);
    expect(presetsText(settings, general)).not.toContain('realism');
    expect(presetsText(settings, studio)).toContain('• realism: scale 0.8');
    expect(presetChoices(settings, 're', discordElsewhere)).toEqual([]);
    expect(presetChoices(settings, 're', discordThread).map((c) => c.value)).toEqual(['realism']);
  });

  it('says when no preset at all may be used in a channel', () => {
    const only: CoreSettings = { ...settings, loras: { realism: settings.loras.realism! } };
    expect(presetsText(only, general)).toBe(
      'No LoRA presets are configured for this channel. Give a LoRA link with `--lora https://…`.',
    );
    expect(presetsText({ ...settings, loras: {} }, general)).toBe(
      'No LoRA presets are configured. Give a LoRA link with `--lora https://…`.',
    );
  });
});
