/**
 * Fractional ("average") ranks, 1-based and ascending: tied values share the mean of the
 * positions they occupy, as in the Mann–Whitney U statistic and scipy.stats.rankdata.
 * NaN values must be mapped to ±Infinity by the caller; the comparator assumes a total order.
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((i, j) => values[i] - values[j] || i - j);
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    // Positions start..end-1 (0-based) hold one tied value: each gets rank mean(start+1 … end).
    const shared = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = shared;
    start = end;
  }
  return ranks;
}
