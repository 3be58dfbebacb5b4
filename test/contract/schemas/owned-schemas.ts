import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The vendor API descriptions this project owns: trimmed OpenAPI 3.1 documents holding only the endpoints, fields
 * and enums lorabot sends and reads. Each names, in `info.x-upstream`, the upstream document and version it was
 * checked against; `npm run contracts:check -- <upstream file>` compares it with a newer one.
 */
export const OWNED_SCHEMAS = {
  together: 'together.openapi.json',
  discord: 'discord.openapi.json',
  slack: 'slack.openapi.json',
} as const;

export type OwnedSchemaName = keyof typeof OWNED_SCHEMAS;

/** Where an owned document lives (beside this file). */
export function ownedSchemaPath(name: OwnedSchemaName): string {
  return fileURLToPath(new URL(OWNED_SCHEMAS[name], import.meta.url));
}

/** Parses an owned document. */
export function loadOwnedSchema(name: OwnedSchemaName): Record<string, unknown> {
  return JSON.parse(readFileSync(ownedSchemaPath(name), 'utf8')) as Record<string, unknown>;
}
