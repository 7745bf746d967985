// chaoskit as a library: load a built-in scenario, look at its plan, run it ten times faster on
// the demo system, and print the verdict as markdown. Run: node examples/library.mjs
import { loadScenario, plan, runScenario } from 'chaoskit';

const scenario = loadScenario('spike-with-partition');
const timeline = plan(scenario, { seed: 1, timeScale: 0.1 });
console.log(
  `plan: ${timeline.phases.length} phases, ${timeline.faults.length} fault(s), ${timeline.durationMs / 1000}s`,
);

const run = runScenario(scenario, { seed: 1, timeScale: 0.1 });
run.on('second', (p) => process.stderr.write(`t=${p.second}s sent ${p.achievedRate}/s\n`));
const result = await run.result;

const v = result.verdict;
console.log(
  `status ${v.status}, score ${v.score} (${v.grade}), ${result.totals.sent} requests, faults: ${result.faults.map((f) => `${f.id} ${f.status}`).join(', ')}`,
);
process.exitCode = v.status === 'pass' ? 0 : 1;
