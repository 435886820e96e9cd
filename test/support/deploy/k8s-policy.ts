/**
 * The rules the Kubernetes manifests must follow beyond the API schemas. Each check returns its
 * violations as readable strings (empty: compliant), so a test can show all of them at once and
 * the checks themselves can be tested on broken copies.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { kindKey, type Manifest } from './k8s-manifests.ts';
import { CLI, PROCESSES, isPinnedImage, processOf, topologyExists } from './repo.ts';

/** The manifests of one kind, typed by its model interface (call after the schema validation). */
export function ofKind<T>(manifests: readonly Manifest[], key: string): T[] {
  return manifests.filter((m) => kindKey(m.object) === key).map((m) => m.object as unknown as T);
}

export const deployments = (m: readonly Manifest[]) => ofKind<IDeployment>(m, 'apps/v1/Deployment');
export const jobs = (m: readonly Manifest[]) => ofKind<IJob>(m, 'batch/v1/Job');
export const hpas = (m: readonly Manifest[]) => ofKind<IHorizontalPodAutoscaler>(m, 'autoscaling/v2/HorizontalPodAutoscaler');
export const scaledObjects = (m: readonly Manifest[]) => ofKind<IScaledObject>(m, 'keda.sh/v1alpha1/ScaledObject');
export const pdbs = (m: readonly Manifest[]) => ofKind<IPodDisruptionBudget>(m, 'policy/v1/PodDisruptionBudget');
export const configMaps = (m: readonly Manifest[]) => ofKind<IConfigMap>(m, 'v1/ConfigMap');
export const secrets = (m: readonly Manifest[]) => ofKind<ISecret>(m, 'v1/Secret');

const nameOf = (object: { readonly metadata?: { readonly name?: string } }) => object.metadata?.name ?? '<unnamed>';

function containersOf(pod: IPodSpec | undefined): IContainer[] {
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
}

/** A pod that runs as a non-root user with no privileges, no token, a read-only root, resources and a pinned image. */
export function podViolations(owner: string, pod: IPodSpec | undefined): string[] {
  if (pod === undefined) return [`${owner}: no pod spec`];
  const out: string[] = [];
  const podSc = pod.securityContext;
  if (pod.automountServiceAccountToken !== false) out.push(`${owner}: automountServiceAccountToken is not false`);
  if (pod.hostNetwork === true || pod.hostPID === true || pod.hostIPC === true) out.push(`${owner}: shares a host namespace`);
  if (podSc?.runAsUser === 0) out.push(`${owner}: pod runs as user 0`);
  for (const c of containersOf(pod)) {
    const at = `${owner}/${c.name}`;
    const sc = c.securityContext;
    if (c.image === undefined || !isPinnedImage(c.image)) out.push(`${at}: image ${String(c.image)} is not pinned to a version`);
    for (const kind of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory']) {
        if (c.resources?.[kind]?.[resource] === undefined) out.push(`${at}: no ${resource} ${kind}`);
      }
    }
    if ((sc?.runAsNonRoot ?? podSc?.runAsNonRoot) !== true) out.push(`${at}: runAsNonRoot is not true`);
    if ((sc?.runAsUser ?? podSc?.runAsUser) === 0) out.push(`${at}: runs as user 0`);
    if (sc?.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation is not false`);
    if (sc?.readOnlyRootFilesystem !== true) out.push(`${at}: readOnlyRootFilesystem is not true`);
    if (sc?.privileged === true) out.push(`${at}: privileged`);
    if (!(sc?.capabilities?.drop ?? []).includes('ALL')) out.push(`${at}: capabilities do not drop ALL`);
    if ((sc?.capabilities?.add ?? []).length > 0) out.push(`${at}: adds capabilities`);
    if ((sc?.seccompProfile?.type ?? podSc?.seccompProfile?.type) !== 'RuntimeDefault') out.push(`${at}: seccomp profile is not RuntimeDefault`);
  }
  return out;
}

/** Liveness on /healthz and readiness on /readyz, both on the ops port. */
export function probeViolations(deployment: IDeployment, opsPort: number): string[] {
  const out: string[] = [];
  for (const c of deployment.spec?.template.spec?.containers ?? []) {
    const at = `${nameOf(deployment)}/${c.name}`;
    const portOk = (port: number | string | undefined) =>
      port === opsPort || (typeof port === 'string' && (c.ports ?? []).some((p) => p.name === port && p.containerPort === opsPort));
    const probes = [
      ['livenessProbe', c.livenessProbe, '/healthz'],
      ['readinessProbe', c.readinessProbe, '/readyz'],
    ] as const;
    for (const [field, probe, path] of probes) {
      if (probe?.httpGet === undefined) out.push(`${at}: no ${field} over HTTP`);
      else {
        if (probe.httpGet.path !== path) out.push(`${at}: ${field} path is ${String(probe.httpGet.path)}, not ${path}`);
        if (!portOk(probe.httpGet.port)) out.push(`${at}: ${field} is not on the ops port ${opsPort}`);
      }
    }
    const annotations = deployment.spec?.template.metadata?.annotations ?? {};
    if (annotations['prometheus.io/port'] !== String(opsPort)) out.push(`${at}: prometheus.io/port annotation is not ${opsPort}`);
  }
  return out;
}

const selects = (selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>> | undefined) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** The selector picks the pod template (the API server checks this; the schema does not). */
export function selectorViolations(deployment: IDeployment): string[] {
  return selects(deployment.spec?.selector.matchLabels, deployment.spec?.template.metadata?.labels) ? [] : [`${nameOf(deployment)}: selector does not match the pod template labels`];
}

/** A single-replica process: replicas exactly 1, Recreate, never autoscaled, never protected by a PDB that blocks drains. */
export function singletonViolations(manifests: readonly Manifest[], name: string): string[] {
  const deployment = deployments(manifests).find((d) => nameOf(d) === name);
  if (deployment === undefined) return [`${name}: no Deployment`];
  const out: string[] = [];
  if (deployment.spec?.replicas !== 1) out.push(`${name}: replicas is ${String(deployment.spec?.replicas)}, not 1`);
  if (deployment.spec?.strategy?.type !== 'Recreate') out.push(`${name}: strategy is not Recreate (a rolling update runs two at once)`);
  for (const hpa of hpas(manifests)) if (hpa.spec?.scaleTargetRef.name === name) out.push(`${name}: targeted by HorizontalPodAutoscaler ${nameOf(hpa)}`);
  for (const so of scaledObjects(manifests)) if (so.spec.scaleTargetRef.name === name) out.push(`${name}: targeted by ScaledObject ${nameOf(so)}`);
  for (const pdb of pdbs(manifests)) {
    const blocking = pdb.spec?.minAvailable !== undefined || pdb.spec?.maxUnavailable === 0 || pdb.spec?.maxUnavailable === '0%';
    if (blocking && selects(pdb.spec?.selector?.matchLabels, deployment.spec?.template.metadata?.labels)) out.push(`${name}: PodDisruptionBudget ${nameOf(pdb)} blocks evicting its only pod`);
  }
  return out;
}

function envValue(deployment: IDeployment, name: string, config: Readonly<Record<string, string>>): string | undefined {
  const container = deployment.spec?.template.spec?.containers[0];
  const direct = container?.env?.find((e) => e.name === name);
  if (direct?.value !== undefined) return direct.value;
  if (direct?.valueFrom?.configMapKeyRef !== undefined) return config[direct.valueFrom.configMapKeyRef.key];
  return (container?.envFrom ?? []).some((from) => from.configMapRef !== undefined) ? config[name] : undefined;
}

/**
 * Autoscalers: never more replicas than `ratings` has partitions, never two autoscalers on one
 * Deployment, targets that exist and leave `replicas` to them, and KEDA's Kafka trigger reading the
 * enrichment's own consumer group on the configured brokers.
 */
export function autoscalingViolations(manifests: readonly Manifest[], config: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  const partitions = Number(config['RATINGS_PARTITIONS']);
  if (!Number.isInteger(partitions) || partitions < 1) return [`RATINGS_PARTITIONS is not a whole number: ${String(config['RATINGS_PARTITIONS'])}`];
  const targets = new Map<string, string[]>();
  const target = (owner: string, ref: { readonly kind: string; readonly name: string } | { readonly kind?: string; readonly name: string }) => {
    const deployment = ref.kind === 'Deployment' || ref.kind === undefined ? deployments(manifests).find((d) => nameOf(d) === ref.name) : undefined;
    if (deployment === undefined) out.push(`${owner}: target ${ref.name} is not a Deployment of this set`);
    else if (deployment.spec?.replicas !== undefined) out.push(`${owner}: target ${ref.name} sets spec.replicas, which re-applying would reset`);
    targets.set(ref.name, [...(targets.get(ref.name) ?? []), owner]);
    return deployment;
  };
  for (const hpa of hpas(manifests)) {
    const owner = `HorizontalPodAutoscaler ${nameOf(hpa)}`;
    target(owner, hpa.spec?.scaleTargetRef ?? { name: '<none>' });
    const max = hpa.spec?.maxReplicas ?? Infinity;
    if (max > partitions) out.push(`${owner}: maxReplicas ${max} exceeds the ${partitions} partitions of ratings`);
    if ((hpa.spec?.minReplicas ?? 1) > max) out.push(`${owner}: minReplicas exceeds maxReplicas`);
  }
  for (const so of scaledObjects(manifests)) {
    const owner = `ScaledObject ${nameOf(so)}`;
    const deployment = target(owner, so.spec.scaleTargetRef);
    const max = so.spec.maxReplicaCount;
    if (max === undefined) out.push(`${owner}: no maxReplicaCount (KEDA's default is 100)`);
    else if (max > partitions) out.push(`${owner}: maxReplicaCount ${max} exceeds the ${partitions} partitions of ratings`);
    if ((so.spec.minReplicaCount ?? 0) > (max ?? 100)) out.push(`${owner}: minReplicaCount exceeds maxReplicaCount`);
    for (const trigger of so.spec.triggers.filter((t) => t.type === 'kafka')) {
      const meta = trigger.metadata;
      if (meta['topic'] !== 'ratings') out.push(`${owner}: kafka trigger topic is ${String(meta['topic'])}, not ratings`);
      if (meta['bootstrapServers'] !== config['KAFKA_BROKERS']) out.push(`${owner}: kafka trigger bootstrapServers ${String(meta['bootstrapServers'])} differs from KAFKA_BROKERS ${String(config['KAFKA_BROKERS'])}`);
      const group = deployment === undefined ? undefined : envValue(deployment, 'APPLICATION_ID', config);
      if (meta['consumerGroup'] !== group) out.push(`${owner}: kafka trigger consumerGroup ${String(meta['consumerGroup'])} is not the target's APPLICATION_ID ${String(group)}`);
      if (meta['allowIdleConsumers'] === 'true') out.push(`${owner}: allowIdleConsumers lets KEDA go past the partition count`);
    }
  }
  for (const [name, owners] of targets) if (owners.length > 1) out.push(`${name}: scaled by ${owners.join(' and ')} at once`);
  return out;
}

/** The environment a container gets: its env names and the keys of the ConfigMaps it loads. */
export function envNames(container: IContainer, maps: readonly IConfigMap[]): Set<string> {
  const names = new Set((container.env ?? []).map((e) => e.name));
  for (const from of container.envFrom ?? []) {
    const map = maps.find((m) => nameOf(m) === from.configMapRef?.name);
    for (const key of Object.keys(map?.data ?? {})) names.add((from.prefix ?? '') + key);
  }
  return names;
}

/** Every ConfigMap/Secret reference resolves, and `$(VAR)` in command/args names a defined variable. */
export function referenceViolations(owner: string, pod: IPodSpec | undefined, maps: readonly IConfigMap[], secretList: readonly ISecret[]): string[] {
  const out: string[] = [];
  const secretKeys = (name: string | undefined) => {
    const secret = secretList.find((s) => nameOf(s) === name);
    return secret === undefined ? undefined : new Set([...Object.keys(secret.stringData ?? {}), ...Object.keys(secret.data ?? {})]);
  };
  for (const c of containersOf(pod)) {
    const at = `${owner}/${c.name}`;
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef !== undefined && !maps.some((m) => nameOf(m) === from.configMapRef?.name)) out.push(`${at}: envFrom ConfigMap ${String(from.configMapRef.name)} does not exist`);
      if (from.secretRef !== undefined && secretKeys(from.secretRef.name) === undefined) out.push(`${at}: envFrom Secret ${String(from.secretRef.name)} does not exist`);
    }
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      if (cm !== undefined && maps.find((m) => nameOf(m) === cm.name)?.data?.[cm.key] === undefined) out.push(`${at}: ${e.name} refers to a missing ConfigMap key ${String(cm.name)}/${cm.key}`);
      const sk = e.valueFrom?.secretKeyRef;
      if (sk !== undefined && !(secretKeys(sk.name)?.has(sk.key) ?? false)) out.push(`${at}: ${e.name} refers to a missing Secret key ${String(sk.name)}/${sk.key}`);
    }
    const defined = envNames(c, maps);
    for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
      for (const [, variable] of arg.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
        if (variable !== undefined && !defined.has(variable)) out.push(`${at}: $(${variable}) is not defined in its environment`);
      }
    }
  }
  return out;
}

/**
 * Each pipeline process runs in exactly one Deployment as `node dist/src/cli/main.js run <topology>`
 * with the environment its main needs.
 */
export function processViolations(manifests: readonly Manifest[]): string[] {
  const out: string[] = [];
  const maps = configMaps(manifests);
  const seen = new Map<string, number>();
  for (const deployment of deployments(manifests)) {
    const container = deployment.spec?.template.spec?.containers[0];
    const at = nameOf(deployment);
    const [verb, topology] = container?.args ?? [];
    if (JSON.stringify(container?.command) !== JSON.stringify(CLI)) out.push(`${at}: command is not ${CLI.join(' ')}`);
    if (verb !== 'run' || topology === undefined || !topologyExists(topology)) {
      out.push(`${at}: args ${JSON.stringify(container?.args)} do not run a topology of topologies/`);
      continue;
    }
    seen.set(topology, (seen.get(topology) ?? 0) + 1);
    const process = processOf(topology);
    if (process === undefined) {
      out.push(`${at}: ${topology} is not a known pipeline process`);
      continue;
    }
    const env = container === undefined ? new Set<string>() : envNames(container, maps);
    for (const name of process.requiredEnv) if (!env.has(name)) out.push(`${at}: ${name} is not set`);
  }
  for (const { topology } of PROCESSES) if (seen.get(topology) !== 1) out.push(`${topology}: ${seen.get(topology) ?? 0} Deployments, not 1`);
  return out;
}
