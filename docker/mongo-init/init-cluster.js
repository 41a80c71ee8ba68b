/* global EJSON, MinKey, Mongo, print, process, require, sleep */
// Bootstraps holdfast's sharded MongoDB cluster for docker-compose.yml. Run by the one-shot `mongo-init` service:
//
//   mongosh --nodb --quiet --file /docker/mongo-init/init-cluster.js
//
// 1. initiates the config server replica set and both shard replica sets (one member each) and waits for a primary;
// 2. registers both shards with the mongos router;
// 3. enables sharding on the stock and carts databases and shards their collections.
//
// Every step checks what is already there first, so the script is safe to re-run against a cluster that is
// (partly) set up: `docker compose up` runs it on every start.

const env = (name, fallback) => process.env[name] || fallback;

const TIMEOUT_MS = Number(env('MONGO_INIT_TIMEOUT_MS', '180000'));
const STOCK_DB = env('STOCK_DB', 'holdfast_stock');
const CARTS_DB = env('CARTS_DB', 'holdfast_carts');

const CONFIG_RS = { name: 'cfgrs', host: env('MONGO_CONFIG_HOST', 'cfg:27019'), configsvr: true };
const SHARD_RSS = [
  { name: 'shard1rs', host: env('MONGO_SHARD1_HOST', 'shard1:27018') },
  { name: 'shard2rs', host: env('MONGO_SHARD2_HOST', 'shard2:27018') },
];
const MONGOS_HOST = env('MONGO_MONGOS_HOST', 'mongos:27017');

// Shard keys: the one table, src/db/shard-keys.json (mounted here by docker-compose.yml), which holdfast's code
// reads too (its filters carry these keys; a test checks every one). The ledger is range-sharded on
// { slot, bucketId } so that all of one bucket's entries live on one shard: the per-bucket compare-and-append (and
// its unique index, which a sharded cluster only allows when the shard key is its prefix) stays a single-shard
// operation. `slot` is the bucket's placement slot (a SKU's buckets are in consecutive slots), and the ledger's
// slots are zoned round-robin over the shards before it is sharded, so MongoDB creates its chunks on the zones'
// shards at once: a hot SKU's buckets are written on every shard from the first sale, without waiting for chunk
// splits and migrations that a SKU's few, small buckets would never trigger. The rest are spread by hashed _id, or
// by the id they are always read by. cart_lines' key index has the app's own index name
// (src/db/schema.ts), so the app's createIndex is then a no-op.
// mongosh runs this file as a CommonJS script: require is how it reads a file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SHARD_KEYS = JSON.parse(require('fs').readFileSync(env('SHARD_KEYS_FILE', '/docker/shard-keys.json'), 'utf8'));
const DATABASES = { stock: STOCK_DB, carts: CARTS_DB };
const SHARDED_COLLECTIONS = SHARD_KEYS.collections.map((c) => ({
  ns: `${DATABASES[c.db]}.${c.collection}`,
  key: c.key,
  indexName: c.indexName,
}));

const deadline = Date.now() + TIMEOUT_MS;

function log(message) {
  print(`[mongo-init] ${message}`);
}

function errorText(e) {
  return e && e.message ? e.message : String(e);
}

/** Calls fn until it returns a truthy value, retrying (also on errors) until the overall deadline. */
function waitFor(what, fn) {
  let lastError = 'not ready';
  for (let attempt = 1; ; attempt++) {
    try {
      const value = fn();
      if (value) return value;
    } catch (e) {
      lastError = errorText(e);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${lastError}`);
    if (attempt % 5 === 1) log(`waiting for ${what} (${lastError})`);
    sleep(2000);
  }
}

/** The admin database of one mongod/mongos, addressed directly (no replica set discovery). */
function adminDb(host) {
  return waitFor(`${host} to answer ping`, () => {
    const admin = new Mongo(`mongodb://${host}/?directConnection=true&serverSelectionTimeoutMS=3000`).getDB('admin');
    admin.runCommand({ ping: 1 });
    return admin;
  });
}

function isCode(e, code, codeName) {
  return e && (e.code === code || e.codeName === codeName);
}

function initiateReplicaSet({ name, host, configsvr }) {
  const admin = adminDb(host);
  const config = { _id: name, members: [{ _id: 0, host }] };
  if (configsvr) config.configsvr = true;
  try {
    admin.runCommand({ replSetInitiate: config });
    log(`${name}: initiated with member ${host}`);
  } catch (e) {
    if (!isCode(e, 23, 'AlreadyInitialized')) throw e;
    log(`${name}: already initialized`);
  }
  waitFor(`${name} to elect a primary`, () => admin.runCommand({ hello: 1 }).isWritablePrimary === true);
  log(`${name}: primary is up`);
}

function addShard(admin, { name, host }) {
  const present = admin.runCommand({ listShards: 1 }).shards.some((s) => s._id === name);
  if (present) {
    log(`shard ${name}: already added`);
    return;
  }
  waitFor(`mongos to add shard ${name}`, () => admin.runCommand({ addShard: `${name}/${host}`, name }).ok);
  log(`shard ${name}: added (${name}/${host})`);
}

/** Compares key patterns field by field; values via String() so 1, 1.0, Int32(1) and Long(1) all match. */
function sameKey(a, b) {
  const fa = Object.keys(a);
  const fb = Object.keys(b);
  return fa.length === fb.length && fa.every((f, i) => f === fb[i] && String(a[f]) === String(b[f]));
}

/**
 * Zones for the ledger's placement slots, slot s on shard s mod n: defined before the collection is sharded (MongoDB
 * allows that since 4.0.2), so that sharding the empty collection creates a chunk per zone range on its shard.
 * A range already there is left alone, so a re-run changes nothing.
 */
function zoneLedgerSlots(admin, ns, slots) {
  const zoneOf = (s) => `ledger-${s % SHARD_RSS.length}`;
  for (let k = 0; k < SHARD_RSS.length; k++) {
    admin.runCommand({ addShardToZone: SHARD_RSS[k].name, zone: zoneOf(k) });
  }
  const tags = admin.getSiblingDB('config').getCollection('tags');
  for (let s = 0; s < slots; s++) {
    if (tags.findOne({ ns, 'min.slot': s })) continue;
    admin.runCommand({
      updateZoneKeyRange: ns,
      min: { slot: s, bucketId: MinKey() },
      max: { slot: s + 1, bucketId: MinKey() },
      zone: zoneOf(s),
    });
  }
  log(`${ns}: ${slots} placement slots zoned over ${SHARD_RSS.length} shards`);
}

function shardCollection(admin, { ns, key, indexName }) {
  const existing = admin.getSiblingDB('config').getCollection('collections').findOne({ _id: ns });
  if (existing && existing.key && !existing.unsplittable) {
    if (!sameKey(existing.key, key)) {
      throw new Error(
        `${ns} is already sharded on ${EJSON.stringify(existing.key)}, expected ${JSON.stringify(key)} ` +
          '(a cluster set up by an older holdfast: reshardCollection it to the new key, or start from empty volumes)',
      );
    }
    log(`${ns}: already sharded on ${JSON.stringify(key)}`);
    return;
  }
  // An empty collection gets its shard key index from shardCollection; a non-empty one must have it already.
  const [dbName, ...rest] = ns.split('.');
  const collName = rest.join('.');
  if (!sameKey(key, { _id: 1 })) {
    try {
      admin
        .getSiblingDB(dbName)
        .runCommand({ createIndexes: collName, indexes: [{ key, name: indexName || shardKeyIndexName(key) }] });
    } catch (e) {
      // 85/86: an index on these keys already exists under another name or with other options; it still serves.
      if (!isCode(e, 85, 'IndexOptionsConflict') && !isCode(e, 86, 'IndexKeySpecsConflict')) throw e;
    }
  }
  try {
    admin.runCommand({ shardCollection: ns, key });
    log(`${ns}: sharded on ${JSON.stringify(key)}`);
  } catch (e) {
    if (!isCode(e, 23, 'AlreadyInitialized')) throw e;
    log(`${ns}: already sharded (${errorText(e)})`);
  }
}

function shardKeyIndexName(key) {
  return Object.entries(key)
    .map(([field, kind]) => `${field}_${kind}`)
    .join('_');
}

// 1. Replica sets: the config servers first, since mongos cannot serve anything until they have a primary.
// (Plain for-loops throughout: mongosh awaits shell calls in user code, not inside Array.prototype callbacks.)
initiateReplicaSet(CONFIG_RS);
for (const rs of SHARD_RSS) initiateReplicaSet(rs);

// 2. Shards, through the router.
const mongos = adminDb(MONGOS_HOST);
for (const rs of SHARD_RSS) addShard(mongos, rs);

// 3. Databases and collections. enableSharding is implicit since MongoDB 6.0 but harmless and explicit here.
for (const dbName of [STOCK_DB, CARTS_DB]) {
  mongos.runCommand({ enableSharding: dbName });
  log(`${dbName}: sharding enabled`);
}
for (const c of SHARDED_COLLECTIONS) {
  if (c.key.slot !== undefined) zoneLedgerSlots(mongos, c.ns, SHARD_KEYS.ledgerSlots);
  shardCollection(mongos, c);
}

log('cluster ready');
