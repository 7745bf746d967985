/**
 * Load-time checks for the gRPC engine, request templates and steady-state probes; called by the
 * scenario loader's cross-check so every problem is located in the scenario before anything runs.
 */
import { dirname } from 'node:path';
import type { EnvironmentFile, ScenarioFile } from '../scenario/schema.ts';
import type { Problem } from '../scenario/yaml.ts';
import { compileGrpcCalls } from './grpc-calls.ts';
import { compileRequestBodies } from './http-bodies.ts';

export function streamingProblems(spec: ScenarioFile, env: EnvironmentFile, scenarioFile: string): Problem[] {
  const problems: Problem[] = [];
  const load = spec.load;
  const dir = dirname(scenarioFile);
  if (spec.engine === 'grpc') {
    if (load.pattern.length === 0) {
      problems.push({
        path: ['load', 'pattern'],
        message: 'required field is missing: the grpc engine needs at least one phase',
      });
    }
    if (!load.grpc)
      problems.push({
        path: ['load'],
        message: 'engine grpc needs load.grpc: { proto, service, method, message }',
      });
    else problems.push(...compileGrpcCalls(load.grpc, dir).problems);
  } else if (load.grpc) {
    problems.push({ path: ['load', 'grpc'], message: 'load.grpc needs engine: grpc' });
  }
  if (spec.engine === 'http') problems.push(...compileRequestBodies(load.requests, dir).problems);
  if (spec.steadyState?.require && Object.keys(env.probes).length === 0) {
    problems.push({
      path: ['steadyState'],
      message: 'steadyState.require needs probes: the environment has no probes: section',
    });
  }
  return problems;
}

/** The target kind an engine loads. */
export function engineTargetKind(engine: ScenarioFile['engine']): 'http' | 'grpc' {
  return engine === 'grpc' ? 'grpc' : 'http';
}
