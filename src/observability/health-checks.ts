/**
 * Health checks for `/healthz` (alive: restarting would help otherwise) and `/readyz` (ready: the
 * instance does its work now). Each topology main composes its own list from these or writes one:
 * a check is a name and a function answering `{ ok, detail? }`. Details are shown to whoever asks
 * the endpoint, so they never carry secrets: messages are scrubbed, URLs left out.
 */
import type { HttpSinkHandle } from '../connectors/http-sink.ts';
import type { PollerHealth, PollerState } from '../connectors/rest-poller.ts';
import { redactSecrets } from '../errors/redact.ts';
import type { AppState } from '../runtime/instrumentation.ts';
import type { Transport, TransportAdmin } from '../transport/transport.ts';

export interface CheckResult {
  readonly ok: boolean;
  /** Why it fails (or what it saw); shown in the endpoint's JSON body. */
  readonly detail?: string;
}

export interface HealthCheck {
  readonly name: string;
  check(): CheckResult | Promise<CheckResult>;
  /** Releases what the check holds (a broker connection); the ops server calls it on close. */
  close?(): Promise<void>;
}

/** What the app checks read; `StreamsApp` is one. */
export interface CheckedApp {
  readonly applicationId: string;
  readonly state: AppState;
  readonly error: Error | undefined;
  restorationProgress(): { readonly restored: number; readonly total: number };
}

/** Alive unless the app failed (a supervisor restarts it then). Stopping is alive: shutdown is under way. */
export function appAlive(app: CheckedApp, secrets: readonly string[] = []): HealthCheck {
  return {
    name: `app:${app.applicationId}:alive`,
    check: () => {
      if (app.state !== 'failed') return { ok: true, detail: app.state };
      const reason = app.error === undefined ? 'unknown error' : redactSecrets(app.error.message, secrets);
      return { ok: false, detail: `failed: ${reason}` };
    },
  };
}

/** Ready when the app runs: started, joined its group and every table and store it owns restored. */
export function appReady(app: CheckedApp): HealthCheck {
  return {
    name: `app:${app.applicationId}:ready`,
    check: () => {
      if (app.state === 'running') return { ok: true, detail: 'running' };
      if (app.state === 'restoring') {
        const { restored, total } = app.restorationProgress();
        return { ok: false, detail: `restoring tables: ${restored} of ${total} offsets read` };
      }
      return { ok: false, detail: app.state };
    },
  };
}

export interface BrokerCheckOptions {
  /** A probe answered within this long counts as connected; default 3000 ms. */
  readonly timeoutMs?: number;
  /** Probes closer together than this reuse the last answer, so frequent probing costs the broker nothing; default 5000 ms. */
  readonly cacheMs?: number;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Ready while the broker answers a metadata request (listing topics) through a client of its own,
 * connected on first use and kept open.
 */
export function brokerConnected(transport: Transport, options: BrokerCheckOptions = {}): HealthCheck {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const cacheMs = options.cacheMs ?? 5_000;
  const now = options.now ?? Date.now;
  let admin: TransportAdmin | undefined;
  let connecting: Promise<TransportAdmin> | undefined;
  let last: { at: number; result: CheckResult } | undefined;
  let probing: Promise<CheckResult> | undefined;

  const connected = (): Promise<TransportAdmin> => {
    if (admin !== undefined) return Promise.resolve(admin);
    connecting ??= (async () => {
      const client = transport.admin();
      try {
        await client.connect();
      } catch (error) {
        await client.disconnect().catch(() => undefined);
        throw error;
      }
      admin = client;
      return client;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  const probe = async (): Promise<CheckResult> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, detail: `the broker did not answer within ${timeoutMs} ms` }), timeoutMs);
    });
    const answer = (async (): Promise<CheckResult> => {
      try {
        const topics = await (await connected()).listTopics();
        return { ok: true, detail: `${topics.length} topics` };
      } catch (error) {
        return { ok: false, detail: `the broker did not answer: ${redactSecrets(error instanceof Error ? error.message : String(error))}` };
      }
    })();
    try {
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    name: 'broker',
    check: () => {
      if (last !== undefined && now() - last.at < cacheMs) return last.result;
      probing ??= probe().then((result) => {
        last = { at: now(), result };
        probing = undefined;
        return result;
      });
      return probing;
    },
    close: async () => {
      const client = admin ?? (await connecting?.catch(() => undefined));
      admin = undefined;
      await client?.disconnect().catch(() => undefined);
    },
  };
}

/** Ready while the HTTP sink's circuit is closed (an open or half-open one means its endpoint fails). */
export function httpCircuitClosed(sink: HttpSinkHandle): HealthCheck {
  return {
    name: `http:${sink.name}:circuit`,
    check: () => {
      const { circuit, waitingForCircuit } = sink.stats();
      return circuit === 'closed' ? { ok: true, detail: 'closed' } : { ok: false, detail: `circuit ${circuit}, ${waitingForCircuit} calls waiting` };
    },
  };
}

/** What the poller checks read; `RestPoller` is one. */
export interface CheckedPoller {
  readonly name: string;
  readonly state: PollerState;
  health(): PollerHealth;
}

/** Alive unless the poller failed for good. */
export function pollerAlive(poller: CheckedPoller): HealthCheck {
  return {
    name: `poller:${poller.name}:alive`,
    check: () => (poller.state === 'failed' ? { ok: false, detail: poller.health().reason ?? 'failed' } : { ok: true, detail: poller.state }),
  };
}

/**
 * Ready while the poller polls (or backs off from a transient error): its key was accepted and no
 * other instance fenced it. `unauthorized`, `fenced`, `failed`, and not yet started, are not ready.
 */
export function pollerReady(poller: CheckedPoller): HealthCheck {
  return {
    name: `poller:${poller.name}:ready`,
    check: () => {
      const ok = poller.state === 'polling' || poller.state === 'backing-off';
      return ok ? { ok, detail: poller.state } : { ok, detail: poller.health().reason ?? poller.state };
    },
  };
}

/** A check from a function: `true`, or a string saying what is wrong. Thrown errors fail it, scrubbed. */
export function check(name: string, run: () => boolean | string | Promise<boolean | string>): HealthCheck {
  return {
    name,
    check: async () => {
      const outcome = await run();
      return outcome === true ? { ok: true } : { ok: false, detail: typeof outcome === 'string' ? outcome : 'failed' };
    },
  };
}
