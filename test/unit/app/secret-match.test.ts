import { describe, expect, it } from 'vitest';
import { secretsMatch } from '../../../src/app/secret-match.js';

describe('secretsMatch', () => {
  const secret = 'ops:correct horse battery';

  it('accepts the secret itself and refuses a guess of any other length or content', () => {
    expect(secretsMatch(secret, secret)).toBe(true);
    for (let length = 0; length <= secret.length * 2; length++) {
      const guess = secret.repeat(2).slice(0, length);
      expect(secretsMatch(guess, secret), `length ${length}`).toBe(length === secret.length);
    }
    expect(secretsMatch(`${secret.slice(0, -1)}Y`, secret)).toBe(false);
    expect(secretsMatch(secret.toUpperCase(), secret)).toBe(false);
  });

  it('compares text, not bytes of a shorter encoding: non-ASCII secrets match only themselves', () => {
    expect(secretsMatch('pässwörd-🔑', 'pässwörd-🔑')).toBe(true);
    expect(secretsMatch('passwort-🔑', 'pässwörd-🔑')).toBe(false);
  });
});
