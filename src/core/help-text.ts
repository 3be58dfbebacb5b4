import { ASK_USAGE, FLUX_USAGE } from './command-parser.js';

/** What `/flux help` shows. */
export const FLUX_HELP = [
  `Usage: ${FLUX_USAGE}`,
  '',
  '• `--lora <preset or URL>[@<scale>]`: up to 2 LoRAs. A URL can be a Hugging Face repo or file, a Civitai download link, a Replicate model, or any https link ending in .safetensors. Example: `--lora tarot@0.8`.',
  '• `--size 1024x768` or `--ar 16:9`: the image size (sides are multiples of 8).',
  '• `--steps 28`, `--n 2` (images), `--seed 42` (repeatable results).',
  '• `--image <https link>`: start from an image (repeat for several); the edit model makes the result, at its price.',
  '• Put a lone `--` before prompt text that starts with `--`.',
  '• `/flux presets` lists the LoRA presets you can use here; `/flux usage` shows what you and this channel have spent.',
  '• `/flux jobs` lists your queued and running jobs; `/flux notify thread|dm|off` sets how you hear they are done.',
  '',
  'Example: `/flux a baby panda reading a book --lora tarot --ar 3:4`',
].join('\n');

/** What `/ask help` shows. */
export const ASK_HELP = [
  `Usage: ${ASK_USAGE}`,
  '',
  '• `--model <name>`: one of the configured chat models; `/ask models` lists them.',
  '• `--image <https link>`: ask about an image (repeat for several).',
  '• Reply in the thread of an answer to ask a follow-up: the thread so far goes along as context.',
  '• `/ask watch <ft-… or job-…>`: follow a Together fine-tune or adapter upload here; everyone who presses Watch is told when it ends.',
  '• `/ask finetune <training-file-id> --model <base> [--epochs <N>] [--lora]` (admins): shows the price estimate, then starts the fine-tune and watches it.',
  "• Attach pictures (mention lorabot with them on Discord, or add them to a reply in an answer's thread on Slack) to ask about them, with a model that reads pictures (`/ask models`).",
  '',
  'Example: `/ask how do I rotate our API keys?`',
].join('\n');
