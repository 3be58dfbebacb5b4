import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

/** The size limits the code is held to (README "Architecture"): small files, functions that fit on a screen. */
const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every function, method, accessor, constructor and arrow function longer than the limit, with its line count. */
function longFunctions(fileName: string, text: string, limit: number): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > limit) found.push(`${functionName(node)} (line ${start + 1}): ${lines} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function functionName(node: ts.SignatureDeclaration): string {
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText();
  if (ts.isPropertyDeclaration(parent)) return parent.name.getText();
  return ts.isConstructorDeclaration(node) ? 'constructor' : '(anonymous function)';
}

describe('the layout', () => {
  const files = sourceFiles(join(REPO_ROOT, 'src')).map((path) => ({
    name: relative(REPO_ROOT, path),
    text: readFileSync(path, 'utf8'),
  }));

  it(`keeps every file in src/ at ${MAX_FILE_LINES} lines or fewer`, () => {
    const long = files
      .map(({ name, text }) => ({ name, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) }))
      .filter(({ lines }) => lines > MAX_FILE_LINES)
      .map(({ name, lines }) => `${name}: ${lines} lines`);
    expect(long).toEqual([]);
  });

  it(`keeps every function in src/ at ${MAX_FUNCTION_LINES} lines or fewer`, () => {
    const long = files.flatMap(({ name, text }) =>
      longFunctions(name, text, MAX_FUNCTION_LINES).map((f) => `${name}: ${f}`),
    );
    expect(long).toEqual([]);
  });

  it('measures a function from its first line to its last, nested ones on their own', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = [
      'export function outer() {',
      body(3),
      '  const inner = () => {',
      body(5),
      '  };',
      '  return inner;',
      '}',
      'class C {',
      '  method() {',
      body(2),
      '  }',
      '}',
    ].join('\n');
    expect(longFunctions('probe.ts', text, 7)).toEqual(['outer (line 1): 13 lines']);
    expect(longFunctions('probe.ts', text, 4)).toEqual([
      'outer (line 1): 13 lines',
      'inner (line 5): 7 lines',
    ]);
    expect(longFunctions('probe.ts', text, 3)).toEqual([
      'outer (line 1): 13 lines',
      'inner (line 5): 7 lines',
      'method (line 15): 4 lines',
    ]);
  });
});
