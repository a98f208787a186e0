// What the page learns of a method: its spec without the code, which cannot cross postMessage.
import type { AnyMethodSpec } from '../core/methods';
import type { MethodInfo } from './protocol';

export function methodInfo({
  id,
  title,
  paper,
  summary,
  needs,
  defaultStudent,
  defaultSteps,
  params,
  presets,
  resume,
}: AnyMethodSpec): MethodInfo {
  return {
    id,
    title,
    paper,
    summary,
    needs,
    defaultStudent,
    defaultSteps,
    params,
    presets,
    resume,
  };
}
