/**
 * Load-time checks for the gRPC engine, request templates, flows, data feeders and steady-state
 * probes; called by the scenario loader's cross-check so every problem is located in the scenario
 * before anything runs.
 */
import { dirname } from 'node:path';
import { isFlow, type EnvironmentFile, type ScenarioFile } from '../scenario/schema.ts';
import type { Problem } from '../core/yaml.ts';
import { compileGrpcCalls } from './grpc-calls.ts';
import { hasTags } from './templates.ts';
import { compileWorkload } from './workload.ts';

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
  problems.push(...workloadProblems(spec));
  if (spec.engine === 'http' || spec.engine === 'k6') problems.push(...compileWorkload(load, dir).problems);
  if (spec.steadyState?.require && Object.keys(env.probes).length === 0) {
    problems.push({
      path: ['steadyState'],
      message: 'steadyState.require needs probes: the environment has no probes: section',
    });
  }
  return problems;
}

/** Flows, data and the closed model need an engine that runs them. */
function workloadProblems(spec: ScenarioFile): Problem[] {
  const out: Problem[] = [];
  const load = spec.load;
  const flow = load.requests.findIndex(isFlow);
  const runsFlows = spec.engine === 'http' || spec.engine === 'k6';
  if (flow >= 0 && !runsFlows)
    out.push({
      path: ['load', 'requests', flow, 'steps'],
      message: `flows run on engine http (or k6); engine ${spec.engine} sends ${spec.engine === 'grpc' ? 'the calls of load.grpc' : 'single requests'} only`,
    });
  if (load.model === 'closed' && !runsFlows)
    out.push({
      path: ['load', 'model'],
      message: `model closed needs engine http (or k6); engine ${spec.engine} cannot run virtual users`,
    });
  if (load.data && spec.engine !== 'http' && spec.engine !== 'k6')
    out.push({
      path: ['load', 'data'],
      message: `data feeders need engine http; engine ${spec.engine} does not read load.data`,
    });
  if (spec.engine === 'autocannon') {
    // autocannon sends each request exactly as written: anything rendered or checked would be lost.
    load.requests.forEach((r, i) => {
      if (isFlow(r)) return;
      const field =
        r.bodyFile !== undefined ? 'bodyFile' : r.multipart ? 'multipart' : r.expect ? 'expect' : null;
      if (field)
        out.push({
          path: ['load', 'requests', i, field],
          message: `engine autocannon sends requests as written: ${field} needs engine http`,
        });
      else if ([r.path, r.body ?? '', ...Object.values(r.headers)].some(hasTags))
        out.push({
          path: ['load', 'requests', i],
          message: 'engine autocannon sends requests as written: templates ({{…}}) need engine http',
        });
    });
  }
  return out;
}

/** The target kind an engine loads. */
export function engineTargetKind(engine: ScenarioFile['engine']): 'http' | 'grpc' {
  return engine === 'grpc' ? 'grpc' : 'http';
}
