import { ProductView as productViewSchema, StockState as stateSchema } from '../contract/http';
import { eventTypes, type EventType } from '../contract/events';
import type { Config } from '../config';
import type { ApiClient, ProductView, ReorderAction } from './api-client';
import { globalOptions, oneOf, required, UsageError, wholeNumber, type OptionName, type Options } from './args';
import { fields, price, table } from './output';
import { resetCommand } from './reset';
import { seedCommand } from './seed';

/** What a command prints: `data` with --json, `text` otherwise. */
export interface Outcome {
  readonly data: unknown;
  readonly text: string;
  readonly exitCode?: number;
}

interface CommandBase {
  /** The words that name it: `['backorders', 'move']`. */
  readonly words: readonly string[];
  /** Its arguments and options as the help shows them. */
  readonly usage: string;
  readonly summary: string;
  /** Positional argument names; a last name ending in "..." takes any number, including none. */
  readonly params: readonly string[];
  readonly options?: readonly OptionName[];
}

/** A command that is a client of the HTTP API: almost all of them. */
export interface ApiCommand extends CommandBase {
  readonly local?: undefined;
  /** A write: sent with an Idempotency-Key (`--idempotency-key K`, or a new one), printed so it can be retried. */
  readonly writes?: true;
  run(client: ApiClient, args: readonly string[], options: Options): Promise<Outcome>;
}

/** A command on the local stack itself, with no API to ask (reset). */
export interface LocalCommand extends CommandBase {
  readonly local: true;
  readonly writes?: undefined;
  run(config: Readonly<Config>, args: readonly string[], options: Options): Promise<Outcome>;
}

export type Command = ApiCommand | LocalCommand;

const policies = productViewSchema.properties.policy.enum;
const states = stateSchema.enum;

function optionalNumber(options: Options, name: OptionName): number | undefined {
  const value = options[name];
  return typeof value === 'string' ? wholeNumber(value, `--${name}`) : undefined;
}

function productRow(p: ProductView) {
  return {
    sku: p.sku,
    name: p.name,
    price: price(p.priceCents),
    policy: p.policy,
    available: p.available,
    reserved: p.reserved,
    sold: p.sold,
    backordered: p.backordered,
    incoming: p.incoming,
  };
}

function productDetails(p: ProductView): string {
  const { returned = 0, repair = 0, damaged = 0 } = p.nonSellable;
  return fields({
    ...productRow(p),
    'non-sellable': `returned ${returned}, repair ${repair}, damaged ${damaged}`,
    'low stock at': p.lowStockThreshold,
    'reorder quantity': p.reorderQuantity,
    buckets: p.buckets,
    'waiting room': p.admitPerSecond === undefined ? 'none' : `${p.admitPerSecond} shoppers/s`,
    ...(p.maxPerCustomer !== undefined ? { 'max per customer': p.maxPerCustomer } : {}),
    ...(p.offerSeconds !== undefined
      ? { waitlist: `offers held ${p.offerSeconds} s, ${p.waitlisted ?? 0} waiting` }
      : {}),
  });
}

function reorderDecision(action: ReorderAction, option: OptionName, summary: string): Command {
  return {
    words: ['reorders', action],
    usage: `SKU [--${option} ${option === 'reason' ? 'TEXT' : 'N'}]`,
    summary,
    params: ['SKU'],
    options: [option],
    writes: true,
    async run(client, [sku], options) {
      const body = option === 'reason' ? { reason: options.reason } : { quantity: optionalNumber(options, 'quantity') };
      const state = await client.decideReorder(action, sku!, body);
      return { data: state, text: fields({ ...state }) };
    },
  };
}

export const commands: readonly Command[] = [
  seedCommand,
  {
    words: ['product', 'create'],
    usage:
      '--sku SKU --name NAME --price-cents N --quantity N --policy strict|backorder [--buckets N] [--low-stock N] [--reorder N] [--max-per-customer N] [--admit-per-second N] [--offer-seconds N]',
    summary: 'create a product and receive its initial stock',
    writes: true,
    params: [],
    options: [
      'sku',
      'name',
      'price-cents',
      'quantity',
      'policy',
      'buckets',
      'low-stock',
      'reorder',
      'admit-per-second',
      'max-per-customer',
      'offer-seconds',
    ],
    async run(client, _args, options) {
      const product = await client.createProduct({
        sku: required(options, 'sku'),
        name: required(options, 'name'),
        priceCents: wholeNumber(required(options, 'price-cents'), '--price-cents'),
        quantity: wholeNumber(required(options, 'quantity'), '--quantity'),
        policy: oneOf(required(options, 'policy'), policies, '--policy'),
        buckets: optionalNumber(options, 'buckets'),
        lowStockThreshold: optionalNumber(options, 'low-stock'),
        reorderQuantity: optionalNumber(options, 'reorder'),
        admitPerSecond: optionalNumber(options, 'admit-per-second'),
        maxPerCustomer: optionalNumber(options, 'max-per-customer'),
        offerSeconds: optionalNumber(options, 'offer-seconds'),
      });
      return { data: product, text: `created ${product.sku}\n${productDetails(product)}` };
    },
  },
  {
    words: ['product', 'list'],
    usage: '',
    summary: 'every product with live stock',
    params: [],
    async run(client) {
      const { products } = await client.listProducts();
      return { data: products, text: table(products.map(productRow), 'no products') };
    },
  },
  {
    words: ['product', 'show'],
    usage: 'SKU',
    summary: 'one product with live stock',
    params: ['SKU'],
    async run(client, [sku]) {
      const product = await client.product(sku!);
      return { data: product, text: productDetails(product) };
    },
  },
  {
    words: ['restock'],
    usage: 'SKU QUANTITY',
    summary: 'receive new units (backorder products fill waiting backorders first)',
    writes: true,
    params: ['SKU', 'QUANTITY'],
    async run(client, [sku, quantity]) {
      const result = await client.restock(sku!, wholeNumber(quantity!, 'QUANTITY'));
      return { data: result, text: `restocked ${result.sku}: +${result.quantity} (operation ${result.opId})` };
    },
  },
  {
    words: ['move'],
    usage: 'SKU QUANTITY FROM TO',
    summary: `move units between states (${states.join(', ')})`,
    writes: true,
    params: ['SKU', 'QUANTITY', 'FROM', 'TO'],
    async run(client, [sku, quantity, from, to]) {
      const result = await client.move(
        sku!,
        wholeNumber(quantity!, 'QUANTITY'),
        oneOf(from!, states, 'FROM'),
        oneOf(to!, states, 'TO'),
      );
      return {
        data: result,
        text: `moved ${result.quantity} of ${result.sku} from ${result.from} to ${result.to}`,
      };
    },
  },
  {
    words: ['backorders', 'list'],
    usage: 'SKU',
    summary: 'waiting backorders in fill order (position 0 fills first)',
    params: ['SKU'],
    async run(client, [sku]) {
      const queue = await client.backorders(sku!);
      const rows = queue.waiting.map((entry, position) => ({ position, ...entry }));
      const waiting = table(rows, `no backorders waiting for ${queue.sku}`);
      return { data: queue, text: `${waiting}\nfilled so far: ${queue.filled}` };
    },
  },
  {
    words: ['backorders', 'cancel'],
    usage: 'SKU HOLD_ID',
    summary: 'cancel a waiting backorder',
    writes: true,
    params: ['SKU', 'HOLD_ID'],
    async run(client, [sku, holdId]) {
      const result = await client.cancelBackorder(sku!, holdId!);
      return { data: result, text: `${result.holdId}: ${result.status}` };
    },
  },
  {
    words: ['backorders', 'move'],
    usage: 'SKU HOLD_ID POSITION',
    summary: 'move a waiting backorder in the queue (0 = first)',
    writes: true,
    params: ['SKU', 'HOLD_ID', 'POSITION'],
    async run(client, [sku, holdId, position]) {
      const result = await client.moveBackorder(sku!, holdId!, wholeNumber(position!, 'POSITION'));
      return { data: result, text: `${result.holdId} is now at position ${result.position} for ${result.sku}` };
    },
  },
  {
    words: ['reorders', 'list'],
    usage: '',
    summary: 'open reorders awaiting a decision or delivery',
    params: [],
    async run(client) {
      const { reorders } = await client.reorders();
      const rows = reorders.map((r) => ({
        sku: r.sku,
        status: r.status,
        quantity: r.quantity,
        'available at request': r.availableAtRequest,
        'decided by': r.decidedBy,
        'purchase order': r.purchaseOrderId,
        run: r.runUrl,
      }));
      return { data: reorders, text: table(rows, 'no open reorders') };
    },
  },
  reorderDecision('approve', 'quantity', 'approve a reorder, optionally for another quantity'),
  reorderDecision('reject', 'reason', 'reject a reorder'),
  reorderDecision('receive', 'quantity', 'receive an approved reorder, optionally a different quantity'),
  {
    words: ['webhooks', 'list'],
    usage: '',
    summary: 'webhook endpoints: where the domain events go',
    params: [],
    async run(client) {
      const { endpoints } = await client.webhooks();
      const rows = endpoints.map((e) => ({
        id: e.id,
        url: e.url,
        events: e.events.join(','),
        'max age s': e.maxAgeSeconds,
        created: e.createdAt,
        run: e.runUrl,
      }));
      return { data: endpoints, text: table(rows, 'no webhook endpoints') };
    },
  },
  {
    words: ['webhooks', 'add'],
    usage: 'URL --events TYPE[,TYPE...]|* [--secret S] [--max-age SECONDS]',
    summary: `register a webhook endpoint (events: ${eventTypes.join(', ')}, or * for all); prints its secret once`,
    writes: true,
    params: ['URL'],
    options: ['events', 'secret', 'max-age'],
    async run(client, [url], options) {
      const events = required(options, 'events')
        .split(',')
        .map((t) => oneOf(t.trim(), [...eventTypes, '*'] as (EventType | '*')[], '--events'));
      const secret = typeof options.secret === 'string' ? options.secret : undefined;
      const maxAgeSeconds = optionalNumber(options, 'max-age');
      const e = await client.addWebhook({
        url: url!,
        events,
        ...(secret ? { secret } : {}),
        ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
      });
      return {
        data: e,
        text: fields({
          id: e.id,
          url: e.url,
          events: e.events.join(','),
          secret: e.secret,
          'max age s': e.maxAgeSeconds,
        }),
      };
    },
  },
  {
    words: ['webhooks', 'remove'],
    usage: 'ID',
    summary: 'remove a webhook endpoint: nothing more is sent to it',
    writes: true,
    params: ['ID'],
    async run(client, [id]) {
      await client.removeWebhook(id!);
      return { data: { id, removed: true }, text: `${id}: removed` };
    },
  },
  {
    words: ['webhooks', 'deliveries'],
    usage: 'ID',
    summary: "an endpoint's latest deliveries: status, attempts, last error",
    params: ['ID'],
    async run(client, [id]) {
      const { deliveries } = await client.webhookDeliveries(id!);
      const rows = deliveries.map((d) => ({
        event: d.eventId,
        status: d.status,
        attempts: d.attempts,
        'last status': d.lastStatusCode,
        'last error': d.lastError,
        updated: d.updatedAt,
      }));
      return { data: deliveries, text: table(rows, 'no deliveries yet') };
    },
  },
  {
    words: ['webhooks', 'redeliver'],
    usage: 'ID EVENT_ID',
    summary: 'send an event to an endpoint again, even if it was delivered or given up',
    writes: true,
    params: ['ID', 'EVENT_ID'],
    async run(client, [id, eventId]) {
      const result = await client.redeliverWebhook(id!, eventId!);
      return { data: result, text: `${eventId}: queued for ${id}` };
    },
  },
  {
    words: ['verify'],
    usage: '[SKU...]',
    summary: 'replay the ledgers of these SKUs (default: all) and check every invariant',
    params: ['SKU...'],
    async run(client, args) {
      const skus = args.length > 0 ? args : (await client.listProducts()).products.map((p) => p.sku);
      const reports = [];
      // One at a time: each check replays whole ledgers, and ops should not load the shards all at once.
      for (const sku of skus) reports.push(await client.invariants(sku));
      const failed = reports.filter((r) => !r.ok);
      const lines = reports.flatMap((r) =>
        r.ok
          ? [`ok    ${r.sku}  (${r.entries} ledger entries, ${r.openHolds} open holds, ${r.inTransit} in transit)`]
          : [`FAIL  ${r.sku}`, ...r.violations.map((v) => `        ${v}`)],
      );
      lines.push(
        reports.length === 0 ? 'no products to verify' : `${reports.length} checked, ${failed.length} with violations`,
      );
      return { data: reports, text: lines.join('\n'), exitCode: failed.length > 0 ? 1 : 0 };
    },
  },
  {
    words: ['check'],
    usage: '',
    summary: 'check the whole system: ledgers, cart lines, orders and charges',
    params: [],
    async run(client) {
      const report = await client.check();
      const { violations, counts } = report;
      const total = (byStatus: Readonly<Record<string, number>>) => Object.values(byStatus).reduce((a, b) => a + b, 0);
      const lines = [
        ...violations.map((v) => `FAIL  ${v}`),
        violations.length === 0
          ? 'no violations'
          : `${violations.length} violation${violations.length === 1 ? '' : 's'}`,
        `checked ${report.stock.length} SKUs, ${total(counts.lines)} cart lines, ${total(counts.orders)} orders, ` +
          `${counts.charges} charges, ${counts.refunds} refunds`,
      ];
      return { data: report, text: lines.join('\n'), exitCode: violations.length > 0 ? 1 : 0 };
    },
  },
  resetCommand,
];

/** The command the positionals name, and the arguments after its words. */
export function findCommand(positionals: readonly string[]): { command: Command; args: readonly string[] } {
  const command = commands.find((c) => c.words.every((word, i) => positionals[i] === word));
  if (command) return { command, args: positionals.slice(command.words.length) };
  const group = commands.filter((c) => c.words.length > 1 && c.words[0] === positionals[0]);
  if (group.length > 0) {
    const choices = group.map((c) => c.words[1]).join(', ');
    throw new UsageError(`${positionals[0]} needs one of: ${choices}`);
  }
  throw new UsageError(`unknown command "${positionals[0]}"`);
}

/** Throws a UsageError unless the arguments fit the command's params and every option is one it takes. */
export function checkArguments(command: Command, args: readonly string[], options: Options) {
  const variadic = command.params.at(-1)?.endsWith('...') ?? false;
  const min = variadic ? command.params.length - 1 : command.params.length;
  if (args.length < min) throw new UsageError(`missing ${command.params.slice(args.length).join(' ')}`);
  if (!variadic && args.length > min) throw new UsageError(`unexpected argument "${args[min]}"`);
  for (const name of Object.keys(options) as OptionName[]) {
    const taken =
      globalOptions.includes(name) || command.options?.includes(name) || (name === 'idempotency-key' && command.writes);
    if (!taken) {
      throw new UsageError(`${command.words.join(' ')} does not take --${name}`);
    }
  }
}

export function commandUsage(command: Command): string {
  return ['holdfast', ...command.words, command.usage].filter((part) => part !== '').join(' ');
}
