/**
 * Reads the Kubernetes manifests under docker/k8s, validates them against the API schemas of
 * kubernetes-models, type-checks them against the models' TypeScript interfaces (which, unlike
 * `validate()`, reject unknown fields), and renders kustomizations the way kustomize would for
 * what the policy checks need (resources, recursively, and the namespace).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { K8S_DIR, REPO_ROOT } from './repo.ts';

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly [field: string]: unknown;
}

/** One document of one file; `file` is relative to the repository root. */
export interface Manifest {
  readonly file: string;
  readonly index: number;
  readonly object: K8sObject;
}

/** A model class: `validate()` throws when the object breaks the API schema. */
type ModelClass = new (data: never) => { validate(): void };

interface ModelEntry {
  readonly model: ModelClass;
  /** Where the TypeScript interface lives and its name, for the generated type check. */
  readonly typeModule: string;
  readonly typeName: string;
}

/** Every kind the manifests may use; anything else is an error. */
export const MODELS: Readonly<Record<string, ModelEntry>> = {
  'v1/Namespace': { model: Namespace, typeModule: 'kubernetes-models/v1/Namespace', typeName: 'INamespace' },
  'v1/ConfigMap': { model: ConfigMap, typeModule: 'kubernetes-models/v1/ConfigMap', typeName: 'IConfigMap' },
  'v1/Secret': { model: Secret, typeModule: 'kubernetes-models/v1/Secret', typeName: 'ISecret' },
  'apps/v1/Deployment': { model: Deployment, typeModule: 'kubernetes-models/apps/v1/Deployment', typeName: 'IDeployment' },
  'batch/v1/Job': { model: Job, typeModule: 'kubernetes-models/batch/v1/Job', typeName: 'IJob' },
  'autoscaling/v2/HorizontalPodAutoscaler': { model: HorizontalPodAutoscaler, typeModule: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', typeName: 'IHorizontalPodAutoscaler' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, typeModule: 'kubernetes-models/policy/v1/PodDisruptionBudget', typeName: 'IPodDisruptionBudget' },
  'keda.sh/v1alpha1/ScaledObject': { model: ScaledObject, typeModule: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', typeName: 'IScaledObject' },
};

export const kindKey = (object: K8sObject): string => `${object.apiVersion}/${object.kind}`;

const KUSTOMIZE_API = 'kustomize.config.k8s.io/v1beta1';

/** The kustomization fields used here; `.strict()` so a misspelt field fails like in the manifests. */
export const kustomizationSchema = z
  .object({
    apiVersion: z.literal(KUSTOMIZE_API),
    kind: z.literal('Kustomization'),
    namespace: z.string().optional(),
    resources: z.array(z.string()).min(1),
    images: z.array(z.object({ name: z.string(), newName: z.string().optional(), newTag: z.string().optional(), digest: z.string().optional() }).strict()).optional(),
  })
  .strict();
export type Kustomization = z.infer<typeof kustomizationSchema>;

export const isKustomization = (object: K8sObject): boolean => object.apiVersion === KUSTOMIZE_API && object.kind === 'Kustomization';

/** Every *.yaml / *.yml under `dir`, recursively, relative to the repository root, sorted. */
export function yamlFiles(dir = K8S_DIR): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name)) out.push(relative(REPO_ROOT, path));
    }
  };
  walk(dir);
  return out.sort();
}

/** Parses a (multi-document) YAML text; throws on the first syntax error or a non-object document. */
export function parseManifests(text: string, file: string): Manifest[] {
  const manifests: Manifest[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${index}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const object: unknown = doc.toJS();
    if (object === null || object === undefined) return;
    if (typeof object !== 'object' || Array.isArray(object)) throw new Error(`${file} document ${index} is not a mapping`);
    const { apiVersion, kind } = object as Record<string, unknown>;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') throw new Error(`${file} document ${index} has no apiVersion/kind`);
    manifests.push({ file, index, object: object as K8sObject });
  });
  return manifests;
}

export function loadManifests(files = yamlFiles()): Manifest[] {
  return files.flatMap((file) => parseManifests(readFileSync(join(REPO_ROOT, file), 'utf8'), file));
}

/** The API-schema errors of one object (empty when valid); an unknown kind is an error too. */
export function schemaErrors(object: K8sObject): string[] {
  const entry = MODELS[kindKey(object)];
  if (entry === undefined) return [`no model for ${kindKey(object)}`];
  try {
    new entry.model(object as never).validate();
    return [];
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}

/**
 * Type-checks objects against their model interfaces: one generated file per object,
 * `export const manifest: IDeployment = <json>;`, compiled together with strict settings. Object
 * literals get excess-property checks, so an unknown (misspelt) field anywhere is an error.
 * Returns the diagnostics per object label (empty arrays when clean).
 */
export function typeErrors(objects: readonly { readonly label: string; readonly object: K8sObject }[]): Map<string, string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-types-'));
  try {
    // The generated files resolve kubernetes-models from the repository's node_modules, as ESM.
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const byFile = new Map<string, string>();
    const result = new Map<string, string[]>();
    objects.forEach(({ label, object }, i) => {
      const entry = MODELS[kindKey(object)];
      const file = join(dir, `manifest-${i}.ts`);
      byFile.set(resolve(file), label);
      result.set(label, entry === undefined ? [`no model for ${kindKey(object)}`] : []);
      if (entry === undefined) return;
      writeFileSync(file, `import type { ${entry.typeName} } from '${entry.typeModule}';\n\nexport const manifest: ${entry.typeName} = ${JSON.stringify(object, null, 2)};\n`);
    });
    const program = ts.createProgram([...byFile.keys()], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: [],
    });
    for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      const label = diagnostic.file === undefined ? undefined : byFile.get(resolve(diagnostic.file.fileName));
      if (label === undefined) throw new Error(`type check of the manifests failed outside them: ${message}`);
      result.get(label)?.push(`TS${diagnostic.code}: ${message}`);
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The objects a kustomization directory renders: its resources (files or directories), recursively, in order, with its namespace applied. */
export function renderKustomization(dir: string): Manifest[] {
  const file = relative(REPO_ROOT, join(dir, 'kustomization.yaml'));
  const [doc] = parseManifests(readFileSync(join(REPO_ROOT, file), 'utf8'), file);
  const kustomization = kustomizationSchema.parse(doc?.object);
  const rendered = kustomization.resources.flatMap((resource) => {
    const path = resolve(dir, resource);
    return /\.ya?ml$/.test(resource) ? loadManifests([relative(REPO_ROOT, path)]) : renderKustomization(path);
  });
  if (kustomization.namespace === undefined) return rendered;
  const namespace = kustomization.namespace;
  return rendered.map((m) =>
    m.object.kind === 'Namespace' ? m : { ...m, object: { ...m.object, metadata: { ...m.object.metadata, namespace } } },
  );
}

/** Directories under docker/k8s holding a kustomization.yaml. */
export function kustomizationDirs(): string[] {
  return yamlFiles()
    .filter((file) => /(^|\/)kustomization\.ya?ml$/.test(file))
    .map((file) => dirname(join(REPO_ROOT, file)));
}
