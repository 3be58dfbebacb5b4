import type { WebSessionInfo } from '../../src/adapters/web/web-protocol.js';

export interface Session extends WebSessionInfo {
  login: boolean;
}

/** The page's session: who it is, and the token its POSTs carry. */
export async function loadSession(): Promise<Session> {
  const response = await fetch('/api/session', { credentials: 'same-origin' });
  if (response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    throw new Error('not logged in');
  }
  return (await response.json()) as Session;
}

/** POSTs JSON with the session's CSRF token; returns the error text the server gave, if any. */
export async function post(session: Session, path: string, body: unknown): Promise<string | undefined> {
  const response = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
    body: JSON.stringify(body),
  }).catch(() => undefined);
  if (!response) return 'The server did not answer. Is lorabot still running?';
  if (response.ok) return undefined;
  const answer = (await response.json().catch(() => ({}))) as { error?: string };
  return answer.error ?? `The server answered ${response.status}.`;
}

/**
 * Uploads an image's bytes (`POST /api/uploads`) with the session's CSRF token: its token, or the error text the
 * server gave.
 */
export async function upload(session: Session, file: Blob): Promise<{ token: string } | { error: string }> {
  const response = await fetch('/api/uploads', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/octet-stream', 'x-csrf-token': session.csrfToken },
    body: file,
  }).catch(() => undefined);
  if (!response) return { error: 'The server did not answer. Is lorabot still running?' };
  const answer = (await response.json().catch(() => ({}))) as { token?: string; error?: string };
  if (response.ok && answer.token) return { token: answer.token };
  return { error: answer.error ?? `The server answered ${response.status}.` };
}

/** The header every page shares: the name, the two pages, and log out when there is a login. */
export function header(session: Session, page: 'playground' | 'dashboard'): HTMLElement {
  const bar = document.querySelector<HTMLElement>('header.top')!;
  bar.querySelector('[data-user]')!.textContent = session.name;
  bar.querySelector(`a[data-page="${page}"]`)?.setAttribute('aria-current', 'page');
  const logout = bar.querySelector<HTMLButtonElement>('[data-logout]')!;
  logout.hidden = !session.login;
  logout.addEventListener('click', async () => {
    await post(session, '/logout', {});
    location.href = '/login';
  });
  return bar;
}
