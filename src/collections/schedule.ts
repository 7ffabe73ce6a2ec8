// How a schedule's steps become due (reminders and card retries alike). Steps are days relative to
// an invoice's due day, in the seller's calendar. Collections act from ACT_FROM_HOUR o'clock in
// the seller's zone (nobody gets a dunning email or a card charge at midnight), on the step's day
// or, when no run could act then (the service was down, the test clock jumped), on a later day
// while that step is still the latest one due and at most CATCH_UP_DAYS late. An older step that
// a later one overtook is never done: a buyer gets the current reminder, not the whole backlog.
import { DateTime } from 'luxon';

export const ACT_FROM_HOUR = 9;
export const CATCH_UP_DAYS = 3;

/** Whether collections may act at this instant in the seller's zone. */
export const actingHour = (now: Date, zone: string): boolean => DateTime.fromJSDate(now, { zone }).hour >= ACT_FROM_HOUR;

/**
 * The index of the step due on a day `daysFromDue` days after the due day (negative: before it),
 * or -1. `sortedSteps` ascending; `allowed` drops steps that may not be done at all.
 */
export function dueStepIndex(sortedSteps: readonly number[], daysFromDue: number, allowed: (step: number) => boolean = () => true): number {
  for (let i = sortedSteps.length - 1; i >= 0; i--) {
    const step = sortedSteps[i]!;
    if (step > daysFromDue) continue;
    // The latest step reached: due if not too late and allowed; an earlier one never is.
    return daysFromDue - step <= CATCH_UP_DAYS && allowed(step) ? i : -1;
  }
  return -1;
}
