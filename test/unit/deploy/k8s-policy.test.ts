import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifests, renderKustomization, type Manifest } from '../../support/deploy/k8s-manifests.ts';
import {
  autoscalingViolations,
  configMaps,
  deployments,
  hpas,
  jobs,
  pdbs,
  podViolations,
  probeViolations,
  processViolations,
  referenceViolations,
  scaledObjects,
  secrets,
  selectorViolations,
  singletonViolations,
} from '../../support/deploy/k8s-policy.ts';
import { K8S_DIR, PROCESSES } from '../../support/deploy/repo.ts';

/** What `kubectl apply -k` would create for each kustomization, plus the secret applied by hand. */
const OVERLAYS = ['hpa', 'keda'] as const;
const render = (overlay: string) => renderKustomization(join(K8S_DIR, overlay));
const secretTemplate = () => secrets(loadManifests(['docker/k8s/base/secret.template.yaml']));

function configOf(manifests: readonly Manifest[]): Record<string, string> {
  const [config, ...more] = configMaps(manifests);
  if (config?.data === undefined || more.length > 0) throw new Error('expected exactly one ConfigMap with data');
  return config.data;
}

const named = <T extends { metadata?: { name?: string } }>(list: T[], name: string): T => {
  const found = list.find((item) => item.metadata?.name === name);
  if (found === undefined) throw new Error(`no ${name}`);
  return found;
};

describe.each(OVERLAYS)('the %s kustomization', (overlay) => {
  const manifests = render(overlay);
  const config = configOf(manifests);
  const opsPort = Number(config['OPS_PORT']);

  it('puts everything in one namespace, the one it creates', () => {
    const namespaces = new Set(manifests.filter((m) => m.object.kind !== 'Namespace').map((m) => m.object.metadata?.namespace));
    const created = manifests.filter((m) => m.object.kind === 'Namespace').map((m) => m.object.metadata?.name);
    expect(created).toEqual(['rating-streams']);
    expect(namespaces).toEqual(new Set(created));
  });

  it('runs every pod restricted: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, read-only root, resources, pinned image', () => {
    const workloads = [...deployments(manifests), ...jobs(manifests)];
    expect(workloads.length).toBe(PROCESSES.length + 1);
    expect(workloads.flatMap((w) => podViolations(w.metadata?.name ?? '?', w.spec?.template.spec))).toEqual([]);
  });

  it('probes liveness on /healthz and readiness on /readyz at the ops port of the ConfigMap', () => {
    expect(opsPort).toBe(9464);
    expect(deployments(manifests).flatMap((d) => [...probeViolations(d, opsPort), ...selectorViolations(d)])).toEqual([]);
  });

  it('runs each pipeline process once, through the CLI, with the environment its main reads', () => {
    expect(processViolations(manifests)).toEqual([]);
  });

  it('resolves every ConfigMap/Secret reference and every $(VAR) of the commands', () => {
    const all = [...deployments(manifests), ...jobs(manifests)];
    expect(all.flatMap((w) => referenceViolations(w.metadata?.name ?? '?', w.spec?.template.spec, configMaps(manifests), secretTemplate()))).toEqual([]);
  });

  it('keeps the ingest and the users CDC at exactly one replica, Recreate, never autoscaled', () => {
    expect(PROCESSES.filter((p) => p.singleton).flatMap((p) => singletonViolations(manifests, p.topology))).toEqual([]);
  });

  it('autoscales the enrichment once, never past the partitions of ratings (RATINGS_PARTITIONS)', () => {
    const autoscalers = [...hpas(manifests), ...scaledObjects(manifests)];
    expect(autoscalers.map((a) => a.spec?.scaleTargetRef.name)).toEqual(['ratings-enrichment']);
    expect(autoscalingViolations(manifests, config)).toEqual([]);
  });

  it('lets drains evict at most one enrichment pod at a time', () => {
    const [pdb, ...more] = pdbs(manifests);
    expect(more).toEqual([]);
    expect(pdb?.spec?.maxUnavailable).toBe(1);
    expect(pdb?.spec?.selector?.matchLabels).toEqual(named(deployments(manifests), 'ratings-enrichment').spec?.selector.matchLabels);
  });
});

describe('the partition count and the enrichment autoscalers', () => {
  it('the topics Job creates RATINGS_PARTITIONS partitions, the bound both autoscalers stay under', () => {
    const hpa = render('hpa');
    const keda = render('keda');
    const partitions = Number(configOf(hpa)['RATINGS_PARTITIONS']);
    const job = named(jobs(hpa), 'rating-streams-create-topics');
    const container = job.spec?.template.spec?.containers[0];
    expect(container?.args?.slice(0, 4)).toEqual(['topics', 'create', '--partitions', '$(RATINGS_PARTITIONS)']);
    expect(container?.env?.find((e) => e.name === 'RATINGS_PARTITIONS')?.valueFrom?.configMapKeyRef?.key).toBe('RATINGS_PARTITIONS');
    expect(named(hpas(hpa), 'ratings-enrichment').spec?.maxReplicas).toBeLessThanOrEqual(partitions);
    expect(named(scaledObjects(keda), 'ratings-enrichment').spec.maxReplicaCount).toBeLessThanOrEqual(partitions);
  });
});

describe('the policy checks catch', () => {
  const base = () => structuredClone(render('keda'));
  const config = configOf(render('keda'));

  it('a second ingest replica, a rolling update, and an autoscaler on the users CDC', () => {
    const manifests = base();
    const ingest = named(deployments(manifests), 'openclaw-ingest');
    if (ingest.spec === undefined) throw new Error('no spec');
    ingest.spec.replicas = 2;
    ingest.spec.strategy = { type: 'RollingUpdate' };
    const so = scaledObjects(manifests)[0];
    if (so === undefined) throw new Error('no ScaledObject');
    so.spec.scaleTargetRef.name = 'users-cdc';
    expect(singletonViolations(manifests, 'openclaw-ingest')).toEqual(['openclaw-ingest: replicas is 2, not 1', 'openclaw-ingest: strategy is not Recreate (a rolling update runs two at once)']);
    expect(singletonViolations(manifests, 'users-cdc')).toEqual(['users-cdc: targeted by ScaledObject ratings-enrichment']);
  });

  it('a KEDA maximum above the partition count, a foreign consumer group, and two autoscalers on one Deployment', () => {
    const manifests = [...base(), ...render('hpa').filter((m) => m.object.kind === 'HorizontalPodAutoscaler')];
    const so = scaledObjects(manifests)[0];
    if (so === undefined) throw new Error('no ScaledObject');
    so.spec.maxReplicaCount = Number(config['RATINGS_PARTITIONS']) + 1;
    const trigger = so.spec.triggers[0];
    if (trigger === undefined) throw new Error('no trigger');
    trigger.metadata['consumerGroup'] = 'someone-else';
    const violations = autoscalingViolations(manifests, config);
    expect(violations).toContain(`ScaledObject ratings-enrichment: maxReplicaCount 7 exceeds the 6 partitions of ratings`);
    expect(violations).toContain(`ScaledObject ratings-enrichment: kafka trigger consumerGroup someone-else is not the target's APPLICATION_ID ratings-enrichment`);
    expect(violations).toContain('ratings-enrichment: scaled by HorizontalPodAutoscaler ratings-enrichment and ScaledObject ratings-enrichment at once');
  });

  it('a writable root filesystem, a kept capability, a missing limit, a floating image and a missing probe', () => {
    const deployment = named(deployments(base()), 'ratings-enrichment');
    const container = deployment.spec?.template.spec?.containers[0];
    if (container?.securityContext === undefined || container.resources?.limits === undefined) throw new Error('no container settings');
    container.securityContext.readOnlyRootFilesystem = false;
    container.securityContext.capabilities = { drop: ['NET_RAW'] };
    delete container.resources.limits['memory'];
    container.image = 'rating-streams:latest';
    delete container.readinessProbe;
    expect(podViolations('ratings-enrichment', deployment.spec?.template.spec)).toEqual([
      'ratings-enrichment/enrichment: image rating-streams:latest is not pinned to a version',
      'ratings-enrichment/enrichment: no memory limits',
      'ratings-enrichment/enrichment: readOnlyRootFilesystem is not true',
      'ratings-enrichment/enrichment: capabilities do not drop ALL',
    ]);
    expect(probeViolations(deployment, 9464)).toEqual(['ratings-enrichment/enrichment: no readinessProbe over HTTP']);
  });

  it('a secret key the template does not have and an undefined $(VAR)', () => {
    const manifests = base();
    const job = named(jobs(manifests), 'rating-streams-create-topics');
    const container = job.spec?.template.spec?.containers[0];
    if (container?.args === undefined) throw new Error('no args');
    container.args = [...container.args, '--prefix', '$(TOPIC_PREFIX)'];
    const cdc = named(deployments(manifests), 'users-cdc');
    const ref = cdc.spec?.template.spec?.containers[0]?.env?.[0]?.valueFrom?.secretKeyRef;
    if (ref === undefined) throw new Error('no secret ref');
    ref.key = 'DATABASE_PASSWORD';
    expect(referenceViolations('topics', job.spec?.template.spec, configMaps(manifests), secretTemplate())).toEqual(['topics/create-topics: $(TOPIC_PREFIX) is not defined in its environment']);
    expect(referenceViolations('users-cdc', cdc.spec?.template.spec, configMaps(manifests), secretTemplate())).toEqual([
      'users-cdc/users-cdc: DATABASE_URL refers to a missing Secret key rating-streams-secrets/DATABASE_PASSWORD',
    ]);
  });

  it('a process run under the wrong topology name and one left without its environment', () => {
    const manifests = base();
    const trends = named(deployments(manifests), 'product-rating-trends').spec?.template.spec?.containers[0];
    const ingest = named(deployments(manifests), 'openclaw-ingest').spec?.template.spec?.containers[0];
    if (trends === undefined || ingest?.env === undefined) throw new Error('no containers');
    trends.args = ['run', 'product-trends'];
    ingest.env = ingest.env.filter((e) => e.name !== 'OPENCLAW_API_KEY');
    expect(processViolations(manifests)).toEqual([
      'openclaw-ingest: OPENCLAW_API_KEY is not set',
      'product-rating-trends: args ["run","product-trends"] do not run a topology of topologies/',
      'product-rating-trends: 0 Deployments, not 1',
    ]);
  });
});
