import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json lives), wherever the process was started from. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Pinned versions of the servers holdfast installs for itself. */
export const versions = {
  temporalCli: '1.9.1',
  temporalTestServer: '1.40.0',
  ferretdb: 'v1.24.2',
  /** The Go module go.temporal.io/server: the multi-service cluster (`HOLDFAST_TEMPORAL=cluster`); compose pins it too. */
  temporalServer: 'v1.29.1',
  /** The Go module github.com/Shopify/toxiproxy/v2: network faults between holdfast and its servers (chaos, tests). */
  toxiproxy: 'v2.5.0',
} as const;

export interface HomePaths {
  readonly home: string;
  readonly bin: string;
  readonly venv: string;
  readonly data: string;
  readonly logs: string;
}

export function homePaths(home: string): HomePaths {
  return {
    home,
    bin: path.join(home, 'bin'),
    venv: path.join(home, 'venv'),
    data: path.join(home, 'data'),
    logs: path.join(home, 'logs'),
  };
}
