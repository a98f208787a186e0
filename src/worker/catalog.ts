// What the page learns of a method: its spec without the code, which cannot cross postMessage.
import type { AnyMethodSpec } from '../core/methods';
import type { MethodInfo } from './protocol';

export function methodInfo(spec: AnyMethodSpec): MethodInfo {
  // `run` is a spec's only function; everything else is plain data the page reads.
  const { run: _run, ...info } = spec;
  return info;
}
