/** How failures and tables are printed. */
import { isStrataError } from '@strata/protocol';
import { unreachableMessage } from './broker-client.js';

/** One line per failure: `error: <CODE>: <message>` for broker errors, `error: <message>` otherwise. */
export function formatError(error: unknown): string {
  const unreachable = unreachableMessage(error);
  if (unreachable !== undefined) return `error: ${unreachable}\n`;
  if (isStrataError(error)) {
    // Several problems (an invalid config): one per line, not joined into one long message.
    const problems = error.details?.['problems'];
    if (Array.isArray(problems) && problems.length > 1) {
      const items = problems.map((p) =>
        typeof p === 'object' && p !== null && typeof (p as { message?: unknown }).message === 'string'
          ? (p as { message: string }).message
          : String(p),
      );
      const joined = items.join('; ');
      const head = error.message.endsWith(joined)
        ? error.message.slice(0, error.message.length - joined.length).replace(/[\s:;]+$/, '')
        : error.message;
      return `error: ${error.code}: ${head}:\n${items.map((p) => `  - ${p}\n`).join('')}`;
    }
    return `error: ${error.code}: ${error.message}\n`;
  }
  if (error instanceof Error) return `error: ${error.message}\n`;
  return `error: ${String(error)}\n`;
}

/** Left-aligned columns separated by two spaces; numbers are right-aligned. */
export function formatTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => String(cell)))];
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (numeric[i] === true ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}
