import { InvalidInputError } from '../runtime/errors';
import {
  describeChange,
  liveParamsError,
  scheduleError,
  type ParamChange,
  type ParamSchema,
  type ParamSettings,
} from './params';
import type { RunEvent } from './types';

/**
 * The one way a run's live parameters change: a method calls `at(step)` before each
 * optimisation step, and the changes due then are written into the very params object the
 * method reads. Two sources feed it: a schedule (a recipe's, replayed at its steps) and changes
 * asked for while the run goes on (the page's Apply), which take the step of the next boundary.
 * Each change is announced as a `params` event and kept in `applied`, the run's own schedule,
 * so replaying `applied` reproduces the run.
 */
export class ParamSchedule {
  readonly applied: ParamChange[] = [];
  private readonly due: ParamChange[];

  constructor(
    private readonly schema: ParamSchema,
    private readonly methodId: string,
    private readonly values: Record<string, unknown>,
    schedule: readonly ParamChange[],
    private readonly asked: () => ParamSettings | undefined,
    private readonly emit: (e: RunEvent) => void,
    /** Steps already trained (a run resumed from its checkpoint): changes up to here hold. */
    from = 0,
  ) {
    const err = scheduleError(schema, schedule, methodId);
    if (err) {
      throw new InvalidInputError(
        `Bad parameter schedule for '${methodId}': ${err}`,
        'A schedule lists { step, params } with increasing steps and live parameters only; `clab help <method>` marks them.',
      );
    }
    this.due = schedule.map((c) => ({ step: c.step, params: { ...c.params } }));
    // Made before the checkpoint, and marked then: in force from the start, announced no more.
    while (this.due.length > 0 && this.due[0].step <= from) {
      const change = this.due.shift()!;
      Object.assign(this.values, change.params);
      this.applied.push(change);
    }
  }

  /** The boundary before optimisation step `step` (the run's step count, as charts show it). */
  at(step: number): void {
    while (this.due.length > 0 && this.due[0].step <= step)
      this.apply(step, this.due.shift()!.params);
    const asked = this.asked();
    if (asked) this.apply(step, asked);
  }

  private apply(step: number, params: ParamSettings): void {
    const err = liveParamsError(this.schema, params, this.methodId);
    if (err) {
      throw new InvalidInputError(
        `Cannot change '${this.methodId}' at step ${step}: ${err}`,
        'Only live parameters change mid-run, within their ranges.',
      );
    }
    const previous = Object.fromEntries(
      Object.keys(params).map((k) => [k, this.values[k]]),
    ) as ParamSettings;
    Object.assign(this.values, params);
    const last = this.applied[this.applied.length - 1];
    // Two changes before one step are one change of that step.
    if (last?.step === step) Object.assign(last.params, params);
    else this.applied.push({ step, params: { ...params } });
    this.emit({
      kind: 'params',
      step,
      params: { ...params },
      previous,
      label: describeChange(this.schema, previous, params),
    });
  }
}
