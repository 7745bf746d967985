/** `chaos export kubernetes`: flags checked, the scenario loaded and planned, the manifests written. */
import { writeFileSync } from 'node:fs';
import { InputError } from '../core/errors.ts';
import { randomSeed } from '../load/prng.ts';
import { checkSeed, checkTimeScale, loadOptions } from '../cli/options.ts';
import { planFor } from '../scale/setup.ts';
import { kubernetesManifests, kubernetesYaml } from './export.ts';

export interface KubernetesArgs {
  scenario: string;
  runners?: number | undefined;
  image?: string | undefined;
  namespace?: string | undefined;
  out?: string | undefined;
  seed?: number | undefined;
  timeScale: number;
  force: boolean;
  env?: string | undefined;
  slo?: string | undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export async function exportKubernetes(args: KubernetesArgs): Promise<void> {
  if (args.runners === undefined) throw new InputError('chaos export kubernetes needs --runners N');
  if (!Number.isInteger(args.runners) || args.runners < 1)
    throw new InputError(`--runners must be a whole number of at least 1, got ${String(args.runners)}`);
  if (!args.image)
    throw new InputError(
      'chaos export kubernetes needs --image IMAGE: the chaoskit image the pods run (see the Dockerfile)',
    );
  if (args.namespace !== undefined && !DNS_LABEL.test(args.namespace))
    throw new InputError(
      `--namespace must be a DNS label (lower-case letters, digits, dashes), got ${JSON.stringify(args.namespace)}`,
    );
  const timeScale = checkTimeScale(args.timeScale);
  const { loadScenario } = await import('../input/load.ts');
  const s = loadScenario(args.scenario, loadOptions(args));
  const seed = checkSeed(args.seed) ?? s.spec.seed ?? randomSeed();
  const plan = planFor(s, { seed, timeScale, force: args.force, count: args.runners }, '--runners');
  const o = { runners: args.runners, image: args.image, namespace: args.namespace, seed, timeScale };
  const text = kubernetesYaml(s, kubernetesManifests(s, plan, o), o);
  if (args.out) {
    writeFileSync(args.out, text);
    process.stderr.write(`wrote ${args.out}\n`);
  } else process.stdout.write(text);
}
