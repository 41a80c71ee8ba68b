import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CartTokens } from '../src/api/tokens';
import { assertApiSecrets, ConfigError, loadConfig } from '../src/config';
import { repoRoot } from '../src/infra';

describe('secrets holdfast generates', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'holdfast-secrets-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const dev = (env: Record<string, string> = {}) =>
    loadConfig({ NODE_ENV: 'development', HOLDFAST_HOME: home, ...env });

  it('in development are generated once and kept in HOLDFAST_HOME/secrets.json (0600): a restart keeps carts valid', async () => {
    const first = dev();
    expect(first.opsTokenSource).toBe('kept');
    expect(first.secretsFile).toBe(path.join(home, 'secrets.json'));
    expect((await stat(first.secretsFile!)).mode & 0o777).toBe(0o600);
    const token = new CartTokens(first.tokenSecret).issue('cart-1');

    const second = dev();
    expect(second.opsToken).toBe(first.opsToken);
    expect(second.tokenSecret).toBe(first.tokenSecret);
    expect(new CartTokens(second.tokenSecret).verify(token)).toBe('cart-1');

    // Another home is another stack with its own secrets.
    const other = await mkdtemp(path.join(os.tmpdir(), 'holdfast-secrets-'));
    try {
      const elsewhere = loadConfig({ NODE_ENV: 'development', HOLDFAST_HOME: other });
      expect(elsewhere.opsToken).not.toBe(first.opsToken);
      expect(new CartTokens(elsewhere.tokenSecret).verify(token)).toBeUndefined();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('processes starting together on a new home all get the first one’s secrets', async () => {
    const run = promisify(execFile);
    const script = "import { loadConfig } from './src/config.ts'; console.log(loadConfig().opsToken);";
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: repoRoot,
          env: { PATH: process.env.PATH, NODE_ENV: 'development', HOLDFAST_HOME: home },
        }),
      ),
    );
    const tokens = new Set(outputs.map((o) => o.stdout.trim()));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).toBe(dev().opsToken);
  });

  it('the environment wins, and nothing is kept when it gives both', () => {
    const config = dev({ HOLDFAST_OPS_TOKEN: 'ops-from-env', HOLDFAST_TOKEN_SECRET: 'secret-from-env' });
    expect(config).toMatchObject({ opsToken: 'ops-from-env', tokenSecret: 'secret-from-env' });
    expect(config.opsTokenSource).toBe('environment');
    expect(existsSync(path.join(home, 'secrets.json'))).toBe(false);

    // One from the environment, the other kept.
    const kept = dev();
    const mixed = dev({ HOLDFAST_OPS_TOKEN: 'ops-from-env' });
    expect(mixed).toMatchObject({ opsToken: 'ops-from-env', tokenSecret: kept.tokenSecret });
  });

  it('outside development are never written; production requires both from the environment', () => {
    for (const NODE_ENV of ['test', 'production']) {
      const config = loadConfig({ NODE_ENV, HOLDFAST_HOME: home });
      expect(config.opsTokenSource).toBe('process');
      expect(config.secretsFile).toBeUndefined();
      expect(loadConfig({ NODE_ENV, HOLDFAST_HOME: home }).tokenSecret).not.toBe(config.tokenSecret);
    }
    expect(existsSync(path.join(home, 'secrets.json'))).toBe(false);

    const production = { NODE_ENV: 'production', HOLDFAST_HOME: home };
    expect(() => assertApiSecrets(loadConfig(production))).toThrow(ConfigError);
    expect(() => assertApiSecrets(loadConfig({ ...production, HOLDFAST_OPS_TOKEN: 'o' }))).toThrow(ConfigError);
    expect(() =>
      assertApiSecrets(loadConfig({ ...production, HOLDFAST_OPS_TOKEN: 'o', HOLDFAST_TOKEN_SECRET: 's' })),
    ).not.toThrow();
  });

  it('a secrets file that is not ours is an error naming it, not silently replaced', async () => {
    await writeFile(path.join(home, 'secrets.json'), '{"opsToken": 1}');
    expect(() => dev()).toThrow(/secrets\.json does not hold holdfast's secrets: delete it/);
  });
});
