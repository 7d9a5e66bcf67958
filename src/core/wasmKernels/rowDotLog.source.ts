/**
 * WAT source of the fused kernel out[i] = Σ_j a[i, j] · log b[i, j] over row-major float32
 * matrices in the memory of the tfjs WASM backend: the Σ V log R term of the KL divergence in one
 * pass, without materializing log R. Written as a template so that the vector log can be inlined
 * at both of its uses (V8 does not inline WASM calls; the call cost 20 % here).
 *
 * log x for a positive normal float32: x = 2^e · m with m in [√½, √2), f = m − 1,
 *   log x = e·ln2 + log1p(f),   log1p(f) ≈ f − f²/2 + f³·Q(f),
 * Q of degree 6, fitted for this lab by reweighted least squares on [√½ − 1, √2 − 1] for the
 * relative error of log1p (≤ 1.5e-7; over the whole normal range log x is within 1.1e-7), and
 * evaluated by Estrin's scheme, whose dependency chain is half of Horner's. ln2 is split in two
 * parts so that e·ln2 adds no rounding of its own.
 * Two vectors (eight elements) per step; a step holding 0, a negative, a subnormal, ±∞ or NaN goes
 * through the host's log instead, so special values come out as Math.log gives them. Each step's
 * eight products are summed in float32, the steps in float64.
 */
const Q = [0.33333855867385864, -0.2500174045562744, 0.19965435564517975, -0.16565844416618347, 0.14876733720302582, -0.14348410069942474, 0.0891631618142128];
const LN2_HIGH = 0.693359375;
const LN2_LOW = -2.1219444e-4;
const SQRT2 = 1.41421356;
const FLOAT_MIN_NORMAL = 1.17549435e-38;
const FLOAT_MAX = 3.40282347e38;

const splat = (x: number): string => `(v128.const f32x4 ${x} ${x} ${x} ${x})`;
const splatInt = (x: number): string => `(v128.const i32x4 ${x} ${x} ${x} ${x})`;
const fma = (a: string, b: string, c: string): string => `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;

/** Statements leaving log of the vector in local $x<k> in local $l<k>; uses locals $e<k> $m<k> $f<k> $z<k>. */
function vectorLog(k: number): string {
  const [x, e, m, big, f, z, l] = ['x', 'e', 'm', 'big', 'f', 'z', 'l'].map((name) => `$${name}${k}`);
  const get = (name: string) => `(local.get ${name})`;
  const q = (i: number, j: number) => fma(splat(Q[j]), get(f), splat(Q[i])); // Q[i] + Q[j]·f
  return `
    (local.set ${e} (i32x4.sub (i32x4.shr_u ${get(x)} (i32.const 23)) ${splatInt(127)}))
    (local.set ${m} (v128.or (v128.and ${get(x)} ${splatInt(0x007fffff)}) ${splatInt(0x3f800000)}))
    (local.set ${big} (f32x4.gt ${get(m)} ${splat(SQRT2)}))
    (local.set ${m} (v128.bitselect (f32x4.mul ${get(m)} ${splat(0.5)}) ${get(m)} ${get(big)}))
    ;; ${big} is −1 in the lanes that were halved: e − (−1) = e + 1.
    (local.set ${e} (i32x4.sub ${get(e)} ${get(big)}))
    (local.set ${f} (f32x4.sub ${get(m)} ${splat(1)}))
    (local.set ${z} (f32x4.mul ${get(f)} ${get(f)}))
    ;; Q(f) = (Q0 + Q1 f) + z (Q2 + Q3 f) + z² ((Q4 + Q5 f) + z Q6)
    (local.set ${l} ${fma(
      fma(fma(get(z), splat(Q[6]), q(4, 5)), get(z), q(2, 3)),
      get(z),
      q(0, 1),
    )})
    ;; log1p(f) = f + (f·z·Q − z/2)
    (local.set ${l} (f32x4.add ${get(f)} (f32x4.sub (f32x4.mul (f32x4.mul ${get(f)} ${get(z)}) ${get(l)}) (f32x4.mul ${get(z)} ${splat(0.5)}))))
    (local.set ${e} (f32x4.convert_i32x4_s ${get(e)}))
    (local.set ${l} (f32x4.add ${fma(get(e), splat(LN2_LOW), get(l))} (f32x4.mul ${get(e)} ${splat(LN2_HIGH)})))`;
}

const vectorLocals = [0, 1].map((k) => ['x', 'e', 'm', 'big', 'f', 'z', 'l'].map((n) => `(local $${n}${k} v128)`).join(' ')).join('\n    ');

export const rowDotLogWat = `(module
  (import "env" "memory" (memory 1))
  (import "env" "log" (func $hostLog (param f64) (result f64)))

  ;; Σ a[k]·log b[k] for k < count, through the host's log, in float64.
  (func $hostDot (param $a i32) (param $b i32) (param $count i32) (result f64)
    (local $sum f64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $count)))
        (local.set $sum (f64.add (local.get $sum)
          (f64.mul (f64.promote_f32 (f32.load (local.get $a))) (call $hostLog (f64.promote_f32 (f32.load (local.get $b)))))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 4)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $next)))
    (local.get $sum))

  (func (export "rowDotLog") (param $a i32) (param $b i32) (param $rows i32) (param $cols i32) (param $out i32)
    (local $row i32) (local $rowEnd i32) (local $stepEnd i32) (local $rest i32)
    (local $p v128) (local $acc v128) (local $sum f64)
    ${vectorLocals}
    (block $rowsDone
      (loop $eachRow
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $acc (v128.const f64x2 0 0))
        (local.set $sum (f64.const 0))
        (local.set $rowEnd (i32.add (local.get $a) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $stepEnd (i32.add (local.get $a) (i32.shl (i32.and (local.get $cols) (i32.const -8)) (i32.const 2))))
        (block $stepsDone
          (loop $eachStep
            (br_if $stepsDone (i32.ge_u (local.get $a) (local.get $stepEnd)))
            (local.set $x0 (v128.load align=4 (local.get $b)))
            (local.set $x1 (v128.load offset=16 align=4 (local.get $b)))
            ;; Positive normal and finite in all eight lanes (a NaN fails both comparisons).
            (if (i32x4.all_true (v128.and
                  (f32x4.ge (f32x4.min (local.get $x0) (local.get $x1)) ${splat(FLOAT_MIN_NORMAL)})
                  (f32x4.le (f32x4.max (local.get $x0) (local.get $x1)) ${splat(FLOAT_MAX)})))
              (then
                ${vectorLog(0)}
                ${vectorLog(1)}
                (local.set $p (f32x4.add
                  (f32x4.mul (v128.load align=4 (local.get $a)) (local.get $l0))
                  (f32x4.mul (v128.load offset=16 align=4 (local.get $a)) (local.get $l1))))
                (local.set $p (f32x4.add (local.get $p) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p) (local.get $p))))
                (local.set $acc (f64x2.add (local.get $acc) (f64x2.promote_low_f32x4 (local.get $p)))))
              (else
                (local.set $sum (f64.add (local.get $sum) (call $hostDot (local.get $a) (local.get $b) (i32.const 8))))))
            (local.set $a (i32.add (local.get $a) (i32.const 32)))
            (local.set $b (i32.add (local.get $b) (i32.const 32)))
            (br $eachStep)))
        (local.set $rest (i32.sub (local.get $rowEnd) (local.get $a)))
        (local.set $sum (f64.add (local.get $sum) (call $hostDot (local.get $a) (local.get $b) (i32.shr_u (local.get $rest) (i32.const 2)))))
        (local.set $a (local.get $rowEnd))
        (local.set $b (i32.add (local.get $b) (local.get $rest)))
        (f32.store (local.get $out) (f32.demote_f64 (f64.add (local.get $sum)
          (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $eachRow)))))
`;
