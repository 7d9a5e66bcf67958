/**
 * `lab attack`: AutoAttack on any TF.js Layers model that outputs logits, on inputs and labels
 * from .npy files; prints one JSON object (DESIGN.md's contract) on stdout.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { layersAttackModel, type Box, type Norm } from '../core/attacks/model';
import { attackPlan, runEnsemble, type AttackVersion } from '../core/attacks/ensemble';
import { loadLayersModel } from './modelFiles';
import { readNpy } from './npy';

export const ATTACK_USAGE = `usage: npm run lab -- attack --model DIR/model.json --inputs X.npy --labels y.npy --eps 0.1
  [--norm Linf|L2] [--attacks apgd-ce,square | --version standard|rand] [--seed 0]
  [--box 0,1|none]  valid input range (default 0,1, as the reference)  [--quiet]
Prints {"cleanAccuracy", "robustAccuracy", "attacks": [{"name", "robustAccuracy", "seconds"}], "flags"}.`;

export class AttackArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttackArgsError';
  }
}

function need(v: string | undefined, flag: string): string {
  if (!v) throw new AttackArgsError(`--${flag} is required\n${ATTACK_USAGE}`);
  return v;
}

function parseBox(v: string | undefined): Box {
  if (v === undefined) return { lo: 0, hi: 1 };
  if (v === 'none') return null;
  const [lo, hi] = v.split(',').map(Number);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) throw new AttackArgsError(`--box ${v}: expected lo,hi with lo < hi, or none`);
  return { lo, hi };
}

/** Inputs as [n, d] float32 (any trailing shape is flattened) and labels as int32. */
async function loadArrays(inputsPath: string, labelsPath: string) {
  const inputs = await readNpy(inputsPath).catch((e: Error) => {
    throw new AttackArgsError(`${inputsPath}: cannot read as .npy (${e.message})`);
  });
  const labels = await readNpy(labelsPath).catch((e: Error) => {
    throw new AttackArgsError(`${labelsPath}: cannot read as .npy (${e.message})`);
  });
  const n = inputs.shape[0] ?? 0;
  if (inputs.shape.length < 2 || n === 0) throw new AttackArgsError(`${inputsPath}: expected an [n, …] array with n ≥ 1, got shape [${inputs.shape.join(', ')}]`);
  if (labels.shape.length !== 1 || labels.shape[0] !== n) {
    throw new AttackArgsError(`${labelsPath}: expected ${n} labels (shape [${n}]), got shape [${labels.shape.join(', ')}]`);
  }
  const d = inputs.shape.slice(1).reduce((a, b) => a * b, 1);
  const x = Float32Array.from(inputs.data as unknown as ArrayLike<number>);
  const y = Int32Array.from(labels.data as unknown as ArrayLike<number>);
  return { x, y, n, d, trailing: inputs.shape.slice(1) };
}

export async function attackCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: {
      model: { type: 'string' }, inputs: { type: 'string' }, labels: { type: 'string' }, eps: { type: 'string' },
      norm: { type: 'string' }, attacks: { type: 'string' }, version: { type: 'string' }, seed: { type: 'string' },
      box: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(ATTACK_USAGE);
    return;
  }
  const eps = Number(need(values.eps, 'eps'));
  if (!(eps > 0)) throw new AttackArgsError(`--eps ${values.eps}: must be a number > 0`);
  const norm = (values.norm ?? 'Linf') as Norm;
  if (norm !== 'Linf' && norm !== 'L2') throw new AttackArgsError(`--norm ${values.norm}: must be Linf or L2`);
  if (values.attacks && values.version) throw new AttackArgsError('give either --attacks or --version, not both');
  const version = (values.version ?? 'custom') as AttackVersion;
  if (!['custom', 'standard', 'rand'].includes(version)) throw new AttackArgsError(`--version ${values.version}: must be standard or rand (or give --attacks)`);
  const names = version === 'custom' ? (values.attacks ?? 'apgd-ce,square').split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const seed = Number(values.seed ?? 0);
  if (!Number.isInteger(seed) || seed < 0) throw new AttackArgsError(`--seed ${values.seed}: must be an integer ≥ 0`);
  const box = parseBox(values.box);

  const modelPath = resolve(need(values.model, 'model'));
  const model = await loadLayersModel(modelPath).catch((e: Error) => {
    throw new AttackArgsError(`${modelPath}: cannot load a TF.js Layers model (${e.message})`);
  });
  const { x, y, n, d, trailing } = await loadArrays(resolve(need(values.inputs, 'inputs')), resolve(need(values.labels, 'labels')));
  const inShape = model.inputs[0].shape.slice(1);
  const inSize = inShape.reduce<number>((a, b) => a * (b ?? 1), 1);
  if (inSize !== d) throw new AttackArgsError(`${values.inputs}: inputs of shape [${trailing.join(', ')}] do not fit the model's input [${inShape.join(', ')}]`);
  const reshaped = inShape.length > 1;
  const base = layersAttackModel(model, inShape.length === 3 || inShape.length === 2 ? [inShape[0] as number, inShape[1] as number] : undefined);
  const attacked = reshaped
    ? { ...base, logits: (xx: tf.Tensor2D, s: number) => tf.tidy(() => base.logits(tf.reshape(xx, [-1, ...(inShape as number[])]) as unknown as tf.Tensor2D, s)) }
    : base;
  let plan: ReturnType<typeof attackPlan>;
  try {
    plan = attackPlan(version, names);
  } catch (e) {
    throw new AttackArgsError((e as Error).message);
  }
  const { specs, notes } = plan;
  const xt = tf.tensor2d(x, [n, d]);
  try {
    const r = await runEnsemble(attacked, xt, y, {
      eps, norm, box, seed, specs,
      onProgress: values.quiet ? undefined : (a, done, total) => {
        if (done === total || done % 10 === 0) process.stderr.write(`\r${a}: ${done}/${total}\x1b[K`);
      },
    });
    if (!values.quiet) process.stderr.write('\n');
    r.adversarial.dispose();
    console.log(JSON.stringify({
      cleanAccuracy: r.cleanAccuracy,
      robustAccuracy: r.robustAccuracy,
      attacks: r.attacks.map((a) => ({ name: a.name, robustAccuracy: a.robustAccuracy, seconds: a.seconds, ...(a.skipped ? { skipped: a.skipped } : {}) })),
      flags: r.flags,
      eps, norm, version, seed, points: n, maxPerturbation: r.maxPerturbation, notes,
    }));
  } finally {
    xt.dispose();
    model.dispose();
  }
}
