#!/usr/bin/env node
/** `npm run lab -- <command>`: the lab's engine headless. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { initBackend } from '../core/backend';
import { ConfigError } from '../core/config';
import { Pipeline } from '../core/pipeline/run';
import { buildReport, reportToJson, tracesToJson } from '../core/pipeline/report';
import { nodeWasmPaths } from './wasmPaths';
import { loadDataset } from './datasets';
import { RUN_USAGE, parseRunArgs } from './args';
import { attackSummary, metricTable, progressPrinter, timingTable } from './output';
import { dumpArrays, saveModels } from './dump';
import { attackCommand } from './attack';
import { cliBesideRunner } from './beside';

const USAGE = `usage: npm run lab -- <command> [options]
commands:
  run       the whole pipeline on a data set; writes DIR/report.json (see: run --help)
  attack    AutoAttack on a TF.js Layers model and .npy inputs; prints JSON (see: attack --help)
`;

async function runCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(RUN_USAGE);
    return;
  }
  const args = parseRunArgs(argv);
  const { config } = args;
  // Node has no WebGPU or WebGL here: 'auto' resolves to WASM.
  const backend = await initBackend(config.backend, { wasmPaths: nodeWasmPaths() });
  process.stderr.write(`backend: ${backend.name} (${backend.reason})\n`);
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\ncancelling…\n');
    controller.abort();
  });
  const beside = cliBesideRunner(backend.name, args.singleThread);
  const pipeline = new Pipeline(loadDataset, backend, { beside });
  let result;
  const started = performance.now();
  try {
    result = await pipeline.run(config, { signal: controller.signal, onProgress: progressPrinter(process.stderr, args.quiet) });
  } finally {
    beside?.dispose();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  if (!args.quiet) process.stderr.write('\n');
  const report = buildReport(result);
  const out = resolve(args.out);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'report.json'), reportToJson(report));
  await saveModels(result, join(out, 'models'));
  if (result.robust) await writeFile(join(out, 'traces.json'), tracesToJson(result.robust));
  if (args.dump) await dumpArrays(result, join(out, 'arrays'));

  const d = report.dataset;
  console.log(`dataset ${d.name}: ${d.classNames.length} classes; train ${result.dataset.train.count}, val ${result.dataset.val.count}, test ${result.dataset.test.count}` +
    (d.skipped.length ? `; ${d.skipped.length} files skipped (listed in report.json)` : ''));
  console.log(`NMF rank ${config.nmf.rank} (${config.nmf.loss}), ${report.nmf.iterations} iterations; selected components: ${report.selection.selected.join(', ')}`);
  console.log(`defended: purification at t=${config.diffusion.timestep} of T=${config.diffusion.steps}, EOT K=${config.diffusion.eot}\n`);
  console.log(metricTable(report));
  const attacks = attackSummary(report);
  if (attacks) console.log(`\n${attacks}`);
  console.log(`\n${timingTable(report.timings, [], report.beside, wallSeconds)}`);
  console.log(`\nreport: ${join(out, 'report.json')}${args.dump ? `\narrays: ${join(out, 'arrays')}` : ''}`);
  pipeline.dispose();
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'run') await runCommand(rest);
    else if (command === 'attack') {
      const backend = await initBackend('auto', { wasmPaths: nodeWasmPaths() });
      if (!rest.includes('--quiet')) process.stderr.write(`backend: ${backend.name}\n`);
      await attackCommand(rest);
    }
    else {
      process.stderr.write(command && command !== '--help' ? `unknown command '${command}'\n${USAGE}` : USAGE);
      return command && command !== '--help' ? 2 : 0;
    }
    return 0;
  } catch (err) {
    const e = err as Error;
    if (e.name === 'AbortError') process.stderr.write('run cancelled\n');
    else if (err instanceof ConfigError || e.name === 'DatasetError' || e.name === 'AttackArgsError' || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`error: ${e.message}\n`);
    } else process.stderr.write(`error: ${e.stack ?? e.message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
