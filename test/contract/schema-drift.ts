/**
 * Compares an owned API description (test/contract/schemas) with the vendor's upstream document and lists every
 * place where they disagree. Pure: both documents come in parsed.
 *
 * Rules, so that "owned" means "trimmed, not edited":
 * - Together and Discord (OpenAPI 3.x upstream): every node the owned document keeps must sit at the same JSON
 *   pointer upstream. An endpoint, content type, component or property the owned document has and upstream lacks
 *   is drift; so is any difference in `type`, `const`, `enum`, `format`, `required`, `nullable`, bounds
 *   (`minimum`, `maxLength`, `maxItems`, …), `pattern`, `uniqueItems`, a boolean `additionalProperties` or a
 *   `$ref` target. Properties and `oneOf`/`anyOf` branches (by `$ref`) that upstream has and the owned document
 *   left out are not drift: that is the trimming.
 * - Slack (Swagger 2.0 upstream, arguments as `parameters`): each owned method must exist upstream, each owned
 *   argument must be an upstream parameter of the same type (a form parameter typed `string` may carry JSON, so
 *   it matches an owned array or object) with the same `required` and `enum`, and every argument upstream
 *   requires (other than the token header) must be in the owned schema.
 * - A node marked `x-not-upstream: "<source>"` was written from the vendor's docs because the upstream document
 *   lacks it: it is listed as a note and not compared.
 */

import { escapePointer, unescapePointer } from './json-pointer.js';

export interface DriftReport {
  /** Disagreements, each "pointer: what changed". */
  drift: string[];
  /** Nodes written from vendor docs (`x-not-upstream`), not compared. */
  notes: string[];
}

type Node = Record<string, unknown>;

const COMPARED_KEYWORDS = [
  'type',
  'const',
  'enum',
  'format',
  'required',
  'nullable',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
] as const;

const SET_KEYWORDS = new Set<string>(['type', 'enum', 'required']);
const BRANCH_KEYWORDS = ['oneOf', 'anyOf', 'allOf'] as const;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Which kind of document this is: OpenAPI 3.x, Swagger 2.0, or neither. */
export function documentKind(document: unknown): 'openapi3' | 'swagger2' | undefined {
  if (!isNode(document)) return undefined;
  if (typeof document.openapi === 'string' && document.openapi.startsWith('3.')) return 'openapi3';
  if (document.swagger === '2.0') return 'swagger2';
  return undefined;
}

/** The `info.title` of a document, or undefined. */
export function documentTitle(document: unknown): string | undefined {
  const info = isNode(document) ? document.info : undefined;
  return isNode(info) && typeof info.title === 'string' ? info.title : undefined;
}

/** The upstream document an owned one says it was checked against (`info.x-upstream`). */
export function upstreamOf(owned: unknown): { title: string; version: string } | undefined {
  const info = isNode(owned) ? owned.info : undefined;
  const upstream = isNode(info) ? info['x-upstream'] : undefined;
  if (!isNode(upstream) || typeof upstream.title !== 'string') return undefined;
  return { title: upstream.title, version: String(upstream.version ?? '') };
}

/** Compares an owned document with its upstream one (OpenAPI 3.x or Swagger 2.0 upstream). */
export function compareWithUpstream(owned: unknown, upstream: unknown): DriftReport {
  const report: DriftReport = { drift: [], notes: [] };
  if (!isNode(owned) || !isNode(upstream)) {
    report.drift.push('(root): not an API description');
    return report;
  }
  const kind = documentKind(upstream);
  if (kind === 'openapi3') compareOpenApi(owned, upstream, report);
  else if (kind === 'swagger2') compareSwaggerArguments(owned, upstream, report);
  else report.drift.push('(root): upstream is neither OpenAPI 3.x nor Swagger 2.0');
  return report;
}

function compareOpenApi(owned: Node, upstream: Node, report: DriftReport): void {
  for (const [path, item] of entries(owned.paths)) {
    const upstreamItem = child(upstream.paths, path);
    for (const [method, operation] of entries(item).filter(([m]) => HTTP_METHODS.includes(m))) {
      const where = `/paths/${escapePointer(path)}/${method}`;
      const upstreamOperation = child(upstreamItem, method);
      if (notUpstream(operation, where, report)) continue;
      if (!upstreamOperation) {
        report.drift.push(`${where}: endpoint ${method.toUpperCase()} ${path} is gone upstream`);
        continue;
      }
      compareParameters(operation, upstreamOperation, upstream, where, report);
      compareContent(
        child(operation, 'requestBody'),
        child(upstreamOperation, 'requestBody'),
        `${where}/requestBody`,
        report,
      );
      for (const [status, response] of entries(operation.responses)) {
        const upstreamResponse = child(upstreamOperation.responses, status);
        const at = `${where}/responses/${status}`;
        if (!upstreamResponse) report.drift.push(`${at}: response ${status} is gone upstream`);
        else compareContent(response, upstreamResponse, at, report);
      }
    }
  }
  for (const [section, members] of entries(owned.components)) {
    for (const [name, schema] of entries(members)) {
      const at = `/components/${section}/${escapePointer(name)}`;
      const upstreamSchema = child(child(upstream.components, section), name);
      if (notUpstream(schema, at, report)) continue;
      if (!upstreamSchema) report.drift.push(`${at}: gone upstream`);
      else compareSchema(schema, upstreamSchema, at, report);
    }
  }
}

function compareParameters(
  operation: Node,
  upstreamOperation: Node,
  upstream: Node,
  where: string,
  report: DriftReport,
): void {
  const upstreamParameters = list(upstreamOperation.parameters).map((p) => resolve(upstream, p));
  list(operation.parameters).forEach((parameter, index) => {
    const at = `${where}/parameters/${index}`;
    const match = upstreamParameters.find((p) => p.name === parameter.name && p.in === parameter.in);
    if (!match) {
      report.drift.push(
        `${at}: ${String(parameter.in)} parameter ${String(parameter.name)} is gone upstream`,
      );
      return;
    }
    if (Boolean(parameter.required) !== Boolean(match.required))
      report.drift.push(
        `${at}: required is ${Boolean(match.required)} upstream, ${Boolean(parameter.required)} here`,
      );
    const schema = child(parameter, 'schema');
    const upstreamSchema = child(match, 'schema');
    if (schema && upstreamSchema) compareSchema(schema, upstreamSchema, `${at}/schema`, report);
  });
}

function compareContent(
  owned: Node | undefined,
  upstream: Node | undefined,
  at: string,
  report: DriftReport,
): void {
  for (const [type, media] of entries(owned?.content)) {
    const upstreamMedia = child(upstream?.content, type);
    const where = `${at}/content/${escapePointer(type)}`;
    if (!upstreamMedia) {
      report.drift.push(`${where}: content type ${type} is gone upstream`);
      continue;
    }
    const schema = child(media, 'schema');
    const upstreamSchema = child(upstreamMedia, 'schema');
    if (schema && upstreamSchema) compareSchema(schema, upstreamSchema, `${where}/schema`, report);
    else if (schema) report.drift.push(`${where}/schema: gone upstream`);
  }
}

/** Compares one owned schema node with the upstream node at the same place. */
function compareSchema(owned: Node, upstream: Node, at: string, report: DriftReport): void {
  if (notUpstream(owned, at, report)) return;
  if (typeof owned.$ref === 'string' || typeof upstream.$ref === 'string') {
    if (owned.$ref !== upstream.$ref)
      report.drift.push(`${at}: $ref is ${show(upstream.$ref)} upstream, ${show(owned.$ref)} here`);
    // The target is compared where it is defined, under /components.
    if (typeof owned.$ref === 'string') return;
  }
  for (const keyword of COMPARED_KEYWORDS) {
    const here = owned[keyword];
    const there = upstream[keyword];
    if (!sameValue(keyword, here, there))
      report.drift.push(`${at}: ${keyword} is ${show(there)} upstream, ${show(here)} here`);
  }
  const additional = owned.additionalProperties;
  const upstreamAdditional = upstream.additionalProperties;
  if (isNode(additional) && isNode(upstreamAdditional))
    compareSchema(additional, upstreamAdditional, `${at}/additionalProperties`, report);
  else if (!sameValue('additionalProperties', additional, upstreamAdditional))
    report.drift.push(
      `${at}: additionalProperties is ${show(upstreamAdditional)} upstream, ${show(additional)} here`,
    );
  for (const [name, schema] of entries(owned.properties)) {
    const where = `${at}/properties/${escapePointer(name)}`;
    const upstreamSchema = child(upstream.properties, name);
    if (notUpstream(schema, where, report)) continue;
    if (!upstreamSchema) report.drift.push(`${where}: property ${name} is gone upstream`);
    else compareSchema(schema, upstreamSchema, where, report);
  }
  for (const keyword of ['items', 'not'] as const) {
    const schema = child(owned, keyword);
    if (!schema) continue;
    const upstreamSchema = child(upstream, keyword);
    if (!upstreamSchema) report.drift.push(`${at}/${keyword}: gone upstream`);
    else compareSchema(schema, upstreamSchema, `${at}/${keyword}`, report);
  }
  for (const keyword of BRANCH_KEYWORDS) compareBranches(owned, upstream, keyword, at, report);
}

/**
 * `oneOf`/`anyOf`/`allOf`: a `$ref` branch must still be offered upstream (the owned document may leave branches
 * out); inline branches are matched in order and must all be kept.
 */
function compareBranches(
  owned: Node,
  upstream: Node,
  keyword: (typeof BRANCH_KEYWORDS)[number],
  at: string,
  report: DriftReport,
): void {
  const branches = list(owned[keyword]);
  const upstreamBranches = list(upstream[keyword]);
  if (branches.length === 0) {
    if (upstreamBranches.length > 0 && keyword === 'allOf')
      report.drift.push(`${at}: upstream adds allOf constraints`);
    return;
  }
  if (upstreamBranches.length === 0) {
    report.drift.push(`${at}/${keyword}: gone upstream`);
    return;
  }
  const inline = upstreamBranches.filter((b) => typeof b.$ref !== 'string');
  let inlineIndex = 0;
  branches.forEach((branch, index) => {
    const where = `${at}/${keyword}/${index}`;
    if (typeof branch.$ref === 'string') {
      if (!upstreamBranches.some((b) => b.$ref === branch.$ref))
        report.drift.push(`${where}: branch ${branch.$ref} is gone upstream`);
      return;
    }
    const match = inline[inlineIndex++];
    if (!match) report.drift.push(`${where}: inline branch is gone upstream`);
    else compareSchema(branch, match, where, report);
  });
  if (inlineIndex !== inline.length)
    report.drift.push(`${at}/${keyword}: upstream has ${inline.length} inline branches, ${inlineIndex} here`);
}

function compareSwaggerArguments(owned: Node, upstream: Node, report: DriftReport): void {
  for (const [path, item] of entries(owned.paths)) {
    for (const [method, operation] of entries(item).filter(([m]) => HTTP_METHODS.includes(m))) {
      const where = `/paths/${escapePointer(path)}/${method}`;
      if (notUpstream(operation, where, report)) continue;
      // Slack takes every method by POST as well as by the verb its description names.
      const upstreamOperation = entries(child(upstream.paths, path)).find(([m]) =>
        HTTP_METHODS.includes(m),
      )?.[1];
      if (!upstreamOperation) {
        report.drift.push(`${where}: method ${path.slice(1)} is gone upstream`);
        continue;
      }
      const schema = argumentsSchema(owned, operation);
      if (!schema) {
        report.drift.push(`${where}: has no argument schema`);
        continue;
      }
      compareArguments(schema, upstreamOperation, owned, where, report);
    }
  }
}

/** The owned schema of a method's arguments (its request body's, through `$ref`). */
function argumentsSchema(owned: Node, operation: Node): Node | undefined {
  const media = entries(child(operation, 'requestBody')?.content)[0]?.[1];
  const schema = child(media, 'schema');
  return schema ? resolve(owned, schema) : undefined;
}

function compareArguments(
  schema: Node,
  upstreamOperation: Node,
  owned: Node,
  where: string,
  report: DriftReport,
): void {
  const parameters = list(upstreamOperation.parameters);
  const requiredNames = new Set((Array.isArray(schema.required) ? schema.required : []).map(String));
  for (const [name, property] of entries(schema.properties)) {
    const at = `${where}/arguments/${name}`;
    const resolved = resolve(owned, property);
    const parameter = parameters.find((p) => p.name === name);
    if (!parameter) {
      if (!notUpstream(property, at, report) && !notUpstream(resolved, at, report))
        report.drift.push(`${at}: argument ${name} is gone upstream`);
      continue;
    }
    if (notUpstream(property, at, report) || notUpstream(resolved, at, report)) continue;
    const type = typeof resolved.type === 'string' ? resolved.type : undefined;
    const upstreamType = typeof parameter.type === 'string' ? parameter.type : undefined;
    const carriesJson = upstreamType === 'string' && (type === 'array' || type === 'object');
    if (type !== upstreamType && !carriesJson)
      report.drift.push(`${at}: type is ${show(upstreamType)} upstream, ${show(type)} here`);
    if (!sameValue('enum', resolved.enum, parameter.enum))
      report.drift.push(`${at}: enum is ${show(parameter.enum)} upstream, ${show(resolved.enum)} here`);
    // The token travels in the Authorization header; the body may carry it but need not.
    if (parameter.in !== 'header' && Boolean(parameter.required) !== requiredNames.has(name))
      report.drift.push(
        `${at}: required is ${Boolean(parameter.required)} upstream, ${requiredNames.has(name)} here`,
      );
  }
  for (const parameter of parameters) {
    const name = String(parameter.name);
    if (parameter.required && parameter.in !== 'header' && !child(schema.properties, name))
      report.drift.push(`${where}/arguments/${name}: upstream requires argument ${name}, missing here`);
  }
}

function notUpstream(node: unknown, at: string, report: DriftReport): boolean {
  if (!isNode(node) || node['x-not-upstream'] === undefined) return false;
  report.notes.push(`${at}: from ${String(node['x-not-upstream'])}`);
  return true;
}

function sameValue(keyword: string, a: unknown, b: unknown): boolean {
  if (SET_KEYWORDS.has(keyword)) {
    const setA = asSet(a);
    const setB = asSet(b);
    if (!setA || !setB) return setA === setB;
    return setA.size === setB.size && [...setA].every((v) => setB.has(v));
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

function asSet(value: unknown): Set<string> | undefined {
  if (value === undefined) return undefined;
  return new Set((Array.isArray(value) ? value : [value]).map((v) => JSON.stringify(v)));
}

/** Follows a local `$ref` (`#/…`) inside `document`; other nodes come back unchanged. */
function resolve(document: Node, node: Node): Node {
  if (typeof node.$ref !== 'string' || !node.$ref.startsWith('#/')) return node;
  let target: unknown = document;
  for (const segment of node.$ref.slice(2).split('/'))
    target = isNode(target) ? target[unescapePointer(segment)] : undefined;
  return isNode(target) ? resolve(document, target) : node;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(node: unknown, key: string): Node | undefined {
  const value = isNode(node) ? node[key] : undefined;
  return isNode(value) ? value : undefined;
}

function entries(node: unknown): Array<[string, Node]> {
  return isNode(node) ? Object.entries(node).filter((e): e is [string, Node] => isNode(e[1])) : [];
}

function list(value: unknown): Node[] {
  return Array.isArray(value) ? value.filter(isNode) : [];
}

function show(value: unknown): string {
  return value === undefined ? 'absent' : JSON.stringify(value);
}
