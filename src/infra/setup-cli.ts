/**
 * `npm run setup`: installs the pinned Temporal CLI, test server, FerretDB and Toxiproxy builds, and with
 * HOLDFAST_TEMPORAL=cluster the Temporal server build (and checks for PostgreSQL); safe to run again.
 */
import { loadConfig } from '../config';
import { ensureFerretDbBinary } from './ferretdb';
import { findPostgresBinaries } from './postgres';
import { ensureTemporalBinaries } from './temporal';
import { ensureTemporalServerBinaries } from './temporal-cluster';
import { ensureToxiproxyBinary } from './toxiproxy';

async function run() {
  const config = loadConfig();
  const [temporal, ferretdb, toxiproxy] = await Promise.all([
    ensureTemporalBinaries(config.home, config.PATH),
    ensureFerretDbBinary(config.home, config.PATH),
    ensureToxiproxyBinary(config.home, config.PATH),
  ]);
  console.log(`temporal CLI:          ${temporal.cli}`);
  console.log(`temporal test server:  ${temporal.testServer}`);
  console.log(`ferretdb:              ${ferretdb}`);
  console.log(`toxiproxy:             ${toxiproxy}`);
  if (config.HOLDFAST_TEMPORAL === 'cluster') {
    const [server, postgres] = await Promise.all([
      ensureTemporalServerBinaries(config.home, config.PATH),
      findPostgresBinaries(config.PATH),
    ]);
    console.log(`temporal server:       ${server.server}`);
    console.log(`temporal-sql-tool:     ${server.sqlTool}`);
    console.log(`postgres:              ${postgres.postgres}`);
  }
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
