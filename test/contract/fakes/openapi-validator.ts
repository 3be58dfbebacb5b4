import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { contractsDir } from '../../helpers/paths.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped once more.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default;

/**
 * Validates JSON against schemas inside an OpenAPI 3.1 document with a real JSON Schema validator (Ajv, draft
 * 2020-12). OpenAPI 3.0's `nullable: true`, which some of these documents still use, is read as `type: [T, "null"]`.
 */
export class OpenApiValidator {
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(
    private readonly id: string,
    document: unknown,
  ) {
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

  requestBodyPointer(path: string, method: string, contentType = 'application/json'): string {
    return `/paths/${escapePointer(path)}/${method}/requestBody/content/${escapePointer(contentType)}/schema`;
  }

  responsePointer(path: string, method: string, status: string, contentType = 'application/json'): string {
    return `/paths/${escapePointer(path)}/${method}/responses/${status}/content/${escapePointer(contentType)}/schema`;
  }
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
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

let together: OpenApiValidator | undefined;

/** Together's published OpenAPI document (`shared/contracts/together-openapi.yaml`). */
export function togetherSpec(): OpenApiValidator {
  together ??= new OpenApiValidator(
    'together',
    parseYaml(readFileSync(join(contractsDir(), 'together-openapi.yaml'), 'utf8')),
  );
  return together;
}

let discord: OpenApiValidator | undefined;

/** Discord's published OpenAPI 3.1 document (`shared/contracts/discord-openapi.json`). */
export function discordSpec(): OpenApiValidator {
  discord ??= new OpenApiValidator(
    'discord',
    JSON.parse(readFileSync(join(contractsDir(), 'discord-openapi.json'), 'utf8')),
  );
  return discord;
}
