// A sync target: the command machine's `sync_search` state invokes it once per applied
// command version, with the same payload as the built-in steps. Returning marks the target
// FINISHED for that version (the value is not kept); throwing marks it FAILED.
import type { StepEvent, SyncItem } from 'cqrs-workflows/client';

export async function handler(event: StepEvent<SyncItem>): Promise<void> {
  const { pk, sk } = event.input;
  // Read the version from the `commands` table (pk, sk) and index it. Idempotent: a
  // throttled call is retried.
  console.log(JSON.stringify({ message: 'indexing', pk, sk }));
  return Promise.resolve();
}
