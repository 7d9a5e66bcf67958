import * as tf from '@tensorflow/tfjs';

/**
 * Relative errors of the analytic gradients of L = Σ logits ⊙ r (r fixed) against central
 * differences along one random unit direction: w.r.t. the input batch, and w.r.t. all weights at
 * once. Unit directions and a small step keep the difference from crossing ReLU kinks.
 * A backend kernel with a wrong backward pass (e.g. a broken conv or pooling gradient) shows up as
 * a large relative error; float32 finite differences agree to about 1e-3 for these small models.
 */
export function gradientErrors(model: tf.LayersModel, inputDim: number, batch = 4, h = 1e-3): { input: number; weights: number } {
  return tf.tidy(() => {
    const x = tf.randomUniform([batch, inputDim], 0, 1, 'float32', 11);
    const r = tf.randomNormal([batch, model.outputs[0].shape[1] as number], 0, 1, 'float32', 12);
    const loss = (input: tf.Tensor) => tf.sum(tf.mul(model.apply(input) as tf.Tensor, r));
    const unit = (t: tf.Tensor) => tf.div(t, tf.norm(t));
    const dx = unit(tf.randomNormal(x.shape, 0, 1, 'float32', 13));
    const analyticX = tf.sum(tf.mul(tf.grad(loss)(x), dx)).dataSync()[0];
    const numericX = (loss(tf.add(x, tf.mul(dx, h))).dataSync()[0] - loss(tf.sub(x, tf.mul(dx, h))).dataSync()[0]) / (2 * h);

    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const original = vars.map((v) => tf.clone(v));
    const raw = vars.map((v, i) => tf.randomNormal(v.shape, 0, 1, 'float32', 20 + i));
    const total = Math.sqrt(raw.reduce((acc, d) => acc + tf.sum(tf.square(d)).dataSync()[0], 0));
    const directions = raw.map((d) => tf.div(d, total));
    const { grads } = tf.variableGrads(() => loss(x) as tf.Scalar, vars);
    const analyticW = vars.reduce((acc, v, i) => acc + tf.sum(tf.mul(grads[v.name], directions[i])).dataSync()[0], 0);
    const shifted = (sign: number) => {
      vars.forEach((v, i) => v.assign(tf.add(original[i], tf.mul(directions[i], sign * h))));
      return loss(x).dataSync()[0];
    };
    const numericW = (shifted(1) - shifted(-1)) / (2 * h);
    vars.forEach((v, i) => v.assign(original[i]));
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-3);
    return { input: rel(analyticX, numericX), weights: rel(analyticW, numericW) };
  });
}
