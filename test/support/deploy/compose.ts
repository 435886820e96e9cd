/** Reads docker/compose.yml (anchors and `<<` merges resolved) into typed services. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { DOCKER_DIR } from './repo.ts';

const stringList = z.union([z.string(), z.array(z.string())]);

const serviceSchema = z.object({
  image: z.string().optional(),
  build: z.union([z.string(), z.object({ context: z.string(), dockerfile: z.string().optional() }).strict()]).optional(),
  profiles: z.array(z.string()).optional(),
  restart: z.string().optional(),
  entrypoint: stringList.optional(),
  command: stringList.optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  depends_on: z
    .union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) }).strict())])
    .optional(),
  healthcheck: z
    .object({ test: stringList.optional(), interval: z.string().optional(), retries: z.number().optional(), disable: z.boolean().optional() })
    .strict()
    .optional(),
  deploy: z.object({ replicas: z.number().optional() }).optional(),
  scale: z.number().optional(),
});
export type ComposeService = z.infer<typeof serviceSchema>;

/** The parts of the compose format the file uses; strict, so a misspelt key is an error. */
export const composeSchema = z
  .object({ services: z.record(z.string(), serviceSchema.strict()) })
  .catchall(z.unknown())
  .refine((file) => Object.keys(file).every((key) => key === 'services' || key.startsWith('x-')), 'top-level keys other than services must be x- extensions');

export const COMPOSE_FILE = join(DOCKER_DIR, 'compose.yml');

export function loadCompose(text = readFileSync(COMPOSE_FILE, 'utf8')): Record<string, ComposeService> {
  // Compose follows YAML 1.1 merge keys (`<<: *anchor`).
  return composeSchema.parse(parse(text, { merge: true })).services;
}

export const asList = (value: string | readonly string[] | undefined): string[] =>
  value === undefined ? [] : typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : [...value];

/** Service names a service waits for, with the condition. */
export function dependencies(service: ComposeService): [string, string][] {
  const deps = service.depends_on;
  if (deps === undefined) return [];
  return Array.isArray(deps) ? deps.map((d) => [d, 'service_started']) : Object.entries(deps).map(([name, { condition }]) => [name, condition]);
}
