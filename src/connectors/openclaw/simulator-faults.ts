/**
 * Per-request fault decisions for the OpenClaw simulator. Every authenticated request draws the
 * same fixed number of values from one seeded RNG, whatever it ends up doing, so the same seed and
 * the same sequence of requests inject the same faults.
 */
import { hash32, requireProbability, seededRandom } from './rating-generator.ts';

/** Probability per request, 0..1, of each fault; each is drawn independently. */
export interface FaultProbabilities {
  /** Answer 500, 502 or 503 with a JSON error. */
  readonly serverError: number;
  /** Answer 429 with `Retry-After` (seconds). */
  readonly tooManyRequests: number;
  /** Wait `slowDelayMs` before answering (combines with the other faults). */
  readonly slow: number;
  /** 200 with a JSON body cut in half. */
  readonly malformedJson: number;
  /** 200 with an object (`{ "data": [...] }`) instead of an array. */
  readonly wrongShape: number;
  /** One rating of the page appears twice, next to itself. */
  readonly duplicate: number;
  /** The page starts with 1..3 ratings from before the cursor. */
  readonly overlap: number;
}

export type FaultName = keyof FaultProbabilities;
export const FAULT_NAMES: readonly FaultName[] = [
  'serverError',
  'tooManyRequests',
  'slow',
  'malformedJson',
  'wrongShape',
  'duplicate',
  'overlap',
];

export const NO_FAULTS: FaultProbabilities = {
  serverError: 0,
  tooManyRequests: 0,
  slow: 0,
  malformedJson: 0,
  wrongShape: 0,
  duplicate: 0,
  overlap: 0,
};

/** What one request does. Errors win over body faults; `slow` delays whatever is answered. */
export interface FaultPlan {
  readonly slow: boolean;
  /** 429 or 5xx instead of a page. */
  readonly errorStatus?: 429 | 500 | 502 | 503;
  readonly body?: 'malformedJson' | 'wrongShape';
  readonly duplicate: boolean;
  readonly overlap: boolean;
  /** Auxiliary draws in [0, 1) for where the duplicate goes and how large the overlap is. */
  readonly duplicateDraw: number;
  readonly overlapDraw: number;
}

const SERVER_ERROR_STATUSES = [500, 502, 503] as const;
const SALT_FAULTS = 3;

export function validateFaults(faults: FaultProbabilities): void {
  for (const name of FAULT_NAMES) requireProbability(`faults.${name}`, faults[name]);
}

export class FaultPlanner {
  private readonly random: () => number;
  private readonly forced: FaultName[] = [];

  constructor(
    seed: number,
    private probabilities: FaultProbabilities,
  ) {
    this.random = seededRandom(hash32(seed, SALT_FAULTS));
  }

  set(probabilities: FaultProbabilities): void {
    validateFaults(probabilities);
    this.probabilities = probabilities;
  }

  get current(): FaultProbabilities {
    return this.probabilities;
  }

  /** Queue faults for the next requests, one per request, before any drawn ones. */
  force(faults: readonly FaultName[]): void {
    this.forced.push(...faults);
  }

  next(): FaultPlan {
    const p = this.probabilities;
    const draws = Array.from({ length: FAULT_NAMES.length + 3 }, () => this.random());
    const hit = (name: FaultName): boolean => (draws[FAULT_NAMES.indexOf(name)] ?? 1) < p[name];
    const forced = this.forced.shift();
    const on = (name: FaultName): boolean => (forced === undefined ? hit(name) : forced === name);
    const statusDraw = draws[FAULT_NAMES.length] ?? 0;
    const errorStatus = on('tooManyRequests')
      ? 429
      : on('serverError')
        ? SERVER_ERROR_STATUSES[Math.floor(statusDraw * SERVER_ERROR_STATUSES.length)]
        : undefined;
    const body = on('malformedJson') ? 'malformedJson' : on('wrongShape') ? 'wrongShape' : undefined;
    return {
      slow: on('slow'),
      ...(errorStatus === undefined ? {} : { errorStatus }),
      ...(body === undefined ? {} : { body }),
      duplicate: on('duplicate'),
      overlap: on('overlap'),
      duplicateDraw: draws[FAULT_NAMES.length + 1] ?? 0,
      overlapDraw: draws[FAULT_NAMES.length + 2] ?? 0,
    };
  }
}
