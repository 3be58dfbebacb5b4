/** Every Redis key lorabot writes outside BullMQ's own, under one prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Set once per platform request (Slack trigger id, Discord interaction id): a redelivery finds it taken. */
  claim(requestKey: string): string {
    return `${this.prefix}:claim:${requestKey}`;
  }

  /** A claimed request's intake record (JSON), until its job is queued: what the recovery sweep queues it from. */
  intake(requestKey: string): string {
    return `${this.prefix}:intake:${requestKey}`;
  }

  /** Every intake record by the time it was claimed (a sorted set of request keys), for the recovery sweep. */
  intakeIndex(): string {
    return `${this.prefix}:intake-index`;
  }

  /** Held by the one worker sweeping intake records, for a short while. */
  intakeSweep(): string {
    return `${this.prefix}:intake-sweep`;
  }

  /** The provider's result for a job, kept until delivery is done, so a retried job does not call Together again. */
  checkpoint(jobId: string): string {
    return `${this.prefix}:checkpoint:${jobId}`;
  }

  /** Delivery steps already done for a job (a hash of step → time). */
  steps(jobId: string): string {
    return `${this.prefix}:steps:${jobId}`;
  }

  /** Marks a job as charged; the ledger writes its totals only when it sets this. */
  charged(jobId: string): string {
    return `${this.prefix}:ledger:charged:${jobId}`;
  }

  /** A spend total in micro-dollars, e.g. `ledgerTotal('user', 'slack:T1:U1', 'day', '2026-11-23')`. */
  ledgerTotal(
    scope: 'user' | 'channel' | 'workspace',
    id: string,
    period: 'day' | 'month',
    when: string,
  ): string {
    return `${this.prefix}:ledger:${scope}:${id}:${period}:${when}`;
  }

  /** A scope's `possibly-billed` ledger entries in a month: a hash of `count` and `micros`, for `/flux usage`. */
  ledgerPossiblyBilled(scope: 'user' | 'workspace', id: string, month: string): string {
    return `${this.prefix}:ledger:possibly-billed:${scope}:${id}:month:${month}`;
  }

  /** The month's ledger entries, one JSON object each, for export. */
  ledgerEntries(month: string): string {
    return `${this.prefix}:ledger:entries:${month}`;
  }

  /** A Discord interaction's token, kept out of job data and expiring with the token. */
  interactionToken(ref: string): string {
    return `${this.prefix}:interaction-token:${ref}`;
  }

  /** A job's budget reservation while it is waiting or running (a hash: micros, priority, kind, scope ids). */
  reservation(jobId: string): string {
    return `${this.prefix}:reserve:job:${jobId}`;
  }

  /** What admitted jobs not yet finished have reserved in one scope, in micro-dollars. */
  reserved(scope: 'user' | 'channel' | 'workspace', id: string): string {
    return `${this.prefix}:reserve:total:${scope}:${id}`;
  }

  /** A person's jobs waiting or running (a set of job ids): the per-person cap counts it. */
  personJobs(userScopeId: string): string {
    return `${this.prefix}:reserve:person:${userScopeId}`;
  }

  /** Every reservation by the time it was made (a sorted set), for the sweep of orphans. */
  reservationIndex(): string {
    return `${this.prefix}:reserve:index`;
  }

  /** Set when someone cancels a job: a worker that picks it up (or is running it) stops. */
  cancelled(jobId: string): string {
    return `${this.prefix}:cancelled:${jobId}`;
  }

  /** The pub/sub channel on which gateways tell workers to abort a running job. */
  cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  /** Each user's notification setting in a workspace (a hash of user id → thread|dm|off). */
  notify(platform: string, workspaceId: string): string {
    return `${this.prefix}:notify:${platform}:${workspaceId}`;
  }

  /** A command awaiting Run/Cancel. */
  pending(id: string): string {
    return `${this.prefix}:pending:${id}`;
  }

  /** A conversation's turns (a list of JSON objects, oldest first). */
  conversation(key: string): string {
    return `${this.prefix}:conversation:${key}`;
  }

  /** A message id that leads to a conversation (a reply to it continues that conversation). */
  conversationAlias(platform: string, messageId: string): string {
    return `${this.prefix}:conversation-alias:${platform}:${messageId}`;
  }

  /** A thread where every message is a request (a Slack assistant thread). */
  requestThread(platform: string, threadRef: string): string {
    return `${this.prefix}:request-thread:${platform}:${threadRef}`;
  }

  /** Together's listed per-token prices (JSON), shared by every process until they expire. */
  togetherPrices(): string {
    return `${this.prefix}:together:prices`;
  }

  /** Held by the one worker fetching Together's price list, so the others wait for what it stores. */
  togetherPricesLock(): string {
    return `${this.prefix}:together:prices:lock`;
  }

  /** Recent job durations in seconds per kind (a capped list), for ETAs. */
  durations(kind: string): string {
    return `${this.prefix}:durations:${kind}`;
  }

  /** A web browser session's events (a capped stream), relayed to the page by Server-Sent Events. */
  webEvents(sessionId: string): string {
    return `${this.prefix}:web:events:${sessionId}`;
  }

  /** One image of a web message, kept for a day so the page (and the dashboard's thumbnails) can show it. */
  webImage(messageId: string, index: number): string {
    return `${this.prefix}:web:image:${messageId}:${index}`;
  }

  /** An image's bytes behind a `/files/<token>` link or a web upload, until they expire. */
  sourceFile(token: string): string {
    return `${this.prefix}:files:${token}`;
  }

  /** A web login session, under a hash of its cookie so the cookie itself is never stored. */
  webSession(sessionHash: string): string {
    return `${this.prefix}:web:session:${sessionHash}`;
  }

  /** Chat model presets added at run time (a hash of name → JSON), shared by every process. */
  chatPresets(): string {
    return `${this.prefix}:models:presets`;
  }

  /** The pub/sub channel on which a preset's name is published when it is added or removed. */
  presetsChannel(): string {
    return `${this.prefix}:models:changed`;
  }

  /** A watched Together job (a hash: snapshot, where its status message is, who watches, what it charges). */
  watch(togetherId: string): string {
    return `${this.prefix}:watch:${togetherId}`;
  }

  /** The people watching a Together job (a set of `platform:userId`). */
  watchers(togetherId: string): string {
    return `${this.prefix}:watch:${togetherId}:watchers`;
  }
}
