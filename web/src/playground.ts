import type { WebButton, WebEvent, WebStatus } from '../../src/adapters/web/web-protocol.js';
import { header, loadSession, post, upload } from './api.js';
import { fill, h } from './dom.js';

/** One message of the conversation, kept so later events can update it. */
interface BotMessage {
  root: HTMLElement;
  status: HTMLElement;
  body: HTMLElement;
  images: HTMLElement;
  notice: HTMLElement;
  buttons: HTMLElement;
  /** Where Edit's form opens. */
  editor: HTMLElement;
  jobId?: string;
}

const STATE_LABEL: Record<WebStatus['state'], string> = {
  queued: 'Queued',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const session = await loadSession();
header(session, 'playground');
const log = document.querySelector<HTMLElement>('#log')!;
const form = document.querySelector<HTMLFormElement>('#composer')!;
const input = form.querySelector<HTMLTextAreaElement>('textarea')!;
const messages = new Map<string, BotMessage>();
const tray = document.querySelector<HTMLElement>('#attachments')!;
const attachButton = form.querySelector<HTMLLabelElement>('label.attach')!;
const picker = attachButton.querySelector<HTMLInputElement>('input[type="file"]')!;

/** An image attached to the next line: uploaded at once, sent by its token with the line. */
interface Attachment {
  name: string;
  preview: string;
  /** Its upload's token once the gateway took it; undefined when it refused it. */
  token: Promise<string | undefined>;
  chip: HTMLElement;
}
let attached: Attachment[] = [];

function statusText(status: WebStatus): string {
  switch (status.state) {
    case 'queued':
      return status.position > 0 ? `Queued, position ${status.position}` : 'Queued, next up';
    case 'running':
    case 'done':
      // The badge says it all.
      return '';
    case 'failed':
      return `Failed: ${status.reason}`;
    case 'cancelled':
      return `Cancelled by ${status.by}`;
  }
}

function message(id: string): BotMessage {
  const found = messages.get(id);
  if (found) return found;
  const made: BotMessage = {
    status: h('div', { class: 'status' }),
    body: h('div', { class: 'body' }),
    images: h('div', { class: 'images' }),
    notice: h('div', { class: 'notice' }),
    buttons: h('div', { class: 'buttons' }),
    editor: h('div', { class: 'editor' }),
    root: h('article', { class: 'bot', 'data-message': id }),
  };
  made.root.append(
    h('div', { class: 'avatar', 'aria-hidden': 'true' }, '◆'),
    h(
      'div',
      { class: 'content' },
      made.status,
      made.body,
      made.images,
      made.notice,
      made.buttons,
      made.editor,
    ),
  );
  messages.set(id, made);
  log.append(made.root);
  return made;
}

function buttons(target: HTMLElement, list: readonly WebButton[]): void {
  fill(
    target,
    ...list.map((button) =>
      h(
        'button',
        {
          type: 'button',
          class: button.style ?? 'secondary',
          'data-action': button.action,
          on: { click: () => press(button) },
        },
        button.label,
      ),
    ),
  );
}

async function press(button: WebButton): Promise<void> {
  const requestId = crypto.randomUUID();
  const error = await post(session, '/api/actions', { action: button.action, id: button.id, requestId });
  if (error) showPrivate(requestId, error);
}

/** Edit pressed: a private form with the result's prompt, sent to `/api/edits` (the new job is a new message). */
function showEditor(target: HTMLElement, event: Extract<WebEvent, { type: 'editor' }>): void {
  const text = h('textarea', { name: 'text', rows: '3', required: true, 'aria-label': 'Prompt' });
  text.value = event.text;
  const images = event.images === 1 ? 'the image' : `${event.images} images`;
  const close = () => fill(target);
  const form = h(
    'form',
    {
      class: 'edit-form',
      on: {
        submit: (e) => {
          e.preventDefault();
          const prompt = text.value.trim();
          if (!prompt) return;
          close();
          void sendEdit(event.draftId, prompt);
        },
      },
    },
    h('label', {}, `Edit, starting from ${images} (/flux options work here too)`, text),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, 'Make it'),
      h('button', { type: 'button', class: 'secondary', on: { click: close } }, 'Cancel'),
    ),
  );
  fill(target, form);
  text.focus();
}

async function sendEdit(draftId: string, text: string): Promise<void> {
  const requestId = crypto.randomUUID();
  log.append(h('article', { class: 'mine' }, h('div', { class: 'content' }, h('code', {}, text))));
  scroll();
  const error = await post(session, '/api/edits', { draftId, text, requestId });
  if (error) showPrivate(requestId, error);
}

function showPrivate(id: string, text: string, list: readonly WebButton[] = []): void {
  const m = message(id);
  m.root.classList.add('private');
  fill(m.status, h('span', { class: 'only-you' }, 'Only you can see this'));
  m.body.textContent = text;
  buttons(m.buttons, list);
  scroll();
}

function apply(event: WebEvent): void {
  const m = message(event.messageId);
  switch (event.type) {
    case 'status':
      m.jobId = event.jobId;
      m.root.dataset.state = event.status.state;
      fill(
        m.status,
        h('span', { class: `badge ${event.status.state}` }, STATE_LABEL[event.status.state]),
        h('code', { class: 'command' }, event.command),
        h('span', { class: 'state-text' }, statusText(event.status)),
      );
      if (event.status.state === 'done') m.notice.dataset.cost = event.status.costText;
      buttons(m.buttons, event.buttons);
      break;
    case 'preview':
      m.body.textContent = event.text;
      m.body.classList.add('streaming');
      break;
    case 'answer':
      m.body.textContent = event.text;
      m.body.classList.remove('streaming');
      break;
    case 'images':
      fill(
        m.images,
        ...event.images.map((image) =>
          h(
            'a',
            { href: image.url, target: '_blank', rel: 'noopener' },
            h('img', { src: image.url, alt: image.fileName }),
          ),
        ),
      );
      break;
    case 'notice':
      m.notice.textContent = event.text;
      m.notice.className = `notice ${event.ok ? 'ok' : 'failed'}`;
      break;
    case 'private':
      showPrivate(event.messageId, event.text, event.buttons);
      break;
    case 'editor':
      showPrivate(event.messageId, '');
      showEditor(m.editor, event);
      break;
  }
  scroll();
}

function scroll(): void {
  log.scrollTop = log.scrollHeight;
}

/** Sends a typed line with the images attached to it (uploaded ones only); the tray empties. */
async function send(text: string): Promise<void> {
  const requestId = crypto.randomUUID();
  const sent = attached;
  clearAttachments();
  // A line goes with its images or not at all: without them an edit would be a new image, and be charged as one.
  const images = await Promise.all(sent.map((a) => a.token));
  if (images.some((token) => token === undefined)) {
    input.value = text;
    return;
  }
  const thumbnails = sent.map((a) => h('img', { src: a.preview, alt: a.name }));
  log.append(
    h(
      'article',
      { class: 'mine' },
      h(
        'div',
        { class: 'content' },
        h('code', {}, text),
        thumbnails.length ? h('div', { class: 'attached' }, ...thumbnails) : null,
      ),
    ),
  );
  scroll();
  const error = await post(session, '/api/commands', {
    text,
    requestId,
    ...(images.length ? { images } : {}),
  });
  if (error) showPrivate(requestId, error);
}

/**
 * Attaches a file: uploaded at once (the gateway checks its bytes are an image within the size limit); a file it
 * refuses is said privately, like any refusal, and is not attached. One over the limit is not even sent.
 */
async function attach(file: File): Promise<void> {
  const limit = session.uploadMaxBytes;
  if (limit === undefined) return;
  if (file.size > limit) {
    const mb = (bytes: number) => String(Math.round((bytes / (1024 * 1024)) * 10) / 10);
    showPrivate(
      `${crypto.randomUUID()}:note`,
      `\`${file.name}\` is ${mb(file.size)} MB; an image can be at most ${mb(limit)} MB. Attach a smaller one.`,
    );
    return;
  }
  const chip = h('div', { class: 'attachment', 'data-state': 'uploading' });
  const uploaded = upload(session, file);
  const attachment: Attachment = {
    name: file.name,
    preview: URL.createObjectURL(file),
    chip,
    token: uploaded.then((answer) => ('token' in answer ? answer.token : undefined)),
  };
  const remove = () => {
    attached = attached.filter((a) => a !== attachment);
    attachment.chip.remove();
    URL.revokeObjectURL(attachment.preview);
    tray.hidden = attached.length === 0;
  };
  fill(
    attachment.chip,
    h('img', { src: attachment.preview, alt: '' }),
    h('span', { class: 'name' }, file.name),
    h('button', { type: 'button', 'aria-label': `Remove ${file.name}`, on: { click: remove } }, '×'),
  );
  attached.push(attachment);
  tray.append(attachment.chip);
  tray.hidden = false;
  const answer = await uploaded;
  if ('error' in answer) {
    remove();
    showPrivate(`${crypto.randomUUID()}:note`, `\`${file.name}\`: ${answer.error} Nothing was sent.`);
    return;
  }
  chip.dataset.state = 'ready';
}

function clearAttachments(): void {
  attached = [];
  fill(tray);
  tray.hidden = true;
}

function attachAll(files: FileList | null | undefined): void {
  for (const file of files ?? []) void attach(file);
}

if (session.uploadMaxBytes !== undefined) {
  attachButton.hidden = false;
  picker.addEventListener('change', () => {
    attachAll(picker.files);
    picker.value = '';
  });
  // A file dropped anywhere on the page, or pasted into the composer, is attached the same way.
  document.addEventListener('dragover', (e) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    document.body.classList.add('dropping');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dropping'));
  document.addEventListener('drop', (e) => {
    if (!e.dataTransfer?.files.length) return;
    e.preventDefault();
    document.body.classList.remove('dropping');
    attachAll(e.dataTransfer.files);
  });
  input.addEventListener('paste', (e) => {
    if (e.clipboardData?.files.length) attachAll(e.clipboardData.files);
  });
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  void send(text);
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    form.requestSubmit();
  }
});
for (const chip of document.querySelectorAll<HTMLButtonElement>('[data-example]')) {
  chip.addEventListener('click', () => {
    input.value = chip.dataset.example ?? '';
    input.focus();
  });
}

// The browser resumes from the last event it saw (`Last-Event-ID`) whenever the connection drops.
const events = new EventSource('/api/events');
events.onmessage = (e: MessageEvent<string>) => apply(JSON.parse(e.data) as WebEvent);
events.onopen = () => document.body.classList.remove('offline');
events.onerror = () => document.body.classList.add('offline');
document.body.dataset.ready = 'true';
