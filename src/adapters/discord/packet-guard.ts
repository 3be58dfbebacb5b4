import type { Client } from 'discord.js';

/** What discord.js hands its packet handlers: a gateway dispatch (`t` is its kind, e.g. `INTERACTION_CREATE`). */
interface Packet {
  t?: string;
  d?: { id?: unknown };
}

/** The part of discord.js's WebSocketManager that turns a gateway packet into objects and events. */
interface PacketHandler {
  handlePacket(packet?: Packet, shard?: unknown): boolean;
}

/**
 * Keeps a packet that discord.js cannot turn into objects from ending the process. discord.js builds an
 * interaction or a message inside the gateway socket's message handler, a promise nobody awaits: a throw there
 * (an interaction shaped like the example in Discord's own documentation, without `entitlements`, is one) becomes
 * an unhandled rejection, which Node turns into exit code 1. This wraps the one place packets are handled, on this
 * client only, so the throw is reported with the packet's kind and id and the next packet is handled as usual.
 * The session is not affected: the shard records a packet's sequence number before handing it over.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-example
 */
export function guardPackets(
  client: Client,
  onFailure: (packet: { kind: string; id: string | undefined }, error: unknown) => void,
): void {
  const manager = client.ws as unknown as PacketHandler;
  const handle = manager.handlePacket.bind(manager);
  manager.handlePacket = (packet, shard) => {
    try {
      return handle(packet, shard);
    } catch (error) {
      const id = packet?.d?.id;
      onFailure({ kind: packet?.t ?? 'unknown', id: typeof id === 'string' ? id : undefined }, error);
      return false;
    }
  };
}
