// The collections job (DESIGN section 10), enqueued hourly by the tick like the suspension check:
// saved cards are retried first (an invoice paid that way gets no reminder), then reminders go.
// Both act from 09:00 in each seller's zone on the days of its schedule, and both are idempotent
// (their logs are keyed by invoice and step), so a repeated or resumed run does nothing twice.
import { defineJob, noPayload } from '../queue/job';
import { runCardRetries } from './card-retries';
import { sendDueReminders } from './reminders';

export const COLLECTIONS_JOB = 'collections.run';

export const collectionsJob = defineJob({
  name: COLLECTIONS_JOB,
  payload: noPayload,
  handle: async (deps) => {
    const retries = await runCardRetries(deps);
    const reminders = await sendDueReminders(deps);
    return { retries, reminders };
  },
});
