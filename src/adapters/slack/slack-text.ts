/**
 * Slack's command text is not what the user typed: links arrive wrapped as `<https://…>` or `<https://…|label>`
 * and `&`, `<`, `>` arrive as `&amp;`, `&lt;`, `&gt;`. This undoes both before the shared grammar sees the text.
 * Mentions (`<@U…>`, `<#C…|name>`, `<!here>`) are left as they are: they are text to the grammar, and the bot
 * escapes everything it posts.
 * @see https://docs.slack.dev/messaging/formatting-message-text
 */
export function unescapeSlackText(text: string): string {
  const unwrapped = text.replace(/<((?:https?|mailto):[^|<>\s]*)(?:\|[^<>]*)?>/gi, '$1');
  return unwrapped.replace(
    /&(amp|lt|gt);/g,
    (_, name: string) => ({ amp: '&', lt: '<', gt: '>' })[name] ?? _,
  );
}

/**
 * Escapes text for Slack mrkdwn so it can never form a mention, a channel ping or a link: `&`, `<` and `>` become
 * entities, the only control characters Slack has.
 */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
