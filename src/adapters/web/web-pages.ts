/** The pages the gateway renders itself: the login, and the refusal on a public address with no password. */

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)} · lorabot</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body class="narrow">
<main class="card">
<h1><span class="logo">◆</span> lorabot</h1>
${body}
</main>
</body>
</html>
`;
}

/** The login form: a name (the user budgets and the ledger count) and the shared password. */
export function loginPage(options: { error?: string; name?: string; next?: string }): string {
  const error = options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  return page(
    'Log in',
    `<p>This lorabot asks for its password. Your name is how the dashboard and the budgets know you.</p>
${error}
<form method="post" action="/login" class="login">
<label>Name <input name="name" autocomplete="username" required maxlength="32" value="${escapeHtml(options.name ?? '')}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<input type="hidden" name="next" value="${escapeHtml(options.next ?? '/')}">
<button type="submit" class="primary">Log in</button>
</form>`,
  );
}

/** What a server bound to a non-loopback address without `LORABOT_WEB_PASSWORD` says instead of the pages. */
export function refusedPage(host: string): string {
  return page(
    'Turned off',
    `<p>The web playground and dashboard are off: this server listens on <code>${escapeHtml(host)}</code>, which
other machines can reach, and no password is set.</p>
<p>To turn them on, either set <code>LORABOT_WEB_PASSWORD</code> (people then log in with a name and that
password), or listen on this machine only with <code>HOST=127.0.0.1</code>.</p>`,
  );
}

export const REFUSED_MESSAGE =
  'The web playground is off on a non-loopback HOST without LORABOT_WEB_PASSWORD: set LORABOT_WEB_PASSWORD, or HOST=127.0.0.1.';
