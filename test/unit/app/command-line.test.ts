import { describe, expect, it } from 'vitest';
import { commandOfLine } from '../../../src/app/command-line.js';

describe('commandOfLine', () => {
  it('names the command of a typed line, with or without its slash', () => {
    expect(commandOfLine('/flux a red fox --size 256x256')).toEqual({
      type: 'command',
      kind: 'flux',
      text: 'a red fox --size 256x256',
    });
    expect(commandOfLine('  ASK what is a LoRA?')).toEqual({
      type: 'command',
      kind: 'ask',
      text: 'what is a LoRA?',
    });
    expect(commandOfLine('/flux')).toEqual({ type: 'command', kind: 'flux', text: '' });
  });

  it('takes a bare subcommand word as the command it belongs to', () => {
    expect(commandOfLine('jobs')).toEqual({ type: 'command', kind: 'flux', text: 'jobs' });
    expect(commandOfLine(' notify dm ')).toEqual({ type: 'command', kind: 'flux', text: 'notify dm' });
    expect(commandOfLine('models')).toEqual({ type: 'command', kind: 'ask', text: 'models' });
  });

  it('names nothing for other words or an empty line', () => {
    expect(commandOfLine('/paint a cat')).toBeUndefined();
    expect(commandOfLine('a red fox')).toBeUndefined();
    expect(commandOfLine('   ')).toBeUndefined();
  });
});
