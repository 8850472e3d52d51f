/**
 * DynamoDB faults injected into the handlers' real client (DynamoDB Local behind it): an error
 * thrown before a call reaches DynamoDB ("before": nothing applied) or after it was applied
 * ("after": the response is lost). Injected above the SDK's own retries, so the handlers see
 * the error exactly as they would once the SDK gave up. Deterministic: the plan decides by
 * command and call number.
 */
import type { MiddlewareStack } from '@smithy/types';
import { ddb } from '../../../handlers/shared/aws/dynamodb';

export interface FaultCall {
  /** The low-level command's name, e.g. `PutItemCommand`, `BatchWriteItemCommand`, `TransactWriteItemsCommand`. */
  command: string;
  /** 1-based number of this call among the calls of the same command since the injection. */
  n: number;
  input: Record<string, unknown>;
}

export type FaultPlan = (call: FaultCall) => { when: 'before' | 'after'; error: Error } | undefined;

export function awsError(name: string, message = name, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

/** Install `plan` on the handlers' DynamoDB client; returns the function that removes it and the faults thrown. */
export function injectDynamoFaults(plan: FaultPlan): { remove: () => void; thrown: FaultCall[] } {
  const counts = new Map<string, number>();
  const thrown: FaultCall[] = [];
  const name = `test-faults-${Math.random().toString(36).slice(2)}`;
  const stack = ddb().middlewareStack as unknown as MiddlewareStack<object, object>;
  stack.add(
    (next, context) => async (args) => {
      const command = String((context as { commandName?: string }).commandName ?? 'unknown');
      const n = (counts.get(command) ?? 0) + 1;
      counts.set(command, n);
      const call = { command, n, input: (args as { input: Record<string, unknown> }).input };
      const fault = plan(call);
      if (fault?.when === 'before') {
        thrown.push(call);
        throw fault.error;
      }
      const result = await next(args);
      if (fault?.when === 'after') {
        thrown.push(call);
        throw fault.error;
      }
      return result;
    },
    { step: 'initialize', name, priority: 'high' },
  );
  return { remove: () => stack.remove(name), thrown };
}
