import { Collection } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { attachedImages } from '../../../src/adapters/discord/discord-edits.js';
import { editorModal, parseEditorId } from '../../../src/adapters/discord/discord-format.js';
import { slackImages } from '../../../src/adapters/slack/slack-edits.js';
import { editorView } from '../../../src/adapters/slack/slack-format.js';
import { discordSpec, slackSpec } from '../../contract/fakes/openapi-validator.js';

describe('the images "Edit with lorabot" reads from a message', () => {
  it('takes a Slack message’s image files as files the worker downloads, and leaves other files out', () => {
    const files = [
      {
        name: 'notes.txt',
        mimetype: 'text/plain',
        size: 10,
        url_private: 'https://files.slack.com/a/notes.txt',
      },
      {
        name: 'cat.jpg',
        mimetype: 'image/jpeg',
        size: 2048,
        url_private: 'https://files.slack.com/b/cat.jpg',
      },
      { name: 'lost.png', mimetype: 'image/png', size: 5 },
    ];
    expect(slackImages(files)).toEqual([
      {
        kind: 'slack-file',
        url: 'https://files.slack.com/b/cat.jpg',
        name: 'cat.jpg',
        mimetype: 'image/jpeg',
        bytes: 2048,
      },
    ]);
    expect(slackImages(undefined)).toEqual([]);
    expect(slackImages('not a list')).toEqual([]);
  });

  it('takes a Discord message’s image attachments as their links with what Discord says of them, by type, else by name', () => {
    const attachments = new Collection(
      [
        { id: '1', contentType: 'image/png', name: 'a.png', url: 'https://cdn.discordapp.com/1/a.png?ex=1' },
        {
          id: '2',
          contentType: 'text/plain; charset=utf-8',
          name: 'b.txt',
          url: 'https://cdn.discordapp.com/2',
        },
        { id: '3', contentType: null, name: 'c.WEBP', url: 'https://cdn.discordapp.com/3/c.WEBP' },
        { id: '4', contentType: null, name: 'd.mp4', url: 'https://cdn.discordapp.com/4/d.mp4' },
      ].map((a) => [a.id, a]),
    );
    expect(attachedImages({ attachments } as never)).toEqual([
      { kind: 'link', url: 'https://cdn.discordapp.com/1/a.png?ex=1', name: 'a.png', mimetype: 'image/png' },
      { kind: 'link', url: 'https://cdn.discordapp.com/3/c.WEBP', name: 'c.WEBP' },
    ]);
  });
});

describe('the editor form', () => {
  const long = 'a heron '.repeat(700);

  it('is a Discord modal its API accepts, whose id leads back to the draft, with the text cut to 4,000', () => {
    const spec = discordSpec();
    const modal = editorModal({ draftId: 'discord-1234567890123456789', text: long, images: 2 });
    const pointer = spec.requestBodyPointer(
      '/interactions/{interaction_id}/{interaction_token}/callback',
      'post',
    );
    expect(spec.errors(pointer, { type: 9, data: modal })).toEqual([]);
    expect(modal.components[0]!.components[0]!.value).toHaveLength(4000);
    expect(parseEditorId(modal.custom_id)).toBe('discord-1234567890123456789');
    expect(parseEditorId('lorabot:run:x')).toBeUndefined();
    const empty = editorModal({ draftId: 'd', text: '', images: 1 });
    expect(empty.components[0]!.components[0]).not.toHaveProperty('value');
  });

  it('is a Slack modal views.open accepts, with the text cut to 3,000', () => {
    const spec = slackSpec();
    const view = editorView({ text: long, images: 1 }, { draft: 'slack-T1-1.2', channel: 'C1' });
    expect(spec.errors(spec.requestBodyPointer('/views.open', 'post'), { trigger_id: '1.2', view })).toEqual(
      [],
    );
    expect(view.blocks[0]!.element.initial_value).toHaveLength(3000);
    expect(JSON.parse(view.private_metadata)).toEqual({ draft: 'slack-T1-1.2', channel: 'C1' });
  });
});
