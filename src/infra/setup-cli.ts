/** `npm run setup`: installs the pinned Temporal CLI, test server and FerretDB build; safe to run again. */
import { loadConfig } from '../config';
import { ensureFerretDbBinary } from './ferretdb';
import { ensureTemporalBinaries } from './temporal';

async function run() {
  const config = loadConfig();
  const [temporal, ferretdb] = await Promise.all([
    ensureTemporalBinaries(config.home, config.PATH),
    ensureFerretDbBinary(config.home, config.PATH),
  ]);
  console.log(`temporal CLI:          ${temporal.cli}`);
  console.log(`temporal test server:  ${temporal.testServer}`);
  console.log(`ferretdb:              ${ferretdb}`);
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
