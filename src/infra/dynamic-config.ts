import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './paths';

/** Temporal's dynamic config for every server holdfast starts; compose can mount the same file. */
export const dynamicConfigFile = path.join(repoRoot, 'config', 'temporal-dynamic.yaml');

/**
 * The settings of a Temporal dynamic config file written as `key:` followed by one `- value: <scalar>` (no
 * constraints): enough for holdfast's file, and no YAML library needed. Anything else is refused, so a setting
 * the dev server would silently miss cannot be added.
 */
export function parseDynamicConfig(text: string): Map<string, string | number | boolean> {
  const settings = new Map<string, string | number | boolean>();
  let key: string | undefined;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\s+#.*$|^#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    const keyMatch = /^([A-Za-z][\w.]*):$/.exec(line);
    const valueMatch = /^\s+- value: (.+)$/.exec(line);
    if (keyMatch && key === undefined) key = keyMatch[1]!;
    else if (valueMatch && key !== undefined) {
      settings.set(key, scalar(valueMatch[1]!));
      key = undefined;
    } else {
      throw new Error(`dynamic config line ${index + 1}: expected "key:" then "  - value: <scalar>", got ${raw}`);
    }
  }
  if (key !== undefined) throw new Error(`dynamic config: ${key} has no value`);
  return settings;
}

function scalar(text: string): string | number | boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const quoted = /^"(.*)"$|^'(.*)'$/.exec(text);
  return quoted ? (quoted[1] ?? quoted[2])! : text;
}

/** The file's settings as the dev server's `--dynamic-config-value KEY=JSON` arguments. */
export async function devServerDynamicConfigArgs(file = dynamicConfigFile): Promise<string[]> {
  const settings = parseDynamicConfig(await readFile(file, 'utf8'));
  return [...settings].flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}
