import { SNSClient } from '@aws-sdk/client-sns';
import { perContainer } from './per-container';

// Pure: a bundle that never asks for this client leaves the SDK client out.
const client = /* @__PURE__ */ perContainer(() => new SNSClient({}));

/** The container's SNS client. */
export const sns = client.get;
export const resetSnsClient = client.reset;
