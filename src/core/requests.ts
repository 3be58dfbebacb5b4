/** What an accepted `/flux` or `/ask` command asks for, before it becomes a provider request body. */

/** Together's limit: "You can add up to 2 LoRAs per image". */
export const MAX_LORAS = 2;

/** The largest seed we accept: Together types it as an integer; int32 is safe everywhere. */
export const MAX_SEED = 2_147_483_647;

export interface LoraSpec {
  /** The URL Together downloads the LoRA from. */
  path: string;
  scale: number;
  /** Set when the LoRA came from a preset: the preset's name. */
  preset?: string;
  /** The preset's trigger phrase, if any. */
  trigger?: string;
}

export interface ImageRequest {
  /** The prompt as the user wrote it (whitespace folded). */
  prompt: string;
  loras: LoraSpec[];
  width: number;
  height: number;
  steps: number;
  n: number;
  seed?: number;
}

export interface ChatRequest {
  question: string;
  /** The chat model preset name. */
  model: string;
}

export type CommandName = 'flux' | 'ask';

export type ParsedCommand =
  | { kind: 'flux'; request: ImageRequest; notices: string[] }
  | { kind: 'ask'; request: ChatRequest; notices: string[] }
  | { kind: 'help'; topic: CommandName }
  /** `/flux presets`, `/ask models`, `/flux usage` (or `/ask usage`): answered at once, privately, never queued. */
  | { kind: 'info'; topic: InfoTopic }
  /** `/flux notify thread|dm|off` sets how completion reaches the user; without a mode it shows the current one. */
  | { kind: 'notify'; mode: 'thread' | 'dm' | 'off' | undefined };

/** `/flux jobs` lists the requester's queued and running jobs. */
export type InfoTopic = 'presets' | 'models' | 'usage' | 'jobs';

/** A command that becomes a job. */
export type AcceptedCommand = Extract<ParsedCommand, { kind: 'flux' | 'ask' }>;

/** Single words that are a subcommand, not a prompt, for each command. */
export const RESERVED_WORDS: Record<CommandName, readonly string[]> = {
  flux: ['help', 'presets', 'usage', 'jobs', 'notify'],
  ask: ['help', 'models', 'usage', 'jobs'],
};

/**
 * The prompt Together receives: each preset's trigger phrase first, once (skipped when the prompt already holds it),
 * then the user's prompt.
 */
export function effectivePrompt(request: ImageRequest): string {
  const lower = request.prompt.toLowerCase();
  const triggers: string[] = [];
  for (const lora of request.loras) {
    const trigger = lora.trigger?.trim();
    if (!trigger) continue;
    const t = trigger.toLowerCase();
    if (lower.includes(t) || triggers.some((seen) => seen.toLowerCase() === t)) continue;
    triggers.push(trigger);
  }
  return triggers.length === 0 ? request.prompt : `${triggers.join(', ')}, ${request.prompt}`;
}
