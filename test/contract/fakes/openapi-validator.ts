import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { escapePointer, unescapePointer } from '../json-pointer.js';
import { loadOwnedSchema, type OwnedSchemaName } from '../schemas/owned-schemas.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped once more.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default;

/**
 * Validates JSON against schemas inside an OpenAPI 3.1 document with a real JSON Schema validator (Ajv, draft
 * 2020-12). OpenAPI 3.0's `nullable: true`, which some of these documents still use, is read as `type: [T, "null"]`.
 */
export class OpenApiValidator {
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  private readonly document: unknown;

  constructor(
    private readonly id: string,
    document: unknown,
  ) {
    this.document = document;
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true, logger: false });
    addFormats(this.ajv);
    for (const format of [
      'int32',
      'int64',
      'float',
      'double',
      'float64',
      'byte',
      'binary',
      'bearer',
      'integer',
      'snowflake',
    ]) {
      this.ajv.addFormat(format, true);
    }
    this.ajv.addSchema(rewriteNullable(document) as object, id);
  }

  /** Errors for `value` against the schema at a JSON pointer in the document (empty when valid). */
  errors(pointer: string, value: unknown): string[] {
    let validate = this.cache.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${this.id}#${pointer}` });
      this.cache.set(pointer, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map(describe);
  }

  /** The schema node at a JSON pointer, following `$ref`s inside the document (undefined when absent). */
  schemaAt(pointer: string): Record<string, unknown> | undefined {
    let node = this.document;
    for (const segment of pointer.split('/').slice(1)) {
      node = (node as Record<string, unknown> | undefined)?.[unescapePointer(segment)];
    }
    const ref = (node as { $ref?: unknown } | undefined)?.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/')) return this.schemaAt(ref.slice(1));
    return node && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
  }

  requestBodyPointer(path: string, method: string, contentType = 'application/json'): string {
    return `/paths/${escapePointer(path)}/${method}/requestBody/content/${escapePointer(contentType)}/schema`;
  }

  responsePointer(path: string, method: string, status: string, contentType = 'application/json'): string {
    return `/paths/${escapePointer(path)}/${method}/responses/${status}/content/${escapePointer(contentType)}/schema`;
  }
}

function describe(error: ErrorObject): string {
  return `${error.instancePath || '(root)'} ${error.message ?? 'is invalid'}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`;
}

function rewriteNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteNullable);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = rewriteNullable(value);
  if (out.nullable !== true) return out;
  delete out.nullable;
  if (typeof out.type === 'string') out.type = [out.type, 'null'];
  else if (Array.isArray(out.type)) out.type = [...out.type, 'null'];
  else return { anyOf: [out, { type: 'null' }] };
  return out;
}

const validators = new Map<OwnedSchemaName, OpenApiValidator>();

/** A validator over one of the project's own API descriptions (test/contract/schemas), built once. */
export function ownedSpec(name: OwnedSchemaName): OpenApiValidator {
  let validator = validators.get(name);
  if (!validator) {
    validator = new OpenApiValidator(name, loadOwnedSchema(name));
    validators.set(name, validator);
  }
  return validator;
}

/** Together's API as lorabot uses it (test/contract/schemas/together.openapi.json). */
export function togetherSpec(): OpenApiValidator {
  return ownedSpec('together');
}

/** Discord's API as lorabot uses it (test/contract/schemas/discord.openapi.json). */
export function discordSpec(): OpenApiValidator {
  return ownedSpec('discord');
}

/** The Slack Web API methods lorabot calls (test/contract/schemas/slack.openapi.json). */
export function slackSpec(): OpenApiValidator {
  return ownedSpec('slack');
}
