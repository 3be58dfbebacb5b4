import {
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  ContainerBuilder,
  DiscordAPIError,
  MediaGalleryBuilder,
  MessageFlags,
  TextDisplayBuilder,
} from 'discord.js';
import type { ImageCaption } from '../../core/jobs.js';
import { buttonRow, codeSpan, onlyUser } from './discord-format.js';

/**
 * An image result as one Components V2 message: a Container holding a Media Gallery of the images (each an
 * `attachment://` reference to a file uploaded with the message), a Text Display with the prompt, seed and cost,
 * and the result's buttons. A V2 message has no `content`; its text lives in Text Displays, where mentions are
 * parsed as in content, so `allowed_mentions` still allows nobody but the requester.
 * @see https://discord.com/developers/docs/components/reference#container
 * @see https://discord.com/developers/docs/components/reference#media-gallery
 */

/** A Media Gallery holds 1 to 10 items. */
export const GALLERY_LIMIT = 10;

/** The buttons of a finished image (Regenerate, Vary, Edit, Details), the same as on its status message. */
const RESULT_BUTTONS = [
  { label: 'Regenerate', action: 'regenerate' },
  { label: 'Vary', action: 'vary' },
  { label: 'Edit', action: 'edit' },
  { label: 'Details', action: 'details' },
] as const;

/** The gallery message's body (without its files): `fileNames` are the files uploaded with it, in order. */
export function galleryBody(caption: ImageCaption, fileNames: readonly string[], requesterId: string) {
  const seed = caption.seed !== undefined ? `Seed ${caption.seed} · ` : '';
  const text = `${codeSpan(caption.prompt, 1500)}\n-# ${seed}${caption.costText}`;
  const row = buttonRow(RESULT_BUTTONS.map((b) => ({ ...b, value: caption.view.jobId })));
  const container = new ContainerBuilder()
    .addMediaGalleryComponents(
      new MediaGalleryBuilder().addItems(
        fileNames.map((name) => ({ media: { url: `attachment://${name}` }, description: `Image: ${name}` })),
      ),
    )
    .addTextDisplayComponents(new TextDisplayBuilder().setContent(text))
    .addActionRowComponents(row as APIActionRowComponent<APIComponentInMessageActionRow>);
  return {
    flags: MessageFlags.IsComponentsV2,
    components: [container.toJSON()],
    allowed_mentions: onlyUser(requesterId),
    attachments: fileNames.map((filename, id) => ({ id: String(id), filename })),
  };
}

/**
 * Discord refused the V2 flag: a 400 "Invalid Form Body" (50035) whose errors are about `flags` or `components`
 * (where V2 is not accepted, a Container at the top level fails as "must be one of (1,)": only action rows).
 * @see https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
 */
export function isComponentsV2Refusal(error: unknown): boolean {
  if (!(error instanceof DiscordAPIError) || error.status !== 400 || Number(error.code) !== 50035)
    return false;
  const errors = (error.rawError as { errors?: Record<string, unknown> }).errors ?? {};
  return 'flags' in errors || 'components' in errors;
}
