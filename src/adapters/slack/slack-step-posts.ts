import type { ChatPostMessageArguments, WebClient } from '@slack/web-api';
import type { StepPost } from '../../core/jobs.js';
import { slackFetch } from './slack-fetch.js';
import type { FoundMessage, SlackPlace, SlackThreadReader } from './slack-thread.js';

/** The `event_type` of the metadata on every message a job step posts. */
export const STEP_EVENT = 'lorabot_step';

/** A message a step posts. */
export type StepMessage = SlackPlace & {
  text: string;
  unfurl_links?: boolean;
  unfurl_media?: boolean;
};

/** A file a step uploads. */
export interface StepFile {
  bytes: Uint8Array;
  filename: string;
  title: string;
}

/**
 * Posts of a job's steps that a worker crash cannot double. Each message carries metadata naming its job and step
 * (`event_type: lorabot_step`); only when the journal says an earlier attempt began the step (`post.retry`) is the
 * thread (`conversations.replies`) or the DM (`conversations.history`) read for that message before posting. An
 * upload's file ids are journaled before `files.completeUploadExternal` shares them, so a retry finds the shared
 * files in the thread or completes the same upload, never a second one. `filesUploadV2` does the same three calls
 * without a place to keep the ids between them, hence the calls by hand.
 * @see https://docs.slack.dev/messaging/message-metadata
 * @see https://docs.slack.dev/messaging/working-with-files#upload
 */
export class SlackStepPosts {
  constructor(
    private readonly client: WebClient,
    /** The thread reader the job's native stream uses too. */
    private readonly thread: SlackThreadReader,
    /** Uploads go through undici's `request` on a keep-alive pool, as API calls do (WHATWG fetch costs more CPU). */
    private readonly send: typeof fetch = slackFetch(),
  ) {}

  /** @see https://docs.slack.dev/reference/methods/chat.postMessage */
  async postMessage(post: StepPost | undefined, message: StepMessage): Promise<string> {
    const { dm: _dm, ...args } = message;
    if (post?.retry) {
      // A lookup Slack refuses (a workspace that never granted `im:history`) posts anyway: a notice twice
      // rather than none.
      const found = (await this.thread.read(message).catch(() => [])).find((m) => isStepMessage(m, post));
      if (found?.ts) return found.ts;
    }
    const metadata = post ? { metadata: { event_type: STEP_EVENT, event_payload: stepPayload(post) } } : {};
    const posted = await this.client.chat.postMessage({ ...args, ...metadata } as ChatPostMessageArguments);
    return String(posted.ts);
  }

  /** Uploads `files` into the thread once (see the class); returns their file ids. */
  async upload(post: StepPost, place: SlackPlace, files: readonly StepFile[]): Promise<string[]> {
    const ids = JSON.parse(
      await post.steps.value(`${post.step}:files`, async () => JSON.stringify(await this.stage(files))),
    ) as string[];
    if (post.retry) {
      const shared = (await this.thread.read(place)).some((m) =>
        m.files?.some((f) => f.id && ids.includes(f.id)),
      );
      if (shared) return ids;
    }
    await this.client.files.completeUploadExternal({
      files: ids.map((id, i) => ({ id, title: files[i]!.title })) as [{ id: string; title: string }],
      channel_id: place.channel,
      ...(place.thread_ts ? { thread_ts: place.thread_ts } : {}),
    });
    return ids;
  }

  /**
   * Sends the bytes to an upload URL for each file; until completed, Slack shows them nowhere.
   * @see https://docs.slack.dev/reference/methods/files.getUploadURLExternal
   */
  private async stage(files: readonly StepFile[]): Promise<string[]> {
    const ids: string[] = [];
    for (const file of files) {
      const { upload_url, file_id } = await this.client.files.getUploadURLExternal({
        filename: file.filename,
        length: file.bytes.length,
      });
      const answer = await this.send(String(upload_url), { method: 'POST', body: Buffer.from(file.bytes) });
      await answer.arrayBuffer();
      if (answer.status !== 200)
        throw new Error(`Slack did not take the upload of ${file.filename} (HTTP ${answer.status})`);
      ids.push(String(file_id));
    }
    return ids;
  }
}

function stepPayload(post: StepPost): { job: string; step: string } {
  return { job: post.job, step: post.step };
}

function isStepMessage(message: FoundMessage, post: StepPost): boolean {
  const payload = message.metadata?.event_payload;
  return (
    message.metadata?.event_type === STEP_EVENT && payload?.job === post.job && payload?.step === post.step
  );
}
