/** Small but complete settings for the browser tests: every stage runs, each in seconds. */
export function e2eSettings(overrides: Record<string, string> = {}): string {
  return new URLSearchParams({
    'data.imageSize': '32',
    'nmf.rank': '4', 'nmf.maxIter': '30', 'nmf.projectIter': '30',
    'select.minSelected': '2',
    'classifier.epochs': '150', 'classifier.patience': '150', 'classifier.filters': '4,4', 'classifier.dense': '8',
    'imageCnn.enabled': 'false',
    'diffusion.epochs': '10', 'diffusion.hidden': '16', 'diffusion.eot': '2', 'diffusion.reverseSteps': '1',
    'attack.limit': '6', 'attack.iterations': '4', 'attack.queries': '10', 'attack.eot': '1',
    'attack.adaptive.steps': '3', 'attack.adaptive.eot': '1',
    ...overrides,
  }).toString();
}
