/** The stacks the IAM suite judges: both of this project's, and a consumer's with extra Lambdas. */
import * as aws from '@pulumi/aws';
import { CqrsWorkflows } from '../../components';
import { CommandPath } from '../../core/status';
import type { SynthResource } from '../../scripts/synth/run-program';
import { STANDARD_PATH_CONFIG, synthProgram, synthStack } from '../support/synth';

export const CONSUMER_REGION = 'eu-central-1';
export const SYNC_TARGET_ARN = 'arn:aws:lambda:eu-central-1:123456789012:function:search-indexer';
export const EXECUTOR_ARN = 'arn:aws:lambda:eu-central-1:123456789012:function:invoice-executor';

/** A platform team's stack: registered sync targets and task executors, access logging on, handlers in a VPC. */
function consumerProgram(): CqrsWorkflows {
  const provider = new aws.Provider('eu-central', { region: CONSUMER_REGION });
  return new CqrsWorkflows(
    'orders',
    {
      prefix: 'acme-orders',
      command: { syncTargets: [{ name: 'search', functionArn: SYNC_TARGET_ARN, timeoutSeconds: 30 }] },
      task: { executors: { invoice: EXECUTOR_ARN } },
      import: { accessLogging: true },
      vpc: { subnetIds: ['subnet-0a1b2c3d', 'subnet-0e5f6a7b'], securityGroupIds: ['sg-0c1d2e3f'] },
    },
    { providers: { aws: provider } },
  );
}

export interface JudgedStack {
  label: string;
  stack: string;
  region: string;
  prefix: string;
  synth: () => Promise<{ resources: SynthResource[]; errors: Error[] }>;
  /** Its command path. Default: EXPRESS. */
  commandPath?: CommandPath;
}

export const JUDGED_STACKS: JudgedStack[] = [
  { label: 'dev', stack: 'dev', region: 'eu-west-1', prefix: 'cqrs-dev', synth: () => synthStack('dev') },
  { label: 'prod', stack: 'prod', region: 'eu-west-1', prefix: 'cqrs-prod', synth: () => synthStack('prod') },
  {
    label: 'dev on the STANDARD command path',
    stack: 'dev',
    region: 'eu-west-1',
    prefix: 'cqrs-dev',
    synth: () => synthStack('dev', { config: STANDARD_PATH_CONFIG }),
    commandPath: CommandPath.STANDARD,
  },
  {
    label: 'consumer (sync target, task executor, access logging, VPC)',
    stack: 'staging',
    region: CONSUMER_REGION,
    prefix: 'acme-orders',
    synth: () => synthProgram('staging', consumerProgram, { config: { 'aws:region': CONSUMER_REGION } }),
  },
];
