import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { homePaths, versions } from './paths';
import { freePorts, run, SetupError, startProcess, waitForPort, which, type ManagedProcess } from './process';

const toxiproxyModule = 'github.com/Shopify/toxiproxy/v2';

/**
 * Builds the Toxiproxy server (Go module github.com/Shopify/toxiproxy/v2 at `versions.toxiproxy`) into
 * HOLDFAST_HOME/bin once; a changed pin rebuilds. Returns the binary's path.
 */
export async function ensureToxiproxyBinary(home: string, searchPath: string): Promise<string> {
  const { bin } = homePaths(home);
  const binary = path.join(bin, 'toxiproxy-server');
  const stamp = `${binary}.version`;
  const wanted = versions.toxiproxy;
  if (existsSync(binary) && existsSync(stamp) && (await readFile(stamp, 'utf8')) === wanted) return binary;

  const go = await which('go', searchPath);
  if (!go)
    throw new SetupError('holdfast needs Go >= 1.24 to build Toxiproxy (the network faults of chaos and tests).');
  const buildDir = path.resolve(home, 'build', 'toxiproxy');
  await rm(buildDir, { recursive: true, force: true });
  await mkdir(buildDir, { recursive: true });
  await mkdir(bin, { recursive: true });
  await run(go, ['install', '-trimpath', `${toxiproxyModule}/cmd/server@${wanted}`], {
    cwd: buildDir,
    env: { ...process.env, GOBIN: buildDir },
  });
  await rename(path.join(buildDir, 'server'), binary);
  await rm(buildDir, { recursive: true, force: true });
  await writeFile(stamp, wanted);
  return binary;
}

/** How a cut-off link fails: packets vanish (callers wait for their own timeouts), or every connection is reset. */
export type CutOff = 'blackhole' | 'reset';

/**
 * A Toxiproxy server holdfast started, and the faults it puts on its proxies, by proxy name. Every fault is a
 * set of named toxics (applied to live connections too) that `heal` removes.
 */
export class Toxiproxies {
  private readonly client: Toxiproxy;
  private readonly proxies = new Map<string, Proxy>();

  private constructor(
    readonly process: ManagedProcess,
    readonly apiUrl: string,
  ) {
    this.client = new Toxiproxy(apiUrl);
  }

  /** Starts `toxiproxy-server` on a free port of 127.0.0.1 (its HTTP API) and waits for it. */
  static async start(options: { binary: string; logFile: string }): Promise<Toxiproxies> {
    const [port] = (await freePorts(1)) as [number];
    const proc = startProcess(
      'toxiproxy',
      options.binary,
      ['-host', '127.0.0.1', '-port', String(port)],
      options.logFile,
    );
    try {
      await waitForPort(proc, '127.0.0.1', port);
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return new Toxiproxies(proc, `http://127.0.0.1:${port}`);
  }

  /** A proxy named `name` from a free port of 127.0.0.1 to `upstream` (host:port); resolves to its host:port. */
  async proxy(name: string, upstream: string): Promise<string> {
    const [port] = (await freePorts(1)) as [number];
    const listen = `127.0.0.1:${port}`;
    this.proxies.set(name, await this.client.createProxy({ name, listen, upstream }));
    return listen;
  }

  /**
   * Every reply on the link is late by latency ± jitter ms; `upstream`: every request instead, so a write reaches
   * the server that late (or at once when healed: Toxiproxy lets what it holds through, it drops nothing).
   */
  async latency(
    name: string,
    latency: number,
    jitter: number,
    stream: 'upstream' | 'downstream' = 'downstream',
  ): Promise<void> {
    await this.add(name, `latency-${stream}`, stream, { latency, jitter });
  }

  /** Cuts the link off both ways, until `heal`. */
  async cutOff(name: string, how: CutOff): Promise<void> {
    await this.heal(name);
    for (const stream of ['upstream', 'downstream'] as const) {
      if (how === 'blackhole') await this.add(name, `cut-${stream}`, stream, { timeout: 0 }, 'timeout');
      else await this.add(name, `cut-${stream}`, stream, { timeout: 0 }, 'reset_peer');
    }
  }

  /** Resets every connection that sends on the link for `ms` (requests in flight die mid-write). */
  async resetFor(name: string, ms: number): Promise<void> {
    await this.add(name, 'reset', 'upstream', { timeout: 0 }, 'reset_peer');
    await new Promise((resolve) => setTimeout(resolve, ms));
    await this.heal(name);
  }

  /**
   * Closes every connection of the link and accepts no new one until `enable`: unlike a cut-off, the server on the
   * other side sees its connections end at once (Temporal drops the long polls of a worker so cut off).
   */
  async disable(name: string): Promise<void> {
    await this.setEnabled(name, false);
  }

  /** Accepts connections on the link again, on the same port. */
  async enable(name: string): Promise<void> {
    await this.setEnabled(name, true);
  }

  /** Removes every fault of the link. */
  async heal(name: string): Promise<void> {
    const toxics = `${this.named(name).getPath()}/toxics`;
    const { data } = await this.client.getApi().get<{ name: string }[]>(toxics);
    for (const toxic of data) await this.client.getApi().delete(`${toxics}/${toxic.name}`);
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }

  private async add(
    name: string,
    toxic: string,
    stream: 'upstream' | 'downstream',
    attributes: Record<string, number>,
    type: 'latency' | 'timeout' | 'reset_peer' = 'latency',
  ): Promise<void> {
    await this.named(name).addToxic({ name: toxic, type, stream, toxicity: 1, attributes });
  }

  private async setEnabled(name: string, enabled: boolean): Promise<void> {
    const { listen, upstream } = this.named(name);
    this.proxies.set(name, await this.named(name).update({ enabled, listen, upstream }));
  }

  private named(name: string): Proxy {
    const proxy = this.proxies.get(name);
    if (!proxy) throw new Error(`no proxy named ${name}`);
    return proxy;
  }
}
