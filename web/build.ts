/**
 * Bundles the web playground and dashboard (web/src, typed, checked by `npm run typecheck`) into dist/web with
 * esbuild: one script per page, the stylesheet and the pages. Everything the pages need is in the bundle: they
 * load nothing from another site, so they work with no internet.
 */
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'web');

export async function buildWeb(): Promise<void> {
  // Built aside, then moved into place file by file (rename is atomic): a server reading dist/web, or a second
  // build running at the same time (two test files), never sees a half-written file.
  const staging = join(out, `.build-${process.pid}-${Date.now()}`);
  await mkdir(join(staging, 'assets'), { recursive: true });
  await build({
    entryPoints: { playground: join(here, 'src/playground.ts'), dashboard: join(here, 'src/dashboard.ts') },
    outdir: join(staging, 'assets'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await copyFile(join(here, 'static/app.css'), join(staging, 'assets/app.css'));
  for (const page of ['index.html', 'dashboard.html'])
    await copyFile(join(here, 'static', page), join(staging, page));
  await mkdir(join(out, 'assets'), { recursive: true });
  for (const dir of ['', 'assets']) {
    for (const entry of await readdir(join(staging, dir), { withFileTypes: true })) {
      if (entry.isFile()) await rename(join(staging, dir, entry.name), join(out, dir, entry.name));
    }
  }
  await rm(staging, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildWeb();
