/**
 * How a `KafkaTransport` reaches the cluster, checked once when it is built, and turned into the
 * kafkajs client configuration. Secrets (SASL passwords, TLS key passphrases) are collected here so
 * that logs and error messages can scrub them.
 */
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { ISocketFactory, KafkaConfig, SASLOptions } from 'kafkajs';
import { Kafka, logLevel as KafkaLogLevel } from './kafkajs.ts';
import { ConfigError } from '../../errors/streams-error.ts';
import { redactSecrets } from '../../errors/redact.ts';
import { createLogCreator } from './logging.ts';

/** SASL over username and password; `oauthbearer` and AWS IAM are not wired yet. */
export interface KafkaSaslOptions {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

export type KafkaLogLevelName = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** One request a kafkajs client sent to a broker: enough for request counters and latency metrics. */
export interface KafkaRequestEvent {
  readonly client: 'producer' | 'consumer' | 'admin';
  readonly clientId: string;
  /** The Kafka protocol API, e.g. `Produce`, `Fetch`, `OffsetCommit`. */
  readonly apiName: string;
  readonly broker: string;
  readonly durationMs: number;
}

/** A broker's address as clients dial it. */
export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

export interface KafkaTransportOptions {
  /** Bootstrap servers as `host:port`. */
  readonly brokers: readonly string[];
  /** Default `rating-streams`; producer and consumer options may override it per client. */
  readonly clientId?: string;
  /** `true` for TLS with the system's CAs, or Node's TLS options. */
  readonly ssl?: boolean | ConnectionOptions;
  readonly sasl?: KafkaSaslOptions;
  /** Default 1000 (kafkajs' default). */
  readonly connectionTimeoutMs?: number;
  /** Default `warn`: kafkajs logs at WARN and above reach `writeLog`. */
  readonly logLevel?: KafkaLogLevelName;
  /** Where log lines (one JSON object each, no trailing newline) go; default standard error. */
  readonly writeLog?: (line: string) => void;
  /** Called for every request a client of this transport sends, e.g. to feed metrics. */
  readonly onRequest?: (event: KafkaRequestEvent) => void;
  /**
   * Special networking and fault-injection tests only: where to dial for a broker address (a
   * bootstrap entry or a listener the cluster advertises in metadata). Default: the address
   * itself. Clients dial the advertised listeners, so a proxy or a tunnel in front of the brokers is
   * bypassed unless every address is routed through it; TLS still checks the advertised host name.
   */
  readonly routeBroker?: (advertised: BrokerAddress) => BrokerAddress;
  /**
   * Largest Produce request a producer sends, in estimated encoded bytes; larger sends go out as
   * several requests, one after another. Default 983040 (1 MiB - 64 KiB): below the broker's
   * default `message.max.bytes` (1048588), with headroom for what the estimate leaves out. Raise it
   * only together with the broker's and the topics' limits.
   */
  readonly maxRequestBytes?: number;
}

export { DEFAULT_MAX_REQUEST_BYTES } from '../request-split.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../request-split.ts';

/** The validated options plus what every client built from them shares. */
export interface ResolvedKafkaOptions {
  readonly clientId: string;
  readonly redact: (text: string) => string;
  readonly onRequest: ((event: KafkaRequestEvent) => void) | undefined;
  readonly maxRequestBytes: number;
  /** A kafkajs client for `clientId`; kafkajs fixes the client id per `Kafka` instance. */
  kafka(clientId: string): Kafka;
}

const LOG_LEVELS: Readonly<Record<KafkaLogLevelName, KafkaLogLevel>> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

const SASL_MECHANISMS: ReadonlySet<string> = new Set(['plain', 'scram-sha-256', 'scram-sha-512']);

/**
 * Checks the options and prepares the shared kafkajs configuration.
 *
 * @throws ConfigError naming the first option that cannot work.
 */
export function resolveKafkaOptions(options: KafkaTransportOptions): ResolvedKafkaOptions {
  validate(options);
  const secrets = collectSecrets(options);
  const redact = (text: string): string => redactSecrets(text, secrets);
  const level = LOG_LEVELS[options.logLevel ?? 'warn'];
  const writeLog = options.writeLog ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const logCreator = createLogCreator({ write: writeLog, redact });
  const clients = new Map<string, Kafka>();

  const base: Omit<KafkaConfig, 'clientId'> = {
    brokers: [...options.brokers],
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    ...(options.sasl === undefined ? {} : { sasl: toKafkaSasl(options.sasl) }),
    ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeout: options.connectionTimeoutMs }),
    ...(options.routeBroker === undefined ? {} : { socketFactory: routedSocketFactory(options.routeBroker) }),
    logLevel: level,
    logCreator,
  };

  return {
    clientId: options.clientId ?? 'rating-streams',
    redact,
    onRequest: options.onRequest,
    maxRequestBytes: options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    kafka(clientId: string): Kafka {
      let kafka = clients.get(clientId);
      if (kafka === undefined) {
        kafka = new Kafka({ ...base, clientId });
        clients.set(clientId, kafka);
      }
      return kafka;
    },
  };
}

function validate(options: KafkaTransportOptions): void {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw new ConfigError('KafkaTransport option "brokers" must list at least one host:port');
  }
  for (const broker of options.brokers) {
    if (typeof broker !== 'string' || !/^[^:\s]+:\d+$/.test(broker)) {
      throw new ConfigError(`KafkaTransport option "brokers" has an entry that is not host:port: ${JSON.stringify(broker)}`);
    }
  }
  if (options.sasl !== undefined && !SASL_MECHANISMS.has(options.sasl.mechanism)) {
    throw new ConfigError(
      `KafkaTransport option "sasl.mechanism" must be one of ${[...SASL_MECHANISMS].join(', ')}, got ${JSON.stringify(options.sasl.mechanism)}`,
    );
  }
  if (options.logLevel !== undefined && !Object.hasOwn(LOG_LEVELS, options.logLevel)) {
    throw new ConfigError(`KafkaTransport option "logLevel" must be one of ${Object.keys(LOG_LEVELS).join(', ')}`);
  }
  if (options.routeBroker !== undefined && typeof options.routeBroker !== 'function') {
    throw new ConfigError('KafkaTransport option "routeBroker" must be a function from a broker address to the address to dial');
  }
  const maxRequestBytes = options.maxRequestBytes;
  if (maxRequestBytes !== undefined && (!Number.isInteger(maxRequestBytes) || maxRequestBytes < 4_096)) {
    throw new ConfigError('KafkaTransport option "maxRequestBytes" must be a whole number of bytes, at least 4096');
  }
  const timeout = options.connectionTimeoutMs;
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) {
    throw new ConfigError('KafkaTransport option "connectionTimeoutMs" must be a positive number of milliseconds');
  }
}

/** kafkajs' own socket factory (keep-alive included), dialing the routed address instead. */
function routedSocketFactory(route: (advertised: BrokerAddress) => BrokerAddress): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const target = route({ host, port });
    const socket = ssl
      ? tlsConnect({ host: target.host, port: target.port, ...(isIP(host) === 0 ? { servername: host } : {}), ...ssl }, onConnect)
      : netConnect({ host: target.host, port: target.port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
}

function toKafkaSasl(sasl: KafkaSaslOptions): SASLOptions {
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
}

/** Every string in the options that must never be printed. */
function collectSecrets(options: KafkaTransportOptions): string[] {
  const secrets: string[] = [];
  if (options.sasl !== undefined) secrets.push(options.sasl.password);
  if (typeof options.ssl === 'object') {
    const { passphrase, key } = options.ssl;
    if (typeof passphrase === 'string') secrets.push(passphrase);
    if (typeof key === 'string') secrets.push(key);
  }
  return secrets.filter((secret) => secret.length > 0);
}
