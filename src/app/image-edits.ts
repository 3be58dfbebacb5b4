import type { Place } from '../core/access.js';
import type { Requester } from '../core/budget.js';
import { formatImageCommand } from '../core/command-format.js';
import { parseCommand } from '../core/command-parser.js';
import { handOffRefusal } from '../core/edit-model.js';
import type { PendingCommand } from '../core/jobs.js';
import type { SourceImage } from '../core/requests.js';
import type { Editor } from './chat-platform.js';
import {
  CONFIRM_TTL_SECONDS,
  type InteractionDeps,
  newSeed,
  type Planned,
  planForPlatform,
} from './intake.js';

/**
 * Vary and Edit: requests that start from an image. Vary re-runs a result's recipe with its first image as the
 * reference and a new seed; Edit opens an editor (the result's recipe, or empty for "Edit with lorabot" on a
 * message) whose submitted text is read as `/flux` text, with the images the editor was opened on. The images
 * travel as `SourceImage`s; the worker makes them readable by Together just before the call.
 */

/** Said when "Edit with lorabot" is used on a message without an image. */
export const NO_IMAGE =
  'That message has no image to edit. Use "Edit with lorabot" on a message with an image attached (PNG, JPEG, WebP or GIF). Nothing was queued or charged.';

/** Said when a platform has no form to ask for the prompt. */
export const NO_EDITOR =
  'Editing needs a form this place cannot show. Use `/flux <prompt> --image <https link>` instead.';

/** Said when an editor was submitted after its draft expired (or twice). */
export const EDITOR_EXPIRED =
  'This edit has expired (an editor stays open for 15 minutes) or was already sent. Press Edit again. Nothing was queued or charged.';

/** Said when the submitted text is a subcommand rather than a prompt. */
const NOT_A_PROMPT =
  'Describe the image you want: a prompt, with `/flux` options if you like (`--lora`, `--size`…).';

/** The image a result's Vary or Edit starts from: its first (one button per result, whatever its `--n`). */
function firstImageOf(jobId: string): SourceImage {
  return { kind: 'result', jobId, index: 0 };
}

/** Vary on a result: the same prompt, LoRAs and size, its first image as the reference, a new seed. */
export async function variation(
  jobId: string,
  deps: Pick<InteractionDeps, 'queue' | 'settings' | 'random'>,
): Promise<Planned | string> {
  const found = await deps.queue.find(jobId);
  if (!found) return 'That result is too old to vary: its recipe is no longer kept.';
  const data = found.data;
  if (data.kind !== 'flux') return 'Only images can be varied.';
  const images = [firstImageOf(jobId)];
  const refusal = handOffRefusal(images, deps.settings.image);
  if (refusal) return refusal;
  const request = { ...data.request, images, seed: newSeed(deps.random) };
  return planForPlatform({ kind: 'flux', request, notices: [] }, deps);
}

/** Edit on a result: the editor opens on its first image with its recipe (without the seed) as the text. */
export async function resultEditor(
  jobId: string,
  deps: Pick<InteractionDeps, 'queue' | 'settings'>,
): Promise<{ text: string; images: SourceImage[] } | string> {
  const found = await deps.queue.find(jobId);
  if (!found) return 'That result is too old to edit: its recipe is no longer kept.';
  const data = found.data;
  if (data.kind !== 'flux') return 'Only images can be edited.';
  const { seed: _seed, images: _images, ...recipe } = data.request;
  const text = formatImageCommand(recipe, deps.settings).replace(/^\/flux\s*/, '');
  return { text, images: [firstImageOf(jobId)] };
}

/** Keeps what an editor starts from until its form comes back; returns the editor to open. */
export async function draftEditor(
  draft: { id: string; requester: Requester; place: Place; text: string; images: SourceImage[] },
  deps: Pick<InteractionDeps, 'state'>,
): Promise<Editor> {
  const pending: PendingCommand = {
    requester: draft.requester,
    place: draft.place,
    kind: 'flux',
    text: draft.text,
    images: draft.images,
    editor: true,
  };
  await deps.state.putPending(draft.id, pending, CONFIRM_TTL_SECONDS);
  return { draftId: draft.id, text: draft.text, images: draft.images.length };
}

/** What a submitted editor comes to: the request to run, or what to tell the person. */
export type SubmittedEdit =
  | { ok: true; planned: Planned }
  | { ok: false; message: string; outcome: 'expired' | 'refused' | 'user_error' };

/**
 * An editor's form submitted: takes its draft (so it runs once), checks it is the same person's, and reads the
 * text as `/flux` text at `place`, starting from the draft's images (then any `--image` links typed).
 */
export async function submittedEdit(
  submitted: { draftId: string; text: string; presser: Requester; place: Place },
  deps: Pick<InteractionDeps, 'state' | 'settings' | 'random'>,
): Promise<SubmittedEdit> {
  const draft = await deps.state.takePending(submitted.draftId);
  if (!draft?.editor || !draft.images?.length)
    return { ok: false, outcome: 'expired', message: EDITOR_EXPIRED };
  if (draft.requester.userId !== submitted.presser.userId) {
    await deps.state.putPending(submitted.draftId, draft, CONFIRM_TTL_SECONDS);
    return { ok: false, outcome: 'refused', message: 'Only the person who opened this editor can send it.' };
  }
  const parsed = parseCommand('flux', submitted.text, deps.settings, submitted.place);
  if (!parsed.success) return { ok: false, outcome: 'user_error', message: parsed.error.message };
  if (parsed.data.kind !== 'flux') return { ok: false, outcome: 'user_error', message: NOT_A_PROMPT };
  const images = [...draft.images, ...(parsed.data.request.images ?? [])];
  const command = { ...parsed.data, request: { ...parsed.data.request, images } };
  return { ok: true, planned: planForPlatform(command, deps) };
}
