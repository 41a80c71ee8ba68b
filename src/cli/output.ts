/** Human-readable output: aligned tables and key/value blocks. `--json` bypasses all of this. */

type Row = Readonly<Record<string, unknown>>;

/** Columns padded to their widest cell, numbers right-aligned; `empty` when there are no rows. */
export function table(rows: readonly Row[], empty: string): string {
  if (rows.length === 0) return empty;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => row[i]!.length)));
  const numeric = columns.map((column) =>
    rows.every((row) => row[column] === undefined || typeof row[column] === 'number'),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => (numeric[i] ? value.padStart(widths[i]!) : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

/** One record as "key  value" lines, keys aligned; absent values are left out. */
export function fields(record: Row): string {
  const entries = Object.entries(record).filter(([, value]) => value !== undefined);
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${key.padEnd(width)}  ${cell(value)}`).join('\n');
}

export function price(cents: number): string {
  return (cents / 100).toFixed(2);
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
