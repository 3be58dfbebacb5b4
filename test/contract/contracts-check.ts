import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { compareWithUpstream, documentTitle, upstreamOf } from './schema-drift.js';
import { loadOwnedSchema, OWNED_SCHEMAS, type OwnedSchemaName } from './schemas/owned-schemas.js';

/**
 * `npm run contracts:check -- <upstream spec>...`: compares each owned API description (test/contract/schemas)
 * with the vendor's published document and prints every field that drifted. Exit 0 when all agree, 1 on drift,
 * 2 on a usage error. The owned document is picked by the upstream `info.title`, or named with `--owned NAME`.
 */
const USAGE = `usage: npm run contracts:check -- [--owned ${Object.keys(OWNED_SCHEMAS).join('|')}] <upstream spec>...

Compares the owned API descriptions in test/contract/schemas with the vendors' published documents:
  Together  openapi.yaml from https://github.com/togethercomputer/openapi
  Discord   specs/openapi.json from https://github.com/discord/discord-api-spec
  Slack     web-api/slack_web_openapi_v2.json from https://github.com/slackapi/slack-api-specs
Each file is matched to an owned document by its info.title; --owned picks one for the file that follows it.
Exit 0 when every owned field still matches, 1 when something drifted, 2 on a usage error.`;

function main(args: string[]): number {
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    console.error(USAGE);
    return args.length === 0 ? 2 : 0;
  }
  let drifted = false;
  let forced: OwnedSchemaName | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--owned') {
      const name = args[++i];
      if (!name || !(name in OWNED_SCHEMAS)) {
        console.error(
          `--owned takes one of ${Object.keys(OWNED_SCHEMAS).join(', ')}; got ${name ?? 'nothing'}`,
        );
        return 2;
      }
      forced = name as OwnedSchemaName;
      continue;
    }
    const result = checkFile(arg, forced);
    forced = undefined;
    if (result === 'usage') return 2;
    if (result === 'drift') drifted = true;
  }
  return drifted ? 1 : 0;
}

function checkFile(path: string, forced: OwnedSchemaName | undefined): 'ok' | 'drift' | 'usage' {
  let upstream: unknown;
  try {
    upstream = parseYaml(readFileSync(path, 'utf8'), { maxAliasCount: -1 });
  } catch (error) {
    console.error(`${path}: cannot read it as YAML or JSON: ${(error as Error).message}`);
    return 'usage';
  }
  const title = documentTitle(upstream);
  const name = forced ?? ownedNameFor(title);
  if (!name) {
    console.error(
      `${path}: no owned schema checks against "${title ?? 'a document without info.title'}"; pass --owned ${Object.keys(OWNED_SCHEMAS).join('|')} before it`,
    );
    return 'usage';
  }
  const owned = loadOwnedSchema(name);
  const claimed = upstreamOf(owned);
  const version = (upstream as { info?: { version?: unknown } }).info?.version;
  console.log(`${path}: ${title ?? '(untitled)'} ${String(version ?? '')} against ${OWNED_SCHEMAS[name]}`);
  if (claimed && String(version) !== claimed.version)
    console.log(`  note: ${OWNED_SCHEMAS[name]} was checked against version ${claimed.version}`);
  const report = compareWithUpstream(owned, upstream);
  for (const note of report.notes) console.log(`  not compared (written from vendor docs) ${note}`);
  for (const line of report.drift) console.log(`  DRIFT ${line}`);
  console.log(
    report.drift.length === 0
      ? '  consistent'
      : `  ${report.drift.length} field(s) drifted: update ${OWNED_SCHEMAS[name]} (and the code that sends or reads them)`,
  );
  return report.drift.length === 0 ? 'ok' : 'drift';
}

function ownedNameFor(title: string | undefined): OwnedSchemaName | undefined {
  return (Object.keys(OWNED_SCHEMAS) as OwnedSchemaName[]).find(
    (name) => upstreamOf(loadOwnedSchema(name))?.title === title,
  );
}

process.exitCode = main(process.argv.slice(2));
