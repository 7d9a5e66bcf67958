/**
 * Thin Householder QR in float64 on the CPU, for the small side of a sketch (at most a few
 * thousand rows × a few dozen columns). Householder keeps the columns orthonormal to machine
 * precision even when the input is rank-deficient or badly conditioned, which a float32 Gram or
 * Cholesky factorization on the device cannot promise.
 */

/**
 * An orthonormal basis Q (rows × cols, row-major) whose leading columns span the columns of A
 * (rows × cols, row-major, rows ≥ cols). Where A is rank-deficient the extra columns complete
 * the basis with directions orthogonal to the rest.
 */
export function orthonormalColumns(A: ArrayLike<number>, rows: number, cols: number): Float64Array {
  if (cols > rows) throw new RangeError(`orthonormalColumns: ${cols} columns exceed ${rows} rows`);
  const R = Float64Array.from(A as ArrayLike<number>);
  const reflectors: Float64Array[] = [];
  for (let j = 0; j < cols; j++) {
    // v = x + sign(x₀)‖x‖e₁ over rows j…; H = I − 2vvᵀ/‖v‖² sends x to a multiple of e₁.
    const len = rows - j;
    const v = new Float64Array(len);
    let norm2 = 0;
    for (let i = 0; i < len; i++) {
      v[i] = R[(j + i) * cols + j];
      norm2 += v[i] * v[i];
    }
    const norm = Math.sqrt(norm2);
    v[0] += v[0] >= 0 ? norm : -norm;
    let vv = 0;
    for (let i = 0; i < len; i++) vv += v[i] * v[i];
    if (vv === 0) {
      reflectors.push(v); // a zero column: the identity stands in for its reflector
      continue;
    }
    const scale = 1 / Math.sqrt(vv);
    for (let i = 0; i < len; i++) v[i] *= scale;
    reflectors.push(v);
    for (let c = j; c < cols; c++) {
      let dot = 0;
      for (let i = 0; i < len; i++) dot += v[i] * R[(j + i) * cols + c];
      dot *= 2;
      for (let i = 0; i < len; i++) R[(j + i) * cols + c] -= dot * v[i];
    }
  }
  // Q = H₀H₁…H_{cols−1} applied to the first cols columns of the identity, last reflector first.
  const Q = new Float64Array(rows * cols);
  for (let c = 0; c < cols; c++) Q[c * cols + c] = 1;
  for (let j = cols - 1; j >= 0; j--) {
    const v = reflectors[j];
    const len = rows - j;
    for (let c = 0; c < cols; c++) {
      let dot = 0;
      for (let i = 0; i < len; i++) dot += v[i] * Q[(j + i) * cols + c];
      if (dot === 0) continue;
      dot *= 2;
      for (let i = 0; i < len; i++) Q[(j + i) * cols + c] -= dot * v[i];
    }
  }
  return Q;
}
