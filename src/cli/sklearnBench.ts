/** scikit-learn's KL solver on a matrix of the same shape, where /usr/bin/python3 has it. */
import { spawnSync } from 'node:child_process';

const SCRIPT = `
import sys, time
import numpy as np
from sklearn.decomposition import NMF
rows, cols, rank, iters = map(int, sys.argv[1:5])
V = np.random.default_rng(7).random((cols, rows), dtype=np.float32)
m = NMF(n_components=rank, beta_loss='kullback-leibler', solver='mu', init='random', max_iter=iters, tol=0, random_state=1)
t = time.perf_counter(); m.fit(V); dt = time.perf_counter() - t
print(dt / m.n_iter_)
`;

export function sklearnNmfSecondsPerIteration(rows: number, cols: number, rank: number, iterations: number): number | null {
  const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', '-c', SCRIPT, String(rows), String(cols), String(rank), String(iterations)], {
    encoding: 'utf8', timeout: 600_000,
  });
  if (r.status !== 0) return null;
  const v = Number(r.stdout.trim().split('\n').pop());
  return Number.isFinite(v) ? v : null;
}
