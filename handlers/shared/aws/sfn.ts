import { SFNClient } from '@aws-sdk/client-sfn';
import { perContainer } from './per-container';

// Pure: a bundle that never asks for this client leaves the SDK client out.
const client = /* @__PURE__ */ perContainer(() => new SFNClient({}));

/** The container's Step Functions client. */
export const sfn = client.get;
export const resetSfnClient = client.reset;
