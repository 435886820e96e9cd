/**
 * Options of the Kafka transport that are checked before any connection, and the log lines kafkajs
 * entries become. Needs no broker.
 */
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/streams-error.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { createLogCreator } from '../../../src/transport/kafka/logging.ts';

const brokers = ['127.0.0.1:9092'];

describe('KafkaTransport options', () => {
  it('rejects unusable connection options with a ConfigError naming the option', () => {
    expect(() => new KafkaTransport({ brokers: [] })).toThrow(ConfigError);
    expect(() => new KafkaTransport({ brokers: ['no-port'] })).toThrow(/brokers/);
    const sasl = { mechanism: 'gssapi', username: 'u', password: 'p' } as unknown as { mechanism: 'plain'; username: string; password: string };
    expect(() => new KafkaTransport({ brokers, sasl })).toThrow(/sasl\.mechanism/);
  });

  it('rejects producer options that contradict idempotence, and accepts them once it is turned off', () => {
    const transport = new KafkaTransport({ brokers });
    expect(() => transport.producer({ acks: 'leader' })).toThrow(/acks/);
    expect(() => transport.producer({ transactionalId: 't', idempotent: false })).toThrow(/idempotent/);
    expect(() => transport.producer({ acks: 'leader', idempotent: false })).not.toThrow();
  });

  it('rejects consumer options kafkajs would refuse, before kafkajs sees them', () => {
    const transport = new KafkaTransport({ brokers });
    expect(() => transport.consumer({ groupId: '' })).toThrow(ConfigError);
    expect(() => transport.consumer({ groupId: 'g', sessionTimeoutMs: 6_000, heartbeatIntervalMs: 6_000 })).toThrow(/heartbeatIntervalMs/);
  });
});

describe('kafkajs log lines', () => {
  it('writes one JSON object per entry without secret fields, raw bytes or secret values', () => {
    const lines: string[] = [];
    const log = createLogCreator({ write: (line) => lines.push(line), redact: (text) => text.replaceAll('s3cret', '[REDACTED]') })(logLevel.WARN);

    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: {
        timestamp: '2024-01-01T00:00:00.000Z',
        message: 'Connection error: s3cret rejected',
        broker: '127.0.0.1:9092',
        sasl: { mechanism: 'plain', username: 'u', password: 's3cret' },
        request: { password: 'also-secret', payload: Buffer.from('bytes') },
        error: new Error('nested s3cret'),
      },
    });

    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'ERROR', source: 'kafkajs', namespace: 'Connection', broker: '127.0.0.1:9092' });
    expect(entry['sasl']).toBeUndefined();
    expect(entry['request']).toEqual({ payload: '<5 bytes>' });
    expect(lines[0]).not.toMatch(/s3cret|also-secret/);
    expect((entry['error'] as { message?: string }).message).toBe('nested [REDACTED]');
  });
});
