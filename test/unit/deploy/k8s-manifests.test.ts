import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  isKustomization,
  kindKey,
  kustomizationDirs,
  kustomizationSchema,
  loadManifests,
  parseManifests,
  schemaErrors,
  typeErrors,
  yamlFiles,
  type K8sObject,
  type Manifest,
} from '../../support/deploy/k8s-manifests.ts';
import { K8S_DIR, REPO_ROOT } from '../../support/deploy/repo.ts';

const SECRET_TEMPLATE = 'docker/k8s/base/secret.template.yaml';

const label = (m: Manifest) => `${m.file}#${m.index} ${m.object.kind}/${m.object.metadata?.name ?? '?'}`;
const apiObjects = () => loadManifests().filter((m) => !isKustomization(m.object));

function ingestCopy(): K8sObject {
  const ingest = apiObjects().find((m) => m.object.kind === 'Deployment' && m.object.metadata?.name === 'openclaw-ingest');
  if (ingest === undefined) throw new Error('no openclaw-ingest Deployment');
  return structuredClone(ingest.object);
}

describe('Kubernetes manifests under docker/k8s', () => {
  it('parse as YAML, every document an object with apiVersion and kind', () => {
    const files = yamlFiles();
    expect(files.length).toBeGreaterThanOrEqual(10);
    const manifests = loadManifests(files);
    expect(new Set(manifests.map((m) => m.file))).toEqual(new Set(files));
  });

  it('reads every document of a multi-document file and reports a syntax error with the file', () => {
    const two = parseManifests('apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n', 'two.yaml');
    expect(two.map((m) => m.object.kind)).toEqual(['ConfigMap', 'Secret']);
    expect(() => parseManifests('apiVersion: v1\nkind: [ConfigMap\n', 'broken.yaml')).toThrow(/broken\.yaml document 0/);
  });

  it('validate against the Kubernetes (and KEDA) API schemas', () => {
    const failures = apiObjects()
      .map((m) => ({ manifest: label(m), errors: schemaErrors(m.object) }))
      .filter((f) => f.errors.length > 0);
    expect(failures).toEqual([]);
  });

  it('cover the kinds the deployment needs', () => {
    const kinds = new Set(apiObjects().map((m) => kindKey(m.object)));
    for (const kind of ['apps/v1/Deployment', 'v1/ConfigMap', 'v1/Secret', 'batch/v1/Job', 'autoscaling/v2/HorizontalPodAutoscaler', 'keda.sh/v1alpha1/ScaledObject', 'policy/v1/PodDisruptionBudget']) {
      expect(kinds).toContain(kind);
    }
  });

  it('the schema validation catches a wrong type and a KEDA trigger without a type', () => {
    const wrongType = ingestCopy() as K8sObject & { spec: { replicas: unknown } };
    wrongType.spec.replicas = 'one';
    expect(schemaErrors(wrongType).join()).toMatch(/replicas must be integer/);
    const so = apiObjects().find((m) => m.object.kind === 'ScaledObject');
    const noType = structuredClone(so?.object) as K8sObject & { spec: { triggers: Record<string, unknown>[] } };
    delete noType.spec.triggers[0]?.['type'];
    expect(schemaErrors(noType).join()).toMatch(/triggers\/0 must have required property '?type'?/);
  });

  describe('typed against the models’ TypeScript interfaces (unknown fields are errors)', () => {
    let errors: Map<string, string[]>;
    const misspelt: Record<string, K8sObject> = {};

    beforeAll(() => {
      const replicaz = ingestCopy() as K8sObject & { spec: Record<string, unknown> };
      replicaz.spec['replicaz'] = replicaz.spec['replicas'];
      delete replicaz.spec['replicas'];
      misspelt['replicaz'] = replicaz;

      const nested = ingestCopy() as K8sObject & { spec: { template: { spec: { containers: { securityContext: Record<string, unknown> }[] } } } };
      const sc = nested.spec.template.spec.containers[0]?.securityContext;
      if (sc === undefined) throw new Error('no securityContext to misspell');
      sc['readOnlyRootFileSystem'] = true;
      delete sc['readOnlyRootFilesystem'];
      misspelt['readOnlyRootFileSystem'] = nested;

      const so = apiObjects().find((m) => m.object.kind === 'ScaledObject');
      const maxReplica = structuredClone(so?.object) as K8sObject & { spec: Record<string, unknown> };
      maxReplica.spec['maxReplicas'] = maxReplica.spec['maxReplicaCount'];
      delete maxReplica.spec['maxReplicaCount'];
      misspelt['maxReplicas'] = maxReplica;

      errors = typeErrors([
        ...apiObjects().map((m) => ({ label: label(m), object: m.object })),
        ...Object.entries(misspelt).map(([field, object]) => ({ label: `misspelt ${field}`, object })),
      ]);
    }, 120_000);

    it('every manifest compiles as its model interface', () => {
      const failures = [...errors].filter(([name, list]) => !name.startsWith('misspelt') && list.length > 0);
      expect(failures).toEqual([]);
      expect([...errors.keys()].filter((name) => !name.startsWith('misspelt'))).toHaveLength(apiObjects().length);
    });

    it.each(['replicaz', 'readOnlyRootFileSystem', 'maxReplicas'])('a manifest with the misspelt field %s is rejected', (field) => {
      const list = errors.get(`misspelt ${field}`) ?? [];
      expect(list.length).toBeGreaterThan(0);
      expect(list.join('\n')).toMatch(new RegExp(`'"?${field}"?' does not exist`));
      expect(list.join('\n')).toMatch(/TS(2353|2561)/);
    });
  });

  describe('kustomizations', () => {
    it('are strict kustomize files whose resources exist', () => {
      const dirs = kustomizationDirs();
      expect(dirs.map((d) => relative(K8S_DIR, d)).sort()).toEqual(['base', 'hpa', 'keda']);
      for (const dir of dirs) {
        const [doc] = parseManifests(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), dir);
        const kustomization = kustomizationSchema.parse(doc?.object);
        for (const resource of kustomization.resources) {
          const path = resolve(dir, resource);
          expect(existsSync(/\.ya?ml$/.test(resource) ? path : join(path, 'kustomization.yaml')), `${dir}: ${resource}`).toBe(true);
        }
      }
    });

    it('a misspelt kustomization field is rejected', () => {
      const result = kustomizationSchema.safeParse({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resource: ['a.yaml'], resources: ['a.yaml'] });
      expect(result.success).toBe(false);
    });

    it('together reference every manifest except the secret template', () => {
      const referenced = new Set<string>();
      for (const dir of kustomizationDirs()) {
        const [doc] = parseManifests(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), dir);
        for (const resource of kustomizationSchema.parse(doc?.object).resources) referenced.add(relative(REPO_ROOT, resolve(dir, resource)));
      }
      const unreferenced = yamlFiles().filter((file) => !referenced.has(file) && !/kustomization\.ya?ml$/.test(file));
      expect(unreferenced).toEqual([SECRET_TEMPLATE]);
      expect(referenced.has(relative(REPO_ROOT, dirname(join(REPO_ROOT, SECRET_TEMPLATE))))).toBe(true);
    });
  });

  it('the secret template holds placeholders only', () => {
    const [secret] = loadManifests([SECRET_TEMPLATE]);
    const values = Object.entries((secret?.object as { stringData?: Record<string, string> }).stringData ?? {});
    expect(values.map(([key]) => key).sort()).toEqual(['AI_AGENT_TOKEN', 'DATABASE_URL', 'OPENCLAW_API_KEY']);
    for (const [key, value] of values) expect(value, key).toContain('REPLACE_ME');
    expect((secret?.object as { data?: unknown }).data).toBeUndefined();
  });
});
