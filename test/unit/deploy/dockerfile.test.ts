import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copySources, dockerfileViolations, dockerignorePatterns, isDockerIgnored, parseDockerfile } from '../../support/deploy/dockerfile.ts';
import { DOCKER_DIR, REPO_ROOT } from '../../support/deploy/repo.ts';

const dockerfile = readFileSync(join(DOCKER_DIR, 'Dockerfile'), 'utf8');
const ignore = dockerignorePatterns(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));

describe('docker/Dockerfile', () => {
  it('is multi-stage, pinned, npm ci only, no secret-named ENV/ARG, and its runtime stage runs the CLI as a non-root user with a HEALTHCHECK and production dependencies only', () => {
    const { stages } = parseDockerfile(dockerfile);
    expect(stages.map((s) => s.name)).toEqual(['build', 'prod-deps', 'runtime']);
    expect(dockerfileViolations(dockerfile)).toEqual([]);
  });

  it('builds with npm run build and copies only the compiled output into the runtime stage', () => {
    const [build, , runtime] = parseDockerfile(dockerfile).stages;
    expect(build?.instructions.some((i) => i.keyword === 'RUN' && i.args === 'npm run build')).toBe(true);
    const fromBuild = runtime?.instructions.filter((i) => i.keyword === 'COPY').map((i) => copySources(i.args)).filter((c) => c.from === 'build');
    expect(fromBuild?.flatMap((c) => c.sources)).toEqual(['/app/dist']);
  });

  it('copies from the build context only files that exist and that .dockerignore lets through', () => {
    const sources = parseDockerfile(dockerfile)
      .stages.flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
      .map((i) => copySources(i.args))
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    expect(sources).toContain('src');
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
      expect(isDockerIgnored(ignore, source), source).toBe(false);
    }
  });

  it('.dockerignore keeps local installs, build output, credentials and history out of the context', () => {
    for (const path of ['node_modules', 'node_modules/kafkajs/package.json', 'src/node_modules/x', 'dist/src/index.js', '.env', 'topologies/.env', '.env.local', '.git/HEAD', '.cache/kafka/x', 'certs/tls.key']) {
      expect(isDockerIgnored(ignore, path), path).toBe(true);
    }
    for (const path of ['src/index.ts', 'package.json', 'scripts/build.ts', 'topologies/schemas/rating-event.avsc']) {
      expect(isDockerIgnored(ignore, path), path).toBe(false);
    }
  });

  it('the checks reject a single-stage root image built with npm install that bakes in a token', () => {
    const bad = [
      'FROM node:latest',
      'ARG NPM_TOKEN',
      'ENV OPENCLAW_API_KEY=abc \\',
      '    LOG_LEVEL=info',
      'WORKDIR /app',
      'COPY . .',
      'RUN npm install && npm run build',
      'CMD ["node", "dist/topologies/ratings-enrichment.js"]',
    ].join('\n');
    expect(dockerfileViolations(bad)).toEqual([
      'not a multi-stage build',
      'FROM node:latest: base image not pinned to a version',
      'ARG NPM_TOKEN: a secret-looking name in a layer',
      'ENV OPENCLAW_API_KEY: a secret-looking name in a layer',
      'RUN npm install && npm run build: use npm ci (the lockfile), not npm install',
      'no RUN npm ci',
      'final stage runs as root (no USER)',
      'final stage has no HEALTHCHECK',
      'ENTRYPOINT is not ["node","dist/src/cli/main.js"]',
      'final stage copies . from the build context',
      'final stage has no production dependencies',
    ]);
  });

  it('the checks reject a runtime stage with dev dependencies, run as root', () => {
    const bad = dockerfile.replace('npm ci --omit=dev --no-audit', 'npm ci --no-audit').replace('USER 1000:1000', 'USER root');
    expect(dockerfileViolations(bad)).toEqual(['final stage runs as root', 'final stage copies node_modules from prod-deps, which is not an npm ci --omit=dev stage']);
  });
});
