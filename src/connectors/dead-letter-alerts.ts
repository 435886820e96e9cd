/**
 * Tells a Slack-compatible webhook (`POST { text }`) when dead letters cross a rate: at least
 * `threshold` dead-lettered records within the last `windowMs`. At most one alert per
 * `minIntervalMs`, so a flood of bad records sends one message, not thousands. The message holds
 * counts and reasons only: no payloads, no personal data, no secrets.
 */
import axios, { type AxiosInstance } from 'axios';
import { ConfigError, toError } from '../errors/streams-error.ts';
import { redactSecrets } from '../errors/redact.ts';
import type { Logger } from '../runtime/logger.ts';

export interface DeadLetterAlertOptions {
  /** The webhook; it may hold a token in its path, so it is never logged. */
  readonly webhookUrl: string;
  /** Names the source in the message, e.g. `openclaw-ingest`. */
  readonly source: string;
  /** The dead-letter topic, named in the message. */
  readonly deadLetterTopic: string;
  /** Dead letters within `windowMs` that trigger an alert; default 10. */
  readonly threshold?: number;
  /** Default 60000. */
  readonly windowMs?: number;
  /** Least time between two alerts; default 600000 (10 min). */
  readonly minIntervalMs?: number;
  readonly timeoutMs?: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class DeadLetterAlerts {
  private readonly events: Array<{ readonly at: number; readonly reason: string }> = [];
  private totalInWindow: Array<{ readonly at: number; readonly count: number }> = [];
  private lastAlertAt: number | undefined;
  private sending: Promise<void> = Promise.resolve();
  private readonly http: AxiosInstance;
  private readonly now: () => number;
  private sentCount = 0;

  constructor(private readonly options: DeadLetterAlertOptions) {
    try {
      new URL(options.webhookUrl);
    } catch {
      throw new ConfigError('ALERT_WEBHOOK_URL is not a URL (e.g. https://hooks.slack.com/services/...)');
    }
    for (const [name, value] of [['threshold', options.threshold], ['windowMs', options.windowMs], ['minIntervalMs', options.minIntervalMs]] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new ConfigError(`dead-letter alerts: ${name} must be a whole number > 0 (got ${value})`);
    }
    this.http = axios.create({ timeout: options.timeoutMs ?? 5_000 });
    this.now = options.now ?? Date.now;
  }

  /** Alerts sent so far. */
  get sent(): number {
    return this.sentCount;
  }

  /** Counts `total` records just handled, with the reasons of those dead-lettered among them. */
  record(total: number, deadLetterReasons: readonly string[]): void {
    const at = this.now();
    for (const reason of deadLetterReasons) this.events.push({ at, reason });
    this.totalInWindow.push({ at, count: total });
    const windowMs = this.options.windowMs ?? 60_000;
    while (this.events.length > 0 && (this.events[0] as { at: number }).at <= at - windowMs) this.events.shift();
    this.totalInWindow = this.totalInWindow.filter((entry) => entry.at > at - windowMs);
    if (this.events.length < (this.options.threshold ?? 10)) return;
    if (this.lastAlertAt !== undefined && at - this.lastAlertAt < (this.options.minIntervalMs ?? 600_000)) return;
    this.lastAlertAt = at;
    const text = this.message(windowMs);
    this.sending = this.sending.then(() => this.send(text));
  }

  /** Resolves once alerts started so far were sent (or failed). */
  flush(): Promise<void> {
    return this.sending;
  }

  private message(windowMs: number): string {
    const counts = new Map<string, number>();
    // Only the part of a reason before the first ':' or number names its kind; values stay out of the message.
    for (const { reason } of this.events) {
      const kind = reason.split(':')[0]?.trim() || 'other';
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([kind, count]) => `${kind} ×${count}`).join(', ');
    const total = this.totalInWindow.reduce((sum, entry) => sum + entry.count, 0);
    return `${this.options.source}: ${this.events.length} of ${total} records in the last ${Math.round(windowMs / 1000)} s were dead-lettered to ${this.options.deadLetterTopic} (by field: ${top}).`;
  }

  private async send(text: string): Promise<void> {
    try {
      const response = await this.http.post(this.options.webhookUrl, { text }, { validateStatus: () => true });
      if (response.status >= 200 && response.status < 300) {
        this.sentCount += 1;
        this.options.logger.warn({ text }, 'dead-letter alert sent');
      } else this.options.logger.warn({ status: response.status }, 'the alert webhook refused the alert');
    } catch (error) {
      this.options.logger.warn({ error: redactSecrets(toError(error).message, [this.options.webhookUrl]) }, 'sending the dead-letter alert failed');
    }
  }
}
