import type { Micros } from './money.js';

/**
 * The part of the configuration the pure core needs. `src/config.ts` builds it from env and the config file;
 * tests build it by hand.
 */
export interface CoreSettings {
  image: ImageSettings;
  chat: ChatSettings;
  /** LoRA presets by lower-case name. */
  loras: Readonly<Record<string, LoraPreset>>;
}

export interface Range {
  min: number;
  max: number;
}

export interface ImageSettings {
  /** Together model id, e.g. `black-forest-labs/FLUX.1-dev-lora` or `black-forest-labs/FLUX.2-dev`. */
  model: string;
  defaults: { width: number; height: number; steps: number; n: number };
  bounds: {
    /** Smallest and largest width or height in pixels. */
    side: Range;
    /** Width and height must be multiples of this (Together: 8). */
    sideMultiple: number;
    steps: Range;
    n: Range;
    loraScale: Range;
    /** Longest prompt in Unicode code points. */
    maxPromptChars: number;
  };
  /** What to ask Together for: `base64` (default, no second download) or `url`. */
  responseFormat: 'base64' | 'url';
  /** The image file type Together makes: `jpeg` (Together's default) or `png`. */
  outputFormat: 'jpeg' | 'png';
  /** null: no price configured, and results say so instead of guessing. */
  pricing: ImagePricing | null;
}

export interface ImagePricing {
  microsPerMegapixel: Micros;
  /** How many pixels make a megapixel: 1,000,000 (decimal) or 1,048,576 (binary). */
  megapixelPixels: number;
  /** `up`: each image is billed for whole megapixels, rounded up; `none`: exact fractional megapixels. */
  rounding: 'up' | 'none';
  /** When set, cost scales with steps / defaultSteps (Together's published formula). */
  stepScaling: { defaultSteps: number } | null;
}

export interface ChatSettings {
  /** The preset used when `/ask` has no `--model`. */
  defaultModel: string;
  /** Chat model presets by lower-case name. */
  models: Readonly<Record<string, ChatModel>>;
  /** Longest question in Unicode code points. */
  maxQuestionChars: number;
}

export interface ChatModel {
  name: string;
  /** Together model id, e.g. a LoRA fine-tune `you/Meta-Llama-3.1-8B-Instruct-my-adapter`. */
  id: string;
  systemPrompt?: string;
  maxTokens: number;
  description?: string;
  /** null: no price configured. */
  pricing: ChatPricing | null;
}

export interface ChatPricing {
  inputMicrosPerMTokens: Micros;
  outputMicrosPerMTokens: Micros;
}

export interface LoraPreset {
  name: string;
  url: string;
  /** Words the LoRA was trained on; added to the prompt once when the preset is used. */
  trigger?: string;
  /** The scale used when the user gives none. */
  scale: number;
  description?: string;
  /** Slack or Discord channel ids where the preset may be used; absent: everywhere. */
  channels?: readonly string[];
}
