import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/core/command-parser.js';
import {
  DEFAULT_CADENCE,
  fineTuneBody,
  nextPollMs,
  requestsPerHour,
  suggestedPresetName,
  watchEndText,
  watchStatusText,
} from '../../../src/core/finetune.js';
import { presetFromDraft, withRuntimeModels } from '../../../src/core/finetune-models.js';
import { testSettings } from '../../helpers/settings.js';

const settings = testSettings();

describe('/ask watch and /ask finetune grammar', () => {
  it.each([
    ['watch ft-3b9e0f6a-5c1d', { kind: 'watch', id: 'ft-3b9e0f6a-5c1d', watched: 'fine-tune' }],
    ['watch job-a1b2', { kind: 'watch', id: 'job-a1b2', watched: 'upload' }],
    ['WATCH ft-x', { kind: 'watch', id: 'ft-x', watched: 'fine-tune' }],
  ])('reads %j', (text, expected) => {
    expect(parseCommand('ask', text, settings)).toEqual({ success: true, data: expected });
  });

  it.each([
    ['watch', 'bad_watch_id'],
    ['watch model-123', 'bad_watch_id'],
    ['watch ft-<@U1>', 'bad_watch_id'],
    ['finetune file-abc', 'missing_model'],
    ['finetune --model m', 'bad_training_file'],
    ['finetune file-abc --model m --epochs 0', 'bad_epochs'],
    ['finetune file-abc --model m --epochs 2.5', 'bad_epochs'],
    ['finetune file-abc --model m --model n', 'duplicate_option'],
    ['finetune file-abc --model m --rank 8', 'unknown_option'],
  ])('refuses %j with %s', (text, code) => {
    const parsed = parseCommand('ask', text, settings);
    expect(parsed.success ? undefined : parsed.error.code).toBe(code);
  });

  it('keeps a longer question that starts with "watch" a question', () => {
    const parsed = parseCommand('ask', 'watch out for what in a contract?', settings);
    expect(parsed.success && parsed.data.kind).toBe('ask');
  });

  it('reads a finetune and builds the body Together takes (LoRA or full)', () => {
    const parsed = parseCommand('ask', 'finetune file-abc --model meta/base --epochs 3 --lora', settings);
    expect(parsed).toEqual({
      success: true,
      data: {
        kind: 'finetune',
        finetune: { trainingFile: 'file-abc', model: 'meta/base', epochs: 3, lora: true },
      },
    });
    expect(fineTuneBody({ trainingFile: 'file-abc', model: 'meta/base', epochs: 1, lora: false })).toEqual({
      training_file: 'file-abc',
      model: 'meta/base',
      n_epochs: 1,
      training_type: { type: 'Full' },
    });
  });
});

describe('how often a watch is polled', () => {
  it('follows the state: 30 s working, 5 min waiting, none once ended, later when Together asks', () => {
    expect(nextPollMs('running', DEFAULT_CADENCE)).toBe(30_000);
    expect(nextPollMs('uploading', DEFAULT_CADENCE)).toBe(30_000);
    expect(nextPollMs('queued', DEFAULT_CADENCE)).toBe(300_000);
    expect(nextPollMs('Queued', DEFAULT_CADENCE)).toBe(300_000);
    for (const ended of ['completed', 'error', 'cancelled', 'Complete', 'Failed'])
      expect(nextPollMs(ended, DEFAULT_CADENCE)).toBeUndefined();
    expect(nextPollMs('running', DEFAULT_CADENCE, 90_000)).toBe(90_000);
    expect(nextPollMs('queued', DEFAULT_CADENCE, 90_000)).toBe(300_000);
  });

  it('costs the requests per hour the README states', () => {
    expect(requestsPerHour(30_000, 'fine-tune')).toBe(240);
    expect(requestsPerHour(300_000, 'fine-tune')).toBe(24);
    expect(requestsPerHour(30_000, 'upload')).toBe(120);
    expect(requestsPerHour(300_000, 'upload')).toBe(12);
  });
});

describe('what a watch says', () => {
  const snapshot = {
    kind: 'fine-tune' as const,
    id: 'ft-1',
    state: 'running',
    model: 'meta/base',
    secondsRemaining: 840,
    queueDepth: 0,
    lastEvent: 'Epoch 1 of 3 complete',
    priceMicros: 1_680_000,
  };

  it('shows state, time left, price so far and the last event', () => {
    expect(watchStatusText(snapshot, 2)).toBe(
      '👀 Fine-tune ft-1 (meta/base)\nrunning · about 14 min left · $1.68 so far\nLast event: Epoch 1 of 3 complete\n2 watching. Press Watch to be told when it ends.',
    );
  });

  it('ends with the model and a ready /ask --model line, or the error', () => {
    const done = {
      ...snapshot,
      state: 'completed',
      outputModel: 'team/Llama-3.1-8B-Tarot_ft',
      priceMicros: 4_200_000,
    };
    expect(watchEndText(done, 'completed')).toBe(
      'Fine-tune ft-1 completed: the model is team/Llama-3.1-8B-Tarot_ft. Total price: $4.20.\nAn admin can press Add as model; then ask it with: /ask --model llama-3.1-8b-tarot_ft <your question>',
    );
    expect(watchEndText({ ...snapshot, state: 'error', error: 'bad line 12' }, 'failed')).toBe(
      'Fine-tune ft-1 failed: bad line 12 Total price: $1.68.',
    );
    expect(suggestedPresetName('a/B C!')).toBe('b-c');
  });
});

describe('chat presets added at run time', () => {
  it('checks a draft and refuses a name the config uses', () => {
    expect(presetFromDraft({ name: 'Tarot', id: 'team/tarot', maxTokens: '256' }, settings)).toEqual({
      success: true,
      data: { name: 'tarot', id: 'team/tarot', maxTokens: 256, pricing: { kind: 'auto' } },
    });
    const clash = presetFromDraft({ name: 'support', id: 'x/y', maxTokens: 10 }, settings);
    expect(clash.success ? undefined : clash.error.code).toBe('preset_name_taken');
    const tokens = presetFromDraft({ name: 'ok', id: 'x/y', maxTokens: 'many' }, settings);
    expect(tokens.success ? undefined : tokens.error.code).toBe('bad_max_tokens');
  });

  it('merges runtime presets under the config, read afresh, the config winning a clash', () => {
    let runtime = {};
    const live = withRuntimeModels(settings, () => runtime);
    expect(parseCommand('ask', '--model tarot hi', live).success).toBe(false);
    const tarot = { name: 'tarot', id: 'team/tarot', maxTokens: 256, pricing: { kind: 'auto' as const } };
    runtime = { tarot, support: { ...tarot, name: 'support' } };
    const parsed = parseCommand('ask', '--model tarot hi', live);
    expect(parsed.success && parsed.data.kind === 'ask' && parsed.data.request.model).toBe('tarot');
    expect(live.chat.models.support!.id).toBe(settings.chat.models.support!.id);
    const clash = presetFromDraft({ name: 'support', id: 'x/y', maxTokens: 10 }, live);
    expect(clash.success).toBe(false);
  });
});
