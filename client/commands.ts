import { publishCommandWith, type PublishCommandInput, type PublishedCommand } from '../core/commands';
import { documentClient, need, type CqrsClientConfig } from './config';

export {
  ConditionRejectedError,
  latestVersion,
  publishCommandWith,
  VersionExistsError,
  type PublishCommandInput,
  type PublishDeps,
  type PublishedCommand,
  type PublishOptions,
} from '../core/commands';

/** publishCommand using the client config. */
export async function publishCommand(config: CqrsClientConfig, input: PublishCommandInput): Promise<PublishedCommand> {
  return publishCommandWith(
    {
      dynamodb: documentClient(config),
      commandsTable: need(config.tables.commands, 'tables.commands'),
      dataTable: config.tables.data,
      s3: config.clients.s3,
      payloadBucket: config.importBucket,
      maxInlineBytes: config.maxInlineBytes,
    },
    input,
  );
}
