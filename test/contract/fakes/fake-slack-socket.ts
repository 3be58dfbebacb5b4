import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * Slack's Socket Mode end, for one client: says `hello` when it connects, sends envelopes, and records the acks
 * (`{ envelope_id, payload? }`) that come back.
 * @see https://docs.slack.dev/apis/events-api/using-socket-mode
 */
export class FakeSlackSocket {
  readonly acks: Array<{ envelope_id: string; payload?: unknown; at: number }> = [];
  private server?: WebSocketServer;
  private client?: WebSocket;
  url = '';

  async start(): Promise<this> {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => this.server!.once('listening', () => resolve()));
    this.url = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/link/?ticket=fake-socket-ticket-7f3e9a2b`;
    this.server.on('connection', (socket) => {
      this.client = socket;
      socket.on('message', (data) => {
        const ack = JSON.parse(String(data)) as { envelope_id: string; payload?: unknown };
        this.acks.push({ ...ack, at: Date.now() });
      });
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1 }));
    });
    return this;
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Sends one envelope; returns when it was sent (ms), to time its ack against. */
  send(envelope: { envelope_id: string; type: string; payload: Record<string, unknown> }): number {
    if (!this.client) throw new Error('no Socket Mode client is connected');
    this.client.send(
      JSON.stringify({ accepts_response_payload: envelope.type !== 'events_api', ...envelope }),
    );
    return Date.now();
  }

  async close(): Promise<void> {
    for (const socket of this.server?.clients ?? []) socket.terminate();
    await new Promise((resolve) => this.server?.close(() => resolve(undefined)));
  }
}
