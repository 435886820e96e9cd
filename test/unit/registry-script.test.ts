import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../scripts/registry/cli-args.ts';
import { javaArgs, registryCompatUrl, registryOptionsFromEnv, RegistryError } from '../../scripts/registry/registry.ts';

describe('scripts/registry options', () => {
  it('defaults to 127.0.0.1:8081, a 192m heap and .cache/registry', () => {
    const options = registryOptionsFromEnv({});
    expect(options.port).toBe(8081);
    expect(options.heap).toBe('192m');
    expect(options.cacheDir).toBe(resolve('.cache', 'registry'));
    expect(options.runDir).toBe(join(options.cacheDir, 'run'));
    expect(registryCompatUrl(options)).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
  });

  it('reads SCHEMA_REGISTRY_PORT, _HEAP, _CACHE_DIR and _RUN_DIR', () => {
    const options = registryOptionsFromEnv({
      SCHEMA_REGISTRY_PORT: '18081',
      SCHEMA_REGISTRY_HEAP: '256m',
      SCHEMA_REGISTRY_CACHE_DIR: '/tmp/reg-cache',
      SCHEMA_REGISTRY_RUN_DIR: '/tmp/reg-run',
    });
    expect(options).toMatchObject({ port: 18081, heap: '256m', cacheDir: '/tmp/reg-cache', runDir: '/tmp/reg-run' });
  });

  it('refuses a port or heap that cannot work, naming the variable', () => {
    for (const port of ['abc', '0', '65536', '80.5']) {
      expect(() => registryOptionsFromEnv({ SCHEMA_REGISTRY_PORT: port })).toThrow(RegistryError);
      expect(() => registryOptionsFromEnv({ SCHEMA_REGISTRY_PORT: port })).toThrow(/SCHEMA_REGISTRY_PORT=.* is not a TCP port/);
    }
    expect(() => registryOptionsFromEnv({ SCHEMA_REGISTRY_HEAP: '192' })).toThrow(/SCHEMA_REGISTRY_HEAP="192" is not a JVM heap size/);
  });

  it('runs the JVM with the small-machine flags, bound to 127.0.0.1 on the chosen port', () => {
    const args = javaArgs(registryOptionsFromEnv({ SCHEMA_REGISTRY_PORT: '18081' }), '/app/runner.jar');
    expect(args).toEqual([
      '-Xmx192m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      '-Dquarkus.http.host=127.0.0.1',
      '-Dquarkus.http.port=18081',
      '-jar',
      '/app/runner.jar',
    ]);
  });
});

describe('scripts/registry command line', () => {
  it('runs a known command, --port overriding the environment', () => {
    const request = parseCli(['start', '--port', '18082'], { SCHEMA_REGISTRY_PORT: '18081' });
    expect(request.kind).toBe('run');
    if (request.kind === 'run') {
      expect(request.command).toBe('start');
      expect(request.options.port).toBe(18082);
    }
    const fromEnv = parseCli(['status'], { SCHEMA_REGISTRY_PORT: '18081' });
    expect(fromEnv.kind === 'run' && fromEnv.options.port).toBe(18081);
  });

  it('prints usage for --help (exit 0) and for no command (exit 2)', () => {
    expect(parseCli(['--help'], {})).toEqual({ kind: 'usage', exitCode: 0 });
    expect(parseCli(['start', '-h'], {})).toEqual({ kind: 'usage', exitCode: 0 });
    expect(parseCli([], {})).toEqual({ kind: 'usage', exitCode: 2 });
  });

  it('reports unknown commands, extra arguments, unknown flags and bad values', () => {
    expect(parseCli(['restart'], {})).toEqual({ kind: 'error', message: 'unknown command "restart"' });
    expect(parseCli(['stop', 'now'], {})).toEqual({ kind: 'error', message: 'unexpected arguments after stop: now' });
    expect(parseCli(['start', '--verbose'], {}).kind).toBe('error');
    const badPort = parseCli(['start', '--port', 'x'], {});
    expect(badPort.kind === 'error' && badPort.message).toMatch(/SCHEMA_REGISTRY_PORT="x" is not a TCP port/);
  });
});
