/**
 * `chaos export kubernetes SCENARIO --runners N --image IMAGE [--namespace NS]`: the manifests that
 * run the same coordinated run in a cluster. Kubernetes does placement, restarts and indexing;
 * chaoskit adds only "segment i of N", "start at t0" and "ship my seconds" (docs/scale-out.md).
 *
 *   ConfigMap  <name>-files        scenario, environment, SLO and the files the scenario refers to
 *   Secret     <name>-token        CHAOSKIT_TOKEN, shared by the coordinator and its runners
 *   Service    <name>-coordinator  where runners reach the coordinator (port 7070)
 *   Job        <name>-coordinator  `chaos run … --runners N --listen 0.0.0.0:7070 --out /results`,
 *                                  and a `results` container that keeps results.json for kubectl cp
 *   Job        <name>-runners      Indexed (completionMode: Indexed, parallelism N): `chaos runner`,
 *                                  its segment from JOB_COMPLETION_INDEX
 *
 * Pure: returns plain objects (tests validate them against the Kubernetes schemas) and the YAML.
 */
import { forEachFileRef } from '../scale/shipping.ts';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, normalize, relative, resolve, sep } from 'node:path';
import { stringify } from 'yaml';
import { InputError } from '../core/errors.ts';
import { assertSingleStream, type Scenario } from '../input/load.ts';
import type { RunPlan } from '../scenario/plan.ts';

export const COORDINATOR_PORT = 7070;
/** How long the results container keeps the finished coordinator pod for `kubectl cp`. */
export const KEEP_RESULTS_S = 900;

export interface KubernetesExport {
  runners: number;
  image: string;
  namespace?: string | undefined;
  /** Fixed for a replayable run; the export picks one when absent. */
  seed: number;
  timeScale: number;
  /** Tests: a fixed token instead of a random one. */
  token?: string;
}

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

/** A DNS-1123 label from the scenario's name, short enough for Job pod names. */
function baseName(s: Scenario): string {
  return `chaoskit-${s.spec.name}`.slice(0, 40).replace(/-+$/, '');
}

/** ConfigMap keys allow [-._a-zA-Z0-9]: a file's path inside the scenario's directory, flattened. */
function keyOf(rel: string): string {
  return rel
    .split(sep)
    .join('__')
    .replace(/[^-._a-zA-Z0-9]/g, '_');
}

/** Files the scenario refers to, relative to its directory (they are mounted at the same place). */
function referencedFiles(s: Scenario): string[] {
  const load = s.spec.load;
  const files: string[] = [];
  forEachFileRef(structuredClone(load), (ref) => (files.push(ref), ref));
  const refs = [
    ...files,
    load.grpc?.proto,
    load.grpc?.messageFile,
    ...(load.grpc?.calls ?? []).map((c) => c.messageFile),
  ].filter((x): x is string => typeof x === 'string');
  const dir = dirname(s.file);
  return refs.map((ref) => {
    const rel = normalize(isAbsolute(ref) ? relative(dir, ref) : ref);
    if (rel.startsWith('..') || isAbsolute(rel))
      throw new InputError(
        `${s.file}: ${ref} is outside the scenario's directory; copy it beside the scenario to export it to Kubernetes (the pods see only the ConfigMap)`,
      );
    return rel;
  });
}

export function kubernetesManifests(s: Scenario, plan: RunPlan, o: KubernetesExport): Manifest[] {
  assertSingleStream(s, 'the Kubernetes export (runners split one load)');
  if (s.environment.spec.demo)
    throw new InputError(
      `${s.spec.name} runs against the built-in demo system, which lives on the coordinator's loopback where runner pods cannot reach it: export with --env FILE naming the services in the cluster`,
    );
  if (s.spec.engine !== 'http' && s.spec.engine !== 'grpc')
    throw new InputError(
      `engine ${s.spec.engine} does not split into runners: only open-model engines (http, grpc) do`,
    );
  if (!Number.isInteger(o.runners) || o.runners < 1)
    throw new InputError(`--runners must be a whole number of at least 1, got ${String(o.runners)}`);
  if (!o.image.trim())
    throw new InputError('--image is required: the chaoskit image the pods run (see the Dockerfile)');
  const name = baseName(s);
  const ns = o.namespace ? { namespace: o.namespace } : {};
  const labels = (component: string) => ({
    'app.kubernetes.io/name': 'chaoskit',
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
  });
  const dir = dirname(s.file);
  const files: { key: string; path: string; text: string }[] = [
    { key: 'scenario.yaml', path: 'scenario.yaml', text: readFileSync(s.file, 'utf8') },
    { key: 'environment.yaml', path: 'environment.yaml', text: readFileSync(s.environment.file, 'utf8') },
    { key: 'slo.yaml', path: 'slo.yaml', text: readFileSync(s.slo.file, 'utf8') },
    ...referencedFiles(s).map((rel) => ({
      key: `file.${keyOf(rel)}`,
      path: rel.split(sep).join('/'),
      text: readFileSync(resolve(dir, rel), 'utf8'),
    })),
  ];
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text) + f.key.length, 0);
  if (bytes > 1_000_000)
    throw new InputError(
      `the scenario's files come to ${bytes} bytes, more than a ConfigMap holds (1 MiB): keep data files out of the scenario directory`,
    );
  const token = o.token ?? randomBytes(24).toString('base64url');
  const coordinatorUrl = `http://${name}-coordinator:${COORDINATOR_PORT}`;
  const security = {
    runAsNonRoot: true,
    runAsUser: 10001,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
  const tokenEnv = {
    name: 'CHAOSKIT_TOKEN',
    valueFrom: { secretKeyRef: { name: `${name}-token`, key: 'CHAOSKIT_TOKEN' } },
  };
  // tsx keeps its compile cache in /tmp; the fault ledger lives in the state directory.
  const scratch = [
    { name: 'tmp', emptyDir: {} },
    { name: 'state', emptyDir: {} },
  ];
  const scratchMounts = [
    { name: 'tmp', mountPath: '/tmp' },
    { name: 'state', mountPath: '/state' },
  ];
  // Long enough for every runner to join, the run, and the results to be fetched.
  const deadline = Math.ceil(plan.durationMs / 1000) + 600 + KEEP_RESULTS_S;
  const runArgs = [
    'run',
    '/chaoskit/scenario.yaml',
    '--env',
    '/chaoskit/environment.yaml',
    '--slo',
    '/chaoskit/slo.yaml',
    '--runners',
    String(o.runners),
    '--listen',
    `0.0.0.0:${COORDINATOR_PORT}`,
    '--join-timeout',
    '10m',
    '--seed',
    String(o.seed),
    ...(o.timeScale !== 1 ? ['--time-scale', String(o.timeScale)] : []),
    '--out',
    '/results',
  ];
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-files`, ...ns, labels: labels('files') },
      data: Object.fromEntries(files.map((f) => [f.key, f.text])),
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-token`, ...ns, labels: labels('token') },
      type: 'Opaque',
      stringData: { CHAOSKIT_TOKEN: token },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${name}-coordinator`, ...ns, labels: labels('coordinator') },
      spec: {
        selector: labels('coordinator'),
        ports: [
          { name: 'coordinator', port: COORDINATOR_PORT, targetPort: COORDINATOR_PORT, protocol: 'TCP' },
        ],
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: `${name}-coordinator`, ...ns, labels: labels('coordinator') },
      spec: {
        // A second coordinator would be a second run: never retried.
        backoffLimit: 0,
        activeDeadlineSeconds: deadline,
        template: {
          metadata: { labels: labels('coordinator') },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'coordinator',
                image: o.image,
                args: runArgs,
                env: [tokenEnv, { name: 'CHAOSKIT_STATE_DIR', value: '/state' }],
                ports: [{ name: 'coordinator', containerPort: COORDINATOR_PORT }],
                readinessProbe: { tcpSocket: { port: COORDINATOR_PORT }, periodSeconds: 2 },
                resources: {
                  requests: { cpu: '500m', memory: '256Mi' },
                  limits: { cpu: '1', memory: '1Gi' },
                },
                securityContext: security,
                volumeMounts: [
                  { name: 'files', mountPath: '/chaoskit', readOnly: true },
                  { name: 'results', mountPath: '/results' },
                  ...scratchMounts,
                ],
              },
              {
                // Keeps the finished pod (and results.json) for `kubectl cp` (docs/scale-out.md).
                name: 'results',
                image: o.image,
                command: [
                  '/bin/sh',
                  '-c',
                  `until [ -f /results/results.json ]; do sleep 2; done; echo "results.json is ready: kubectl cp ${o.namespace ? `${o.namespace}/` : ''}$HOSTNAME:/results/results.json ./results.json -c results"; sleep ${KEEP_RESULTS_S}`,
                ],
                resources: {
                  requests: { cpu: '10m', memory: '16Mi' },
                  limits: { cpu: '100m', memory: '64Mi' },
                },
                securityContext: security,
                volumeMounts: [{ name: 'results', mountPath: '/results', readOnly: true }],
              },
            ],
            volumes: [
              {
                name: 'files',
                configMap: { name: `${name}-files`, items: files.map((f) => ({ key: f.key, path: f.path })) },
              },
              { name: 'results', emptyDir: {} },
              ...scratch,
            ],
          },
        },
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: `${name}-runners`, ...ns, labels: labels('runner') },
      spec: {
        completionMode: 'Indexed',
        completions: o.runners,
        parallelism: o.runners,
        // A restarted runner would join late and be refused: no retries.
        backoffLimit: 0,
        activeDeadlineSeconds: deadline,
        template: {
          metadata: { labels: labels('runner') },
          spec: {
            restartPolicy: 'Never',
            // One runner per node where possible: generators should not share cores.
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: labels('runner') },
              },
            ],
            containers: [
              {
                name: 'runner',
                image: o.image,
                // The segment index comes from JOB_COMPLETION_INDEX, which the Job controller sets.
                args: ['runner', '--coordinator', coordinatorUrl, '--connect-timeout', '5m'],
                env: [tokenEnv, { name: 'CHAOSKIT_STATE_DIR', value: '/state' }],
                resources: {
                  // One generator process uses one core (docs/benchmarks.md).
                  requests: { cpu: '1', memory: '256Mi' },
                  limits: { cpu: '1', memory: '1Gi' },
                },
                securityContext: security,
                volumeMounts: scratchMounts,
              },
            ],
            volumes: scratch,
          },
        },
      },
    },
  ];
}

/** The manifests as one multi-document YAML stream, with a header that says what to do with them. */
export function kubernetesYaml(s: Scenario, manifests: Manifest[], o: KubernetesExport): string {
  const name = baseName(s);
  const ns = o.namespace ? ` -n ${o.namespace}` : '';
  const header = [
    `# chaoskit: ${s.spec.name} as a coordinator and ${o.runners} runners (chaos export kubernetes).`,
    `# kubectl apply${ns} -f THIS_FILE`,
    `# kubectl logs${ns} -f job/${name}-coordinator -c coordinator       # progress and the report`,
    `# kubectl cp${ns} POD:/results/results.json ./results.json -c results  # within ${KEEP_RESULTS_S / 60} min of the end`,
    `# kubectl delete${ns} -f THIS_FILE`,
    '# Validated against the Kubernetes object schemas; see docs/scale-out.md.',
  ].join('\n');
  return `${header}\n${manifests.map((m) => `---\n${stringify(m, { lineWidth: 0 })}`).join('')}`;
}
