import type { Place } from '../core/access.js';
import type { Requester } from '../core/budget.js';
import { formatImageCommand } from '../core/command-format.js';
import { parseCommand } from '../core/command-parser.js';
import { handOffRefusal } from '../core/edit-model.js';
import type { PendingCommand } from '../core/jobs.js';
import type { SourceImage } from '../core/requests.js';
import type { CoreSettings } from '../core/settings.js';
import { filesRefusal } from '../core/vision.js';
import type { Editor } from './chat-platform.js';
import {
  CONFIRM_TTL_SECONDS,
  type InteractionDeps,
  newSeed,
  type Planned,
  planForPlatform,
  regeneration,
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

/** A request that cannot run: what the person is told, and its outcome in `lorabot_commands_total`. */
export interface Refusal {
  refusal: string;
  /** `no_source`: this bot has no way to hand a source image to Together (`handOffRefusal`). */
  outcome: 'expired' | 'no_source' | 'user_error';
}

/**
 * Why an image request cannot start from these source images, if it cannot: a file no edit takes (not a picture,
 * too large: the person's to fix), or an image this bot has no way to hand to Together (the admin's).
 */
export function sourcesRefusal(images: readonly SourceImage[], settings: CoreSettings): Refusal | undefined {
  const files = filesRefusal(images, settings);
  if (files) return { refusal: files, outcome: 'user_error' };
  const handOff = handOffRefusal(images, settings.image);
  return handOff ? { refusal: handOff, outcome: 'no_source' } : undefined;
}

/** Vary on a result: the same prompt, LoRAs and size, its first image as the reference, a new seed. */
async function variation(
  jobId: string,
  deps: Pick<InteractionDeps, 'queue' | 'settings' | 'random'>,
): Promise<Planned | Refusal> {
  const found = await deps.queue.find(jobId);
  if (!found)
    return { refusal: 'That result is too old to vary: its recipe is no longer kept.', outcome: 'expired' };
  const data = found.data;
  if (data.kind !== 'flux') return { refusal: 'Only images can be varied.', outcome: 'expired' };
  const images = [firstImageOf(jobId)];
  const refused = sourcesRefusal(images, deps.settings);
  if (refused) return refused;
  const request = { ...data.request, images, seed: newSeed(deps.random) };
  return planForPlatform({ kind: 'flux', request, notices: [] }, deps);
}

/** Regenerate or Vary pressed on a result; a regeneration that cannot run (its recipe is gone) counts as expired. */
export async function pressedAgain(
  action: 'regenerate' | 'vary',
  jobId: string,
  deps: Pick<InteractionDeps, 'queue' | 'settings' | 'random'>,
): Promise<Planned | Refusal> {
  if (action === 'vary') return variation(jobId, deps);
  const again = await regeneration(jobId, deps);
  return typeof again === 'string' ? { refusal: again, outcome: 'expired' } : again;
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
