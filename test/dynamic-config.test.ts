import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { dynamicConfigFile, parseDynamicConfig } from '../src/infra';

describe('config/temporal-dynamic.yaml (every Temporal server holdfast starts reads it)', () => {
  it('is read as the settings the dev server is given', async () => {
    const settings = parseDynamicConfig(await readFile(dynamicConfigFile, 'utf8'));
    expect(settings.get('matching.numTaskqueueReadPartitions')).toBe(1);
    expect(settings.get('matching.numTaskqueueWritePartitions')).toBe(1);
  });

  it('refuses what the reader does not take (a constraint would be lost on the dev server)', () => {
    expect(parseDynamicConfig('# a comment\nkey.one:\n  - value: "x"\nkey.two:\n  - value: true\n')).toEqual(
      new Map<string, unknown>([
        ['key.one', 'x'],
        ['key.two', true],
      ]),
    );
    expect(() => parseDynamicConfig('key:\n  - value: 1\n    constraints:\n      namespace: a\n')).toThrow(/line 3/);
    expect(() => parseDynamicConfig('key:\n')).toThrow(/no value/);
  });
});
