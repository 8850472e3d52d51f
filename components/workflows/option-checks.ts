/**
 * Option checks shared by the definition builders. Each throws an Error naming the
 * builder and the option, so a bad stack config fails at `pulumi preview` with a
 * message that says which setting to fix.
 */

export function checkInteger(builder: string, option: string, value: number, min: number, max?: number): void {
  const ok = Number.isInteger(value) && value >= min && (max === undefined || value <= max);
  if (!ok) {
    const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
    throw new Error(`${builder}: option "${option}" must be an integer ${range}, got ${String(value)}`);
  }
}

// arn:<partition>:lambda:<region>:<account>:function:<name>[:<version or alias>]
const LAMBDA_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z]{2}(-[a-z]+)+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/;

export function checkLambdaArn(builder: string, option: string, value: string): void {
  if (typeof value !== 'string' || !LAMBDA_ARN.test(value)) {
    throw new Error(
      `${builder}: option "${option}" must be a Lambda function ARN (arn:<partition>:lambda:<region>:<account>:function:<name>), got ${JSON.stringify(value)}`,
    );
  }
}

export function checkWaitLimits(
  builder: string,
  timeoutOption: string,
  timeout: number,
  heartbeatOption: string,
  heartbeat: number | undefined,
): void {
  checkInteger(builder, timeoutOption, timeout, 1);
  if (heartbeat === undefined) return;
  checkInteger(builder, heartbeatOption, heartbeat, 1);
  if (heartbeat >= timeout) {
    throw new Error(
      `${builder}: option "${heartbeatOption}" (${heartbeat}) must be less than "${timeoutOption}" (${timeout})`,
    );
  }
}
