import { LambdaClient } from '@aws-sdk/client-lambda';
import { perContainer } from './per-container';

// Pure: a bundle that never asks for this client leaves the SDK client out.
const client = /* @__PURE__ */ perContainer(() => new LambdaClient({}));

/** The container's Lambda client. */
export const lambda = client.get;
export const resetLambdaClient = client.reset;
