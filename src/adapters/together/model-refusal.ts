import type { ProviderErrorBody } from './error-body.js';
import type { CallKind } from './together-error.js';

/**
 * Together's refusals that name a LoRA, and the words that make one a refusal of LoRAs as such. A model id such
 * as `FLUX.1-dev-lora` does not count: "lora" right after `-`, `.` or `/` is part of a name.
 */
const NAMES_LORA = /image_loras|(?<![\w./-])loras?\b/i;
const REFUSES =
  /not (supported|allowed|available|enabled)|unsupported|does not (support|accept|take)|no longer|dedicated endpoint|reject/i;
/** Words that say a model is gone (deprecated, removed, dedicated-only). */
const GONE =
  /deprecat|not found|does not exist|no longer|not available|unable to access|decommission|retired/i;

/**
 * Which operator-fixable refusal a 4xx is, if any. Order matters: "Unable to access non-serverless model
 * …-lora" names a LoRA only through the model id, and a LoRA that failed to load is the requester's LoRA, not a
 * model that refuses LoRAs.
 */
export function classifyRefusal(input: {
  kind: CallKind;
  status: number;
  body: ProviderErrorBody;
  model?: string | undefined;
}): 'data_sharing_blocked' | 'model_unavailable' | 'loras_not_supported' | undefined {
  const { kind, status, body } = input;
  if (status < 400 || status >= 500 || status === 429) return undefined;
  const raw = body.message ?? '';
  const text = input.model ? raw.split(input.model).join('the model') : raw;
  if (body.code === 'third_party_data_sharing_blocked' || /third[- ]party data sharing/i.test(text)) {
    return 'data_sharing_blocked';
  }
  const namesLora = body.param === 'image_loras' || NAMES_LORA.test(text);
  if (body.code === 'model_not_available' || /non-serverless/i.test(text) || (status === 404 && !namesLora)) {
    return 'model_unavailable';
  }
  if (kind === 'image' && namesLora && REFUSES.test(text)) return 'loras_not_supported';
  if (!namesLora && /\bmodel\b/i.test(text) && GONE.test(text)) return 'model_unavailable';
  return undefined;
}

/**
 * The message for a model an operator has to change: what Together refused, and the way out, naming the config
 * key (`image.model`, `chat.models.<name>.id`). The log line names the key and the model id too.
 */
export function refusalError(
  code: 'data_sharing_blocked' | 'model_unavailable' | 'loras_not_supported',
  context: { kind: CallKind; model: string | undefined; setting: string; said: string },
): { userMessage: string; fix: string } {
  const { setting, said } = context;
  const model = context.model ? `\`${context.model}\`` : 'the configured model';
  const noun = context.kind === 'image' ? 'image model' : 'chat model';
  switch (code) {
    case 'loras_not_supported':
      return {
        userMessage:
          `This image model (${model}) does not take LoRAs on Together${said}. ` +
          `Run the prompt without --lora, or an admin can set ${setting} to a LoRA-capable model, ` +
          'or to a dedicated endpoint that serves the model with LoRA adapters.',
        fix: `${setting} (${context.model ?? 'unset'}) does not take image_loras: choose a LoRA-capable model or a LoRA-enabled dedicated endpoint`,
      };
    case 'data_sharing_blocked':
      return {
        userMessage:
          `Together will not run the ${noun} ${model} for this account: it needs third-party data sharing, ` +
          'which this Together organization has turned off. An admin of the Together organization can turn on ' +
          '"Allow my organization to use passthrough models" under Privacy in the organization settings on ' +
          `api.together.ai, or a bot admin can set ${setting} to another model.`,
        fix: `${setting} (${context.model ?? 'unset'}) needs third-party data sharing: enable passthrough models in the Together organization's privacy settings, or change ${setting}`,
      };
    case 'model_unavailable':
      return {
        userMessage:
          `The ${noun} ${model} is no longer served by Together${said}. An admin can set ${setting} to a ` +
          'model Together serves now (see api.together.ai/models), or to a dedicated endpoint running it.',
        fix: `${setting} (${context.model ?? 'unset'}) is not served by Together: set ${setting} to a current model or a dedicated endpoint`,
      };
  }
}
