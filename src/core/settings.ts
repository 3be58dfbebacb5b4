import type { Micros } from './money.js';

/**
 * The part of the configuration the pure core needs. `src/config/` builds it from env and the config file;
 * tests build it by hand.
 */
export interface CoreSettings {
  image: ImageSettings;
  chat: ChatSettings;
  /** LoRA presets by lower-case name. */
  loras: Readonly<Record<string, LoraPreset>>;
  /** Together's listed prices, for chat models priced `auto`; absent: none known, and such costs say so. */
  prices?: PriceList;
}

export interface Range {
  min: number;
  max: number;
}

export interface ImageSettings {
  /**
   * Together model id: a serverless model such as `black-forest-labs/FLUX.2-dev`, or the model name of a dedicated
   * endpoint (`endpoint_name:adapter_name` for an adapter on a LoRA-enabled endpoint).
   */
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
  /** The model that makes an image from images (`/flux … --image`), and how it takes them. */
  edit: EditSettings;
}

/**
 * How Together takes source images, by model: `image_url`, one image (FLUX.1 Kontext pro/max, FLUX.2 pro/flex), or
 * `reference_images`, an array (FLUX.2 pro/dev/flex).
 * @see https://docs.together.ai/docs/inference/images/reference-images
 */
export type SourceInput = 'image_url' | 'reference_images';

export interface EditSettings {
  /** Together model id used for any request with source images. */
  model: string;
  input: SourceInput;
  /** Most source images one request may carry (1 for `image_url`). */
  maxImages: number;
  /** Whether the edit model takes `image_loras`; when not, `--lora` with `--image` is refused before queueing. */
  loras: boolean;
  /**
   * Whether an image Together cannot fetch itself (a Slack file, an upload, an earlier result) can be handed to
   * it: inline (`sources.image_as: data_url`) or through a `/files` link (`gateway.public_url`). When not, such a
   * request is refused before it is queued.
   */
  handsOffSources: boolean;
  /** null: no price configured. */
  pricing: ImagePricing | null;
}

/**
 * How an image is priced: per megapixel (Together's serverless models), a fixed price per image (a dedicated
 * endpoint priced by the operator), or not per request at all (a dedicated endpoint billed per minute of uptime).
 */
export type ImagePricing = MegapixelPricing | PerImagePricing | UptimeBilling;

export interface MegapixelPricing {
  kind: 'per-megapixel';
  microsPerMegapixel: Micros;
  /** How many pixels make a megapixel: 1,000,000 (decimal) or 1,048,576 (binary). */
  megapixelPixels: number;
  /** `up`: each image is billed for whole megapixels, rounded up; `none`: exact fractional megapixels. */
  rounding: 'up' | 'none';
  /** When set, cost scales with steps / defaultSteps (Together's published formula). */
  stepScaling: { defaultSteps: number } | null;
}

export interface PerImagePricing {
  kind: 'per-image';
  microsPerImage: Micros;
}

/** A dedicated endpoint: Together bills the minutes it is up, not the requests, so a request costs nothing extra. */
export interface UptimeBilling {
  kind: 'per-minute';
}

export interface ChatSettings {
  /** The preset used when `/ask` has no `--model`. */
  defaultModel: string;
  /** Chat model presets by lower-case name. */
  models: Readonly<Record<string, ChatModel>>;
  /** Longest question in Unicode code points. */
  maxQuestionChars: number;
  /** The most images one question carries, its own and earlier turns' (default 4; oldest left out first). */
  maxImages?: number;
  /** The largest picture a question may attach, in bytes (default 20 MiB). */
  maxImageBytes?: number;
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
  /** The model reads images (`image_url` content parts); absent or false: text only. */
  vision?: boolean;
}

/**
 * How an answer is priced: per token at configured rates, per token at the rates Together lists (`auto`, looked
 * up in `CoreSettings.prices`), or per minute of a dedicated endpoint's uptime.
 */
export type ChatPricing = TokenPricing | AutoPricing | UptimeBilling;

/** USD per million tokens, in micro-dollars. */
export interface TokenRates {
  inputMicrosPerMTokens: Micros;
  outputMicrosPerMTokens: Micros;
}

export interface TokenPricing extends TokenRates {
  kind: 'per-token';
}

/** The per-token rates Together lists for the model (`GET /v1/models`), refreshed while lorabot runs. */
export interface AutoPricing {
  kind: 'auto';
}

/** Token rates Together lists, by model id: kept current by the process that runs the core. */
export interface PriceList {
  /** The model's listed per-token rates; undefined when Together lists none (or the list is not loaded yet). */
  tokenRates(modelId: string): TokenRates | undefined;
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
