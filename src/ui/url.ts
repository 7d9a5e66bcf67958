/**
 * The lab's whole config in the page URL, so a link reproduces a view: every setting that differs
 * from its data set's defaults becomes one query parameter named by its path in LabConfig
 * (`?nmf.rank=20&diffusion.timestep=30&attack.attacks=apgd-ce,square`). Reading is forgiving: an
 * unknown key or an out-of-range value is dropped with a warning, and the rest still applies.
 */
import { ConfigError, defaultConfig, digitsDefaults, mergeConfig, validateConfig, type LabConfig } from '../core/config';

type Leaf = number | string | boolean | (number | string)[];

/** The defaults a data set starts from (digits: the follow-up paper's). */
export function baseConfig(dataset: string): LabConfig {
  const base = dataset === 'digits' ? mergeConfig(defaultConfig(), digitsDefaults()) : defaultConfig();
  return mergeConfig(base, { data: { dataset } });
}

function leaves(value: unknown, prefix: string, out: Map<string, Leaf>): Map<string, Leaf> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, value as Leaf);
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: Leaf): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
}

function encode(v: Leaf): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** A query value read with the type of the default it replaces; null when it cannot be. */
function decode(raw: string, like: Leaf): Leaf | null {
  const number = (s: string) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : null);
  if (Array.isArray(like)) {
    const parts = raw === '' ? [] : raw.split(',');
    if (like.length > 0 && typeof like[0] === 'number') {
      const nums = parts.map(number);
      return nums.some((n) => n === null) ? null : (nums as number[]);
    }
    return parts;
  }
  if (typeof like === 'number') return number(raw);
  if (typeof like === 'boolean') return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : null;
  // A string setting that may also be a number (select.top: 'auto' or a count).
  return like === 'auto' && number(raw) !== null ? number(raw) : raw;
}

export function configToQuery(config: LabConfig): string {
  const base = leaves(baseConfig(config.data.dataset), '', new Map());
  const params = new URLSearchParams();
  if (config.data.dataset !== 'mri-demo') params.set('data.dataset', config.data.dataset);
  for (const [path, value] of leaves(config, '', new Map())) {
    if (path === 'data.dataset') continue;
    if (encode(value) !== encode(base.get(path) as Leaf)) params.set(path, encode(value));
  }
  return params.toString();
}

export function configFromQuery(search: string): { config: LabConfig; warnings: string[] } {
  const params = new URLSearchParams(search);
  const warnings: string[] = [];
  const base = baseConfig(params.get('data.dataset') ?? 'mri-demo');
  const known = leaves(base, '', new Map());
  const wanted: [string, string, Leaf][] = [];
  for (const [path, raw] of params) {
    if (path === 'data.dataset') continue;
    const like = known.get(path);
    if (like === undefined) {
      warnings.push(`unknown setting '${path}' in the link was ignored`);
      continue;
    }
    const value = decode(raw, like);
    if (value === null) warnings.push(`${path} = '${raw}' is not a valid ${Array.isArray(like) ? 'list' : typeof like}; kept ${encode(like)}`);
    else wanted.push([path, raw, value]);
  }
  const apply = (entries: [string, string, Leaf][]) => {
    const c = structuredClone(base);
    for (const [path, , value] of entries) setPath(c as unknown as Record<string, unknown>, path, value);
    return c;
  };
  const problems = (c: LabConfig): string | null => {
    try {
      validateConfig(c);
      return null;
    } catch (err) {
      return err instanceof ConfigError ? err.problems.join('; ') : String(err);
    }
  };
  // Settings depend on each other (select.top ≤ nmf.rank): try them together first, and only
  // when that fails keep them one by one.
  let config = apply(wanted);
  if (problems(config) !== null) {
    const kept: [string, string, Leaf][] = [];
    for (const entry of wanted) {
      const why = problems(apply([...kept, entry]));
      if (why === null) kept.push(entry);
      else warnings.push(`${entry[0]} = '${entry[1]}' was refused (${why}); kept ${encode(known.get(entry[0]) as Leaf)}`);
    }
    config = apply(kept);
  }
  return { config, warnings };
}
