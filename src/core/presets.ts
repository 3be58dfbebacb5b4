import type { Place } from './access.js';
import type { CoreSettings, LoraPreset } from './settings.js';

/**
 * Whether a LoRA preset may be used at a place. A preset without channels works everywhere, and so does every
 * preset when there is no place or at the operator's terminal (`lorabot run`). A thread counts as its parent
 * channel.
 */
export function presetAllowedAt(preset: LoraPreset, place: Place | undefined): boolean {
  if (!place || place.platform === 'cli' || !preset.channels || preset.channels.length === 0) return true;
  const channels = preset.channels;
  return (
    channels.includes(place.channelId) ||
    (place.platform === 'discord' &&
      place.parentChannelId !== undefined &&
      channels.includes(place.parentChannelId))
  );
}

/** The presets that may be used at a place, in configuration order. */
export function presetsAt(settings: CoreSettings, place: Place | undefined): LoraPreset[] {
  return Object.values(settings.loras).filter((p) => presetAllowedAt(p, place));
}

/** `/flux presets`: the presets that may be used where it was asked. */
export function presetsText(settings: CoreSettings, place?: Place): string {
  const presets = presetsAt(settings, place);
  if (presets.length === 0) {
    const where = Object.keys(settings.loras).length > 0 ? ' for this channel' : '';
    return `No LoRA presets are configured${where}. Give a LoRA link with \`--lora https://…\`.`;
  }
  const lines = presets.map((p) => {
    const trigger = p.trigger ? `, trigger "${p.trigger}"` : '';
    const description = p.description ? ` — ${p.description}` : '';
    return `• ${p.name}: scale ${p.scale}${trigger}${description}`;
  });
  return [`LoRA presets (use \`--lora <name>[@scale]\`):`, ...lines].join('\n');
}
