import { describe, expect, it } from 'vitest';
import { isBlockedAddress } from '../../../src/adapters/http/link-probe.js';
import { linkProblemText, linksToProbe } from '../../../src/core/source-link.js';

describe('the addresses an --image link may not reach', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'RFC 1918'],
    ['172.16.0.1', 'RFC 1918'],
    ['172.31.255.255', 'RFC 1918'],
    ['192.168.1.1', 'RFC 1918'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'v6 loopback'],
    ['::', 'v6 unspecified'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fe80::1', 'v6 link-local'],
    ['ff02::1', 'v6 multicast'],
    ['::ffff:127.0.0.1', 'mapped loopback'],
    ['::ffff:7f00:1', 'mapped loopback, hex'],
    ['::ffff:10.0.0.1', 'mapped private'],
    ['::FFFF:A9FE:A9FE', 'mapped link-local, upper case'],
    ['[::1]', 'bracketed, as in a URL'],
    ['not-an-address', 'not an address at all'],
  ])('refuses %s (%s)', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '192.169.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
  ])('allows the public address %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });
});

describe('which links are looked at, and what is said', () => {
  it('looks at typed links only: not Discord attachments, Slack files or lorabot results', () => {
    expect(
      linksToProbe([
        { kind: 'link', url: 'https://images.example.com/a.png' },
        { kind: 'link', url: 'https://cdn.discordapp.com/attachments/1/2/a.png?ex=1' },
        { kind: 'link', url: 'https://media.discordapp.net/attachments/1/2/a.png' },
        { kind: 'slack-file', url: 'https://files.slack.com/files-pri/T1-F1/a.png' },
        { kind: 'result', jobId: 'j1', index: 0 },
      ]),
    ).toEqual(['https://images.example.com/a.png']);
  });

  it('names the link and the problem, and says nothing was queued or charged', () => {
    const link = 'https://images.example.com/a.png';
    expect(linkProblemText(link, { kind: 'timeout', ms: 3000 })).toBe(
      'The image link `https://images.example.com/a.png` did not answer within 3 s, so Together could not read it either. Check that it opens in a browser, or use another link. Nothing was queued or charged.',
    );
    expect(linkProblemText(link, { kind: 'status', status: 404 })).toContain(
      'answered with HTTP 404 (not found)',
    );
    expect(linkProblemText(link, { kind: 'private' })).toContain(
      'lorabot does not fetch links to private addresses',
    );
    expect(linkProblemText(link, { kind: 'not-image', contentType: 'text/html' })).toContain(
      'opens a page (text/html), not an image',
    );
    expect(linkProblemText(link, { kind: 'unreachable', reason: 'no such host' })).toContain(
      'could not be reached (no such host)',
    );
  });
});
