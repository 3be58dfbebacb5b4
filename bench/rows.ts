/** A figure, what was measured, its target, whether it was met, and (when missed) what the run saw about why. */
export interface Row {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
  why?: string;
}

/** The figures as a Markdown table, then one line for each missed target saying why. */
export function rowsMarkdown(table: readonly Row[]): string[] {
  const mark = (met: boolean | null) => (met === null ? '' : met ? 'met' : 'MISSED');
  return [
    '| Figure | Measured | Target | |',
    '|---|---|---|---|',
    ...table.map((row) => `| ${row.figure} | ${row.value} | ${row.target} | ${mark(row.met)} |`),
    '',
    ...table.filter((row) => row.why).map((row) => `- **${row.figure}** missed: ${row.why}.`),
  ];
}
