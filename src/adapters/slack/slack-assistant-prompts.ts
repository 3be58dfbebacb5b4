import type { Place } from '../../core/access.js';
import { presetsAt } from '../../core/presets.js';
import type { CoreSettings } from '../../core/settings.js';

/** A suggested prompt: its title on the button, and the message it sends for the person when pressed. */
export interface AssistantPrompt {
  title: string;
  message: string;
}

/** Slack shows at most four suggested prompts. */
const MAX_PROMPTS = 4;
/** What an image preset's suggestion draws: its style, on a subject anyone can picture. */
const EXAMPLE_SUBJECT = 'a lighthouse on a cliff at dusk';
/** What a chat preset's suggestion asks. */
const EXAMPLE_QUESTION = 'What can you help me with?';

/** What a new assistant thread says first: how to ask, how to draw, and what the buttons do. */
export const ASSISTANT_GREETING = [
  'Hi! Write a question and I will answer it, or start with *draw* (or *flux*) for images:',
  '`draw a baby panda --lora <preset> --n 2`. Options are those of `/flux` and `/ask` (`flux help`, `ask help`).',
  'Each result has Regenerate, Vary, Edit and Details; a waiting job has Cancel. Every result shows what it cost.',
].join('\n');

/**
 * The suggested prompts of a new assistant thread: the team's image presets usable here (each draws an example in
 * its style) and its chat presets (each asks an example question), at most four, two of each kind before more of
 * one. With no presets, a plain drawing and a plain question.
 * @see https://docs.slack.dev/reference/methods/assistant.threads.setSuggestedPrompts
 */
export function suggestedPrompts(settings: CoreSettings, place: Place): AssistantPrompt[] {
  const images = presetsAt(settings, place).map((preset) => ({
    title: `Draw in the ${preset.name} style`,
    message: `draw ${EXAMPLE_SUBJECT} --lora ${preset.name}`,
  }));
  const { defaultModel, models } = settings.chat;
  const chats = Object.values(models)
    .sort((a, b) => Number(b.name === defaultModel) - Number(a.name === defaultModel))
    .map((model) => ({
      title: model.name === defaultModel ? 'Ask a question' : `Ask ${model.name}`,
      message: model.name === defaultModel ? EXAMPLE_QUESTION : `${EXAMPLE_QUESTION} --model ${model.name}`,
    }));
  if (images.length === 0) images.push({ title: 'Draw a picture', message: `draw ${EXAMPLE_SUBJECT}` });
  if (chats.length === 0) chats.push({ title: 'Ask a question', message: EXAMPLE_QUESTION });
  const first = [...images.slice(0, 2), ...chats.slice(0, 2)];
  const rest = [...images.slice(2), ...chats.slice(2)];
  return [...first, ...rest].slice(0, MAX_PROMPTS);
}
